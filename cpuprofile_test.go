package debugz

import (
	"context"
	"errors"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/view"
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
	type result struct {
		p   view.CPUProfile
		err error
	}
	first := make(chan result, 1)
	go func() {
		p, err := cpuByMethod(context.Background(), &busy, time.Second)
		first <- result{p, err}
	}()
	// The second starts once the first holds the profiler, and not after
	// it ended: the first cannot end before it has run a second.
	var r result
	for started := false; !started; {
		select {
		case r = <-first:
			t.Fatalf("the first profile ended (%+v) before a second could start beside it", r)
		default:
			started = busy.Load()
			runtime.Gosched()
		}
	}
	if _, err := cpuByMethod(context.Background(), &busy, time.Millisecond); !errors.Is(err, view.ErrProfiling) {
		t.Errorf("a second profile meanwhile = %v; want ErrProfiling", err)
	}
	r = <-first
	if r.err != nil {
		t.Fatal(r.err)
	}
	if p := r.p; len(p.Methods) == 0 || p.Methods[0].Method != "x.Y/Hot" || p.Total <= 0 || p.Duration < time.Second {
		t.Errorf("profile = %+v; want x.Y/Hot first, some CPU in all, a second long", p)
	}
}
