package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/debugz/debugz"
	"go.opentelemetry.io/contrib/zpages"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// capacity is how many finished spans debugz and mutexring keep.
const capacity = 8192

// pairsPerSet is how many distinct prepared spans a benchmark goroutine
// cycles through.
const pairsPerSet = 1024

// peer is a span processor under comparison.
type peer struct {
	name string
	new  func() sdktrace.SpanProcessor
}

// processors are the span processors compared, in the order they are run.
var processors = []peer{
	{"debugz", newDebugz},
	{"zpages", newZpages},
	{"mutexring", func() sdktrace.SpanProcessor { return newMutexRing(capacity) }},
	{"batch", newBatch},
}

func newDebugz() sdktrace.SpanProcessor {
	return debugz.NewSpanProcessor(debugz.WithMaxSpans(capacity))
}
func newZpages() sdktrace.SpanProcessor { return zpages.NewSpanProcessor() }
func newBatch() sdktrace.SpanProcessor  { return sdktrace.NewBatchSpanProcessor(discardExporter{}) }

var (
	_ sdktrace.SpanProcessor = (*mutexRing)(nil)
	_ sdktrace.SpanProcessor = noopProcessor{}
	_ sdktrace.SpanExporter  = discardExporter{}
)

// mutexRing is the baseline: the least a processor that keeps the most
// recent spans can do.
type mutexRing struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
	next  int
}

func newMutexRing(n int) *mutexRing { return &mutexRing{spans: make([]sdktrace.ReadOnlySpan, n)} }

func (r *mutexRing) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (r *mutexRing) OnEnd(s sdktrace.ReadOnlySpan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans[r.next] = s
	r.next = (r.next + 1) % len(r.spans)
}

func (r *mutexRing) Shutdown(context.Context) error   { return nil }
func (r *mutexRing) ForceFlush(context.Context) error { return nil }

// noopProcessor does nothing; registered alone, it shows what the SDK costs
// (a TracerProvider with no processor at all skips the end-of-span snapshot).
type noopProcessor struct{}

func (noopProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (noopProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (noopProcessor) Shutdown(context.Context) error                  { return nil }
func (noopProcessor) ForceFlush(context.Context) error                { return nil }

// discardExporter is the BatchSpanProcessor's exporter: it drops every batch.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// shutdown shuts sp down at the end of a benchmark.
func shutdown(b *testing.B, sp sdktrace.SpanProcessor) {
	if err := sp.Shutdown(context.Background()); err != nil {
		b.Errorf("Shutdown() = %v; want nil", err)
	}
}

// warm runs enough spans through sp to fill its rings, so that a benchmark
// times the steady state, where every span kept evicts an older one.
func warm(sp sdktrace.SpanProcessor, pairs []spanPair) {
	ctx := context.Background()
	for i := range 2 * capacity {
		p := &pairs[i%len(pairs)]
		sp.OnStart(ctx, p.start)
		sp.OnEnd(p.end)
	}
}

// BenchmarkOnStartOnEnd measures what a processor costs per RPC: OnStart and
// OnEnd of one typical otelgrpc server span, prepared beforehand.
func BenchmarkOnStartOnEnd(b *testing.B) { benchOnStartOnEnd(b, fetchUser) }

// BenchmarkOnStartOnEndSlashName is BenchmarkOnStartOnEnd with a span named
// "/user.UserService/FetchUser", which rpc.service and rpc.method do not
// concatenate to.
func BenchmarkOnStartOnEndSlashName(b *testing.B) { benchOnStartOnEnd(b, fetchUserSlash) }

// BenchmarkOnStartOnEndCurrent is BenchmarkOnStartOnEnd with the spans of
// otelgrpc's current default (v0.61 on): new attribute names, no message
// events.
func BenchmarkOnStartOnEndCurrent(b *testing.B) {
	benchPairs(b, makePairsOf(b, serveCurrentSpan, pairsPerSet, fetchUser))
}

func benchOnStartOnEnd(b *testing.B, m rpcMethod) { benchPairs(b, makePairs(b, pairsPerSet, m)) }

// benchPairs runs each processor over pairs, in turn.
func benchPairs(b *testing.B, pairs []spanPair) {
	ctx := context.Background()
	for _, p := range processors {
		b.Run(p.name, func(b *testing.B) {
			sp := p.new()
			defer shutdown(b, sp)
			warm(sp, pairs)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				pr := &pairs[i%len(pairs)]
				sp.OnStart(ctx, pr.start)
				sp.OnEnd(pr.end)
				i++
			}
		})
	}
}

// BenchmarkOnStartOnEndParallel is BenchmarkOnStartOnEnd with every CPU
// ending spans into the same processor. Each goroutine has spans of its own,
// so that no span is started twice before it ends.
func BenchmarkOnStartOnEndParallel(b *testing.B) {
	sets := make([][]spanPair, runtime.GOMAXPROCS(0))
	for i := range sets {
		sets[i] = makePairs(b, pairsPerSet, fetchUser)
	}
	ctx := context.Background()
	for _, p := range processors {
		b.Run(p.name, func(b *testing.B) {
			sp := p.new()
			defer shutdown(b, sp)
			warm(sp, sets[0])
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				pairs := sets[int(next.Add(1)-1)%len(sets)]
				i := 0
				for pb.Next() {
					pr := &pairs[i%len(pairs)]
					sp.OnStart(ctx, pr.start)
					sp.OnEnd(pr.end)
					i++
				}
			})
		})
	}
}
