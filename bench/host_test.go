package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

// What people watching the dashboard cost the host: its gRPC throughput
// while they watch, as a ratio of its throughput while nobody does, in
// alternating rounds (the machine's other load drifts; alternation cancels
// it). These are measurements, not assertions: they take a minute or more,
// so they run only when asked:
//
//	cd bench && DEBUGZ_MEASURE=1 go test -run TestHost -v -timeout 30m
//
// DEBUGZ_MEASURE_ROUNDS (default 4) and DEBUGZ_MEASURE_SECONDS (default 3)
// set the number of rounds of each side and their length.

// measureRounds returns the number of rounds and their length, or skips t
// unless DEBUGZ_MEASURE is set.
func measureRounds(t *testing.T) (int, time.Duration) {
	if os.Getenv("DEBUGZ_MEASURE") == "" {
		t.Skip("a measurement of a minute or more: set DEBUGZ_MEASURE=1 to run it")
	}
	rounds, secs := 4, 3
	if v := os.Getenv("DEBUGZ_MEASURE_ROUNDS"); v != "" {
		_, _ = fmt.Sscan(v, &rounds)
	}
	if v := os.Getenv("DEBUGZ_MEASURE_SECONDS"); v != "" {
		_, _ = fmt.Sscan(v, &secs)
	}
	return rounds, time.Duration(secs) * time.Second
}

// load is the host's work: callers making unary calls as fast as they can.
type load struct {
	client  testgrpc.TestServiceClient
	callers int
}

// run makes calls for d and returns how many per second, and their p99.
func (l load) run(t *testing.T, d time.Duration) (perSec float64, p99 time.Duration) {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		wg    sync.WaitGroup
		calls atomic.Int64
	)
	end := time.Now().Add(d)
	for c := range l.callers {
		wg.Go(func() {
			var mine []time.Duration
			for i := c; time.Now().Before(end); i += l.callers {
				t0 := time.Now()
				if err := unaryCall(context.Background(), l.client, i); err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
				calls.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		p99 = lat[len(lat)*99/100]
	}
	return float64(calls.Load()) / d.Seconds(), p99
}

// viewers are people watching: each runs view in a loop until stopped.
type viewers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	bytes  atomic.Int64
	errs   atomic.Int64
}

// watch starts n viewers, each calling view(ctx, i) in a loop, every
// interval (0: back to back), until stop.
func watch(n int, interval time.Duration, view func(ctx context.Context, i int) (int64, error)) *viewers {
	ctx, cancel := context.WithCancel(context.Background())
	v := &viewers{cancel: cancel}
	for i := range n {
		v.wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				b, err := view(ctx, i)
				v.bytes.Add(b)
				if err != nil && ctx.Err() == nil {
					v.errs.Add(1)
				}
				if wait := interval - time.Since(t0); wait > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(wait):
					}
				}
			}
		})
	}
	return v
}

func (v *viewers) stop() { v.cancel(); v.wg.Wait() }

// get fetches url to the end and returns its size.
func get(ctx context.Context, client *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK && err == nil {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return n, err
}

// compare alternates rounds of the load alone and under the viewers that
// start makes, and logs the ratio of the medians.
func compare(t *testing.T, name string, l load, rounds int, d time.Duration, start func() *viewers) {
	var alone, watched []float64
	var p99Alone, p99Watched []time.Duration
	var written int64
	for range rounds {
		r, p := l.run(t, d)
		alone, p99Alone = append(alone, r), append(p99Alone, p)
		v := start()
		time.Sleep(200 * time.Millisecond) // the viewers arrive
		r, p = l.run(t, d)
		v.stop()
		written += v.bytes.Load()
		watched, p99Watched = append(watched, r), append(p99Watched, p)
		if n := v.errs.Load(); n > 0 {
			t.Logf("%s: %d viewer requests failed", name, n)
		}
	}
	ratios := make([]float64, rounds) // each watched round against the alone round before it
	for i := range ratios {
		ratios[i] = watched[i] / alone[i]
	}
	med := func(xs []float64) float64 { xs = slices.Clone(xs); slices.Sort(xs); return xs[len(xs)/2] }
	medD := func(xs []time.Duration) time.Duration { slices.Sort(xs); return xs[len(xs)/2] }
	t.Logf("%s: median %.0f calls/s alone, %.0f watched: %.2f×; median of the %d pairs' ratios %.2f× (p99 %v → %v; viewers read %.2f MB/s)",
		name, med(alone), med(watched), med(watched)/med(alone), rounds, med(ratios), medD(p99Alone), medD(p99Watched),
		float64(written)/float64(rounds)/d.Seconds()/1e6)
}

// parkedService holds every FullDuplexCall until its client goes away: a
// call that is running when someone opens its page.
type parkedService struct{ grpctest.Service }

func (parkedService) FullDuplexCall(stream testgrpc.TestService_FullDuplexCallServer) error {
	<-stream.Context().Done()
	return nil
}

// startHost serves the test service, labelled for stacks, with debugz, and
// its dashboard on a loopback port.
func startHost(t *testing.T) (*debugz.SpanProcessor, *sdktrace.TracerProvider, testgrpc.TestServiceClient, string) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler {
		return grpcstats.WrapHandler(h, grpcstats.WithProfilerLabels())
	}, parkedService{})
	srv := httptest.NewServer(debugz.NewHandler(sp))
	t.Cleanup(srv.Close)
	return sp, tp, client, srv.URL
}

// TestHostUnderStackViewers: 20,000 parked goroutines and a running call
// whose page four people keep open (reloading it every second), or whose
// JSON four scripts poll back to back, or whose stacks four people ask for
// every second (?stacks=1).
func TestHostUnderStackViewers(t *testing.T) {
	rounds, d := measureRounds(t)
	sp, _, client, base := startHost(t)
	park := make(chan struct{})
	defer close(park)
	for range 20_000 {
		go func() { <-park }()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := client.FullDuplexCall(ctx); err != nil {
		t.Fatal(err)
	}
	var running string
	grpctest.WaitFor(t, "the running call", func() bool {
		for _, a := range sp.Active() {
			if a.Kind == trace.SpanKindServer {
				running = a.SpanID.String()
			}
		}
		return running != ""
	})
	l := load{client: client, callers: 4}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	for _, c := range []struct {
		name     string
		path     string
		interval time.Duration
	}{
		{"page", "/spans/" + running, time.Second},                 // 4 viewers of the running call's page, each reloading every second
		{"json", "/api/spans/" + running, 0},                       // 4 scripts polling its JSON back to back
		{"stacks", "/spans/" + running + "?stacks=1", time.Second}, // 4 viewers asking for its stacks every second
		{"summary", "/api/summary", 0},                             // for reference, 4 scripts polling /api/summary back to back
	} {
		t.Run(c.name, func(t *testing.T) {
			compare(t, c.name, l, rounds, d, func() *viewers {
				return watch(4, c.interval, func(ctx context.Context, _ int) (int64, error) { return get(ctx, hc, base+c.path) })
			})
		})
	}
	t.Run("control", func(t *testing.T) { // viewers that read nothing: what alternation alone shows
		compare(t, "control", l, rounds, d, func() *viewers {
			return watch(4, time.Second, func(context.Context, int) (int64, error) { return 0, nil })
		})
	})
}

// TestHostUnderInFlightViewers: 10,000 calls in flight and 100 people
// watching the in-flight page live (/live/active), or 100 reloading
// /active every second, or 100 scripts polling /api/active every second.
func TestHostUnderInFlightViewers(t *testing.T) {
	rounds, d := measureRounds(t)
	_, tp, client, base := startHost(t)
	tr := tp.Tracer("parked")
	for range 10_000 { // calls in flight that never end
		_, _ = tr.Start(context.Background(), "parked.Service/Wait", trace.WithSpanKind(trace.SpanKindServer))
	}
	l := load{client: client, callers: 4}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 200}}
	for _, c := range []struct {
		name     string
		path     string
		interval time.Duration
	}{
		{"live", "/live/active", 0},          // 100 live viewers of /live/active
		{"page", "/active", time.Second},     // 100 viewers reloading /active every second
		{"json", "/api/active", time.Second}, // 100 scripts polling /api/active every second
	} {
		t.Run(c.name, func(t *testing.T) {
			compare(t, c.name, l, rounds, d, func() *viewers {
				return watch(100, c.interval, func(ctx context.Context, _ int) (int64, error) { return get(ctx, hc, base+c.path) })
			})
		})
	}
}
