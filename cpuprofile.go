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
	"github.com/debugz/debugz/internal/view"
)

// topFunctions is how many functions a profile lists per method.
const topFunctions = 8

// cpuByMethod takes a CPU profile of the whole process for d, or until ctx
// is done, and sums its CPU time by the method label that
// grpcstats.WithProfilerLabels puts on server goroutines. It fails when
// another CPU profile is running (this handler's or /debug/pprof/profile's).
func cpuByMethod(ctx context.Context, busy *atomic.Bool, d time.Duration) (view.CPUProfile, error) {
	if !busy.CompareAndSwap(false, true) {
		return view.CPUProfile{}, view.ErrProfiling
	}
	defer busy.Store(false)
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return view.CPUProfile{}, fmt.Errorf("%w (%v)", view.ErrProfiling, err)
	}
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	pprof.StopCPUProfile()
	prof, err := profile.Read(&buf, grpcstats.LabelMethod, topFunctions)
	p := view.CPUProfile{Start: start, Duration: time.Since(start), Total: prof.Total, Samples: prof.Samples}
	for _, m := range prof.ByValue {
		mc := view.MethodCPU{Method: m.Value, CPU: m.CPU, Samples: m.Samples, Top: make([]view.FuncCPU, 0, len(m.Top))}
		for _, f := range m.Top {
			mc.Top = append(mc.Top, view.FuncCPU{Function: f.Function, Flat: f.Flat, Cum: f.Cum})
		}
		p.Methods = append(p.Methods, mc)
	}
	return p, err
}
