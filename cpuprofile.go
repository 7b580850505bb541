package debugz

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/grpcstats"
	profile "github.com/debugz/debugz/internal/pprof"
	"github.com/debugz/debugz/web"
)

// cpuByMethod takes a CPU profile of the whole process for d, or until ctx
// is done, and sums its CPU time by the method label that
// grpcstats.WithProfilerLabels puts on server goroutines. It fails when
// another CPU profile is running (this handler's or /debug/pprof/profile's).
func cpuByMethod(ctx context.Context, busy *atomic.Bool, d time.Duration) (web.CPUProfile, error) {
	if !busy.CompareAndSwap(false, true) {
		return web.CPUProfile{}, web.ErrProfiling
	}
	defer busy.Store(false)
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return web.CPUProfile{}, fmt.Errorf("%w (%v)", web.ErrProfiling, err)
	}
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	pprof.StopCPUProfile()
	total, byMethod, err := profile.CPUByLabel(&buf, grpcstats.LabelMethod)
	p := web.CPUProfile{Start: start, Duration: time.Since(start), Total: total}
	for _, m := range byMethod {
		p.Methods = append(p.Methods, web.MethodCPU{Method: m.Value, CPU: m.CPU})
	}
	return p, err
}
