package debugz_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/debugz/debugz"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// heapAfterGC is the live heap, after a collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestLogKeysBounded: keys and group prefixes are cut like values. 2,048
// records, each from a logger of its own with a 100 KiB group and with a
// 100 KiB key (a fresh string each time, as a hostile or buggy caller
// makes them), half of them inside an RPC, pin a few KiB each, not 200 KiB;
// the kept keys are cut, and the next handler still gets them whole.
func TestLogKeysBounded(t *testing.T) {
	const records, big = 2048, 100 << 10
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("t").Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
	var next bytes.Buffer
	whole := slog.New(sp.LogHandler(slog.NewTextHandler(&next, nil)))
	whole.WithGroup(strings.Repeat("g", big)).InfoContext(ctx, "whole", strings.Repeat("k", big), "v")
	if !strings.Contains(next.String(), strings.Repeat("g", big)+"."+strings.Repeat("k", big)+"=v") {
		t.Errorf("the next handler did not get the whole grouped key")
	}
	base := slog.New(sp.LogHandler(slog.DiscardHandler))
	before := heapAfterGC()
	for i := range records {
		group := fmt.Sprintf("%d", i) + strings.Repeat("g", big)
		key := fmt.Sprintf("%d", i) + strings.Repeat("k", big)
		c := context.Background()
		if i%2 == 0 {
			c = ctx
		}
		base.WithGroup(group).With(key+"w", "with").InfoContext(c, "hostile", key, "v")
	}
	after := heapAfterGC()
	perRecord := (int64(after) - int64(before)) / records
	t.Logf("heap kept per record with 100 KiB keys and groups: %d B (live heap %d → %d MiB)", perRecord, before>>20, after>>20)
	if perRecord > 4<<10 {
		t.Errorf("each record with a 100 KiB key and group pins %d B of heap; want at most 4 KiB", perRecord)
	}
	span.End()
	got, _ := sp.Span(span.SpanContext().SpanID())
	for _, lines := range [][]debugz.LogLine{got.Logs, recordLines(sp.Logs(debugz.LogFilter{Limit: 4}))} {
		for _, l := range lines {
			for _, a := range l.Attrs {
				if len(a.Key) > 2*128+1 {
					t.Errorf("a kept key is %d bytes (%.40q…); want at most %d", len(a.Key), a.Key, 2*128+1)
				}
			}
		}
	}
	runtime.KeepAlive(sp)
}

func recordLines(recs []debugz.LogRecord) []debugz.LogLine {
	out := make([]debugz.LogLine, len(recs))
	for i, r := range recs {
		out[i] = r.LogLine
	}
	return out
}

// TestLogGroupsAsSlog: attributes under groups keep slog's meaning: a group
// prefixes the record's own keys and those added after it, not those added
// before; nested groups reach the next handler once each.
func TestLogGroupsAsSlog(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	var next bytes.Buffer
	l := slog.New(sp.LogHandler(slog.NewTextHandler(&next, nil))).With("a", 1).WithGroup("req").With("b", 2).WithGroup("").WithGroup("user")
	l.Info("m", "c", 3)
	recs := sp.Logs(debugz.LogFilter{})
	if len(recs) != 1 {
		t.Fatalf("kept %d records; want 1", len(recs))
	}
	var keys []string
	for _, a := range recs[0].Attrs {
		keys = append(keys, a.Key)
	}
	if got := strings.Join(keys, " "); got != "a req.b req.user.c" {
		t.Errorf("kept keys = %q; want %q", got, "a req.b req.user.c")
	}
	if !strings.Contains(next.String(), "a=1 req.b=2 req.user.c=3") {
		t.Errorf("the next handler wrote %q; want a=1 req.b=2 req.user.c=3", next.String())
	}
}

// TestLogRecordAllocs: keeping a record of a grouped logger, with an error
// attribute, inside an RPC allocates nothing once the RPC has 16 records
// (the README's claim); before, the grouped key and the error's text each
// cost allocations per record.
func TestLogRecordAllocs(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("t").Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	err := fmt.Errorf("charge: %w", errors.New("card declined"))
	grouped := slog.New(sp.LogHandler(slog.DiscardHandler)).WithGroup("req")
	plain := slog.New(sp.LogHandler(slog.DiscardHandler))
	for _, tt := range []struct {
		name string
		log  func()
	}{
		{"grouped", func() { grouped.InfoContext(ctx, "m", "user.id", 42, "cache", "hit") }},
		{"error attribute", func() { plain.ErrorContext(ctx, "failed", "err", err) }},
	} {
		for range 16 {
			tt.log()
		}
		if n := testing.AllocsPerRun(100, tt.log); n != 0 {
			t.Errorf("%s: %v allocations per record; want 0", tt.name, n)
		}
	}
	recs := sp.Logs(debugz.LogFilter{Limit: 1})
	if len(recs) != 1 || len(recs[0].Attrs) != 1 || recs[0].Attrs[0].Value.String() != "charge: card declined" {
		t.Errorf("the error attribute was kept as %+v; want its message", recs)
	}
}
