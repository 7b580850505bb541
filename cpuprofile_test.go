package debugz

import (
	"context"
	"errors"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/grpcstats"
)

// TestCPUByMethodNamesTheHottest: a goroutine labelled as serving
// x.Y/Hot that burns CPU while the profile runs comes first; a second
// profile at the same time is refused.
func TestCPUByMethodNamesTheHottest(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		pprof.Do(ctx, pprof.Labels(grpcstats.LabelMethod, "x.Y/Hot"), func(ctx context.Context) {
			n := 0
			for ctx.Err() == nil {
				n++ // burn
			}
			_ = n
		})
	})
	defer func() { stop(); wg.Wait() }()

	var busy atomic.Bool
	errs := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // while the first runs
		_, err := cpuByMethod(context.Background(), &busy, time.Millisecond)
		errs <- err
	}()
	p, err := cpuByMethod(context.Background(), &busy, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Methods) == 0 || p.Methods[0].Method != "x.Y/Hot" || p.Total <= 0 || p.Duration < time.Second {
		t.Errorf("profile = %+v; want x.Y/Hot first, some CPU in all, a second long", p)
	}
	if err := <-errs; !errors.Is(err, view.ErrProfiling) {
		t.Errorf("a second profile meanwhile = %v; want ErrProfiling", err)
	}
}

func TestParseCPUProfileRejectsGarbage(t *testing.T) {
	if _, err := parseCPUProfile(strings.NewReader("not gzip"), "k"); err == nil {
		t.Error("parseCPUProfile of garbage succeeded; want an error")
	}
}
