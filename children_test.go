package debugz

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"unsafe"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestChildTableFloodStaysBounded: a flood of spans under RPCs that never
// end (3 times the table's slots) leaves the table its fixed size, and a
// line logged three spans under an RPC started after the flood still
// reaches that RPC: new spans push out the oldest entries, never their own.
func TestChildTableFloodStaysBounded(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	log := slog.New(sp.LogHandler(slog.DiscardHandler))
	tr := tp.Tracer("test")
	table := sp.children.Load()

	ctx, leaky := tr.Start(context.Background(), "a.S/Leak", trace.WithSpanKind(trace.SpanKindServer))
	for range 3 * childSlots {
		tr.Start(ctx, "never ended")
	}
	if size := unsafe.Sizeof(*table); size != childSlots*unsafe.Sizeof(childSlot{}) || sp.children.Load() != table {
		t.Errorf("child table = %d bytes; want its fixed %d", size, childSlots*unsafe.Sizeof(childSlot{}))
	}
	if n := table.used(); n > childSlots {
		t.Errorf("child table holds %d entries; want at most %d", n, childSlots)
	}
	leaky.End()

	ctx, rpc := tr.Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
	var spans []trace.Span
	for _, name := range []string{"child", "grandchild", "great-grandchild"} {
		var s trace.Span
		ctx, s = tr.Start(ctx, name)
		spans = append(spans, s)
	}
	log.InfoContext(ctx, "after the flood")
	for i := len(spans) - 1; i >= 0; i-- {
		spans[i].End()
	}
	rpc.End()
	if got, _ := sp.Span(rpc.SpanContext().SpanID()); len(got.Logs) != 1 || got.Logs[0].SpanName != "great-grandchild" {
		t.Errorf("Span(rpc).Logs = %+v; want the line logged three spans down", got.Logs)
	}
}

// TestChildTableEndForgets: spans that end leave the table, which then
// holds nothing; starting and ending allocates nothing.
func TestChildTableEndForgets(t *testing.T) {
	var table childTable
	allocs := testing.AllocsPerRun(100, func() {
		for k := uint64(1); k <= 1000; k++ {
			table.start(k<<20|7, 7)
		}
		for k := uint64(1); k <= 1000; k++ {
			if got := table.rpcOf(k<<20 | 7); got != 7 && got != 0 {
				t.Fatalf("rpcOf(%d) = %d; want 7 or 0 (pushed out)", k<<20|7, got)
			}
			table.end(k<<20 | 7)
		}
	})
	if n := table.used(); n != 0 || allocs != 0 {
		t.Errorf("after every span ended: %d entries, %v allocations; want 0 and 0", n, allocs)
	}
}

// TestChildTableConcurrentSafe hammers the table from several goroutines:
// chains of spans (random-looking keys, as span IDs are) start, are looked
// up and end, each goroutine with keys of its own. A lookup racing a writer
// in the same slot may find nothing usable, but never another chain's RPC.
func TestChildTableConcurrentSafe(t *testing.T) {
	const goroutines, chains = 8, 2000
	key := func(g, i, depth uint64) uint64 { return (g<<40 | i<<8 | depth + 1) * 0x2545F4914F6CDD1D }
	rpcs := map[uint64]bool{}
	for g := range uint64(goroutines) {
		for i := range uint64(chains) {
			rpcs[key(g, i, 0)] = true
		}
	}
	var table childTable
	var wg sync.WaitGroup
	for g := range uint64(goroutines) {
		wg.Go(func() {
			for i := range uint64(chains) {
				rpc, a, b, c := key(g, i, 0), key(g, i, 1), key(g, i, 2), key(g, i, 3)
				table.start(a, rpc)
				table.start(b, a)
				table.start(c, b)
				if got := table.rpcOf(c); got != rpc && rpcs[got] {
					t.Errorf("rpcOf(%x) = %x, another chain's RPC; want %x", c, got, rpc)
					return
				}
				table.end(c)
				table.end(b)
				table.end(a)
			}
		})
	}
	wg.Wait()
}

// used counts the table's entries; for tests.
func (t *childTable) used() int {
	n := 0
	for i := range t.slots {
		if t.slots[i].child.Load() != 0 {
			n++
		}
	}
	return n
}

// BenchmarkChildTable measures what the child table adds to a span under an
// RPC: noting it as it starts and forgetting it as it ends (start+end), and
// the lookup of a log record (rpcOf).
func BenchmarkChildTable(b *testing.B) {
	var table childTable
	keys := make([]uint64, 1024)
	for i := range keys {
		keys[i] = uint64(i+1) * 0x2545F4914F6CDD1D
	}
	b.Run("start+end", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := keys[i%len(keys)]
			table.start(k, 7)
			table.end(k)
			i++
		}
	})
	for _, k := range keys {
		table.start(k, 7)
	}
	b.Run("rpcOf", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			table.rpcOf(keys[i%len(keys)])
			i++
		}
	})
}

// BenchmarkOnStartOnEndChild measures what a handler's own span (neither
// server nor client) costs the processor, under an RPC: without a
// LogHandler, nothing but the kind check; with one, noting it under its
// RPC in the child table and forgetting it at its end.
func BenchmarkOnStartOnEndChild(b *testing.B) {
	for _, bc := range []struct {
		name string
		logs bool
	}{{"nologs", false}, {"loghandler", true}} {
		b.Run(bc.name, func(b *testing.B) {
			sp := NewSpanProcessor()
			if bc.logs {
				sp.LogHandler(slog.NewTextHandler(io.Discard, nil))
			}
			tp := sdktrace.NewTracerProvider() // spans made beforehand, without the processor
			ctx, rpc := tp.Tracer("b").Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
			sp.OnStart(context.Background(), rpc.(sdktrace.ReadWriteSpan))
			ctx, child := tp.Tracer("b").Start(ctx, "child")
			sp.OnStart(ctx, child.(sdktrace.ReadWriteSpan))
			spans := make([]sdktrace.ReadWriteSpan, 1024)
			for i := range spans {
				_, s := tp.Tracer("b").Start(ctx, "grandchild")
				s.End()
				spans[i] = s.(sdktrace.ReadWriteSpan)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := spans[i%len(spans)]
				sp.OnStart(ctx, s)
				sp.OnEnd(s)
				i++
			}
		})
	}
}
