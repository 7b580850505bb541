package debugz

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/debugz/debugz/internal/semconv"

	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// errorHandler records what debugz passes to otel.Handle.
type errorHandler struct {
	mu   sync.Mutex
	errs []error
}

func (h *errorHandler) Handle(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, err)
}

// TestPanicUnderRowLockDoesNotHang: a panic inside OnEnd while it holds a
// row's lock is recovered with the lock released, so the next OnEnd of the
// same method goes through; the panic is counted, kept with its stack,
// shown in the summary and passed to otel.Handle.
func TestPanicUnderRowLockDoesNotHang(t *testing.T) {
	h := &errorHandler{}
	otel.SetErrorHandler(h)
	t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })

	sp := NewSpanProcessor()
	const m = "a.S/Panics"
	sp.OnEnd(newUnary(m, "OK", time.Millisecond))
	r := sp.rows.get(m, trace.SpanKindServer)
	buckets := r.base.buckets
	r.base.mu.Lock()
	r.base.buckets = nil // the next add indexes out of range while holding the lock
	r.base.mu.Unlock()
	sp.OnEnd(newUnary(m, "OK", time.Millisecond))
	r.base.mu.Lock()
	r.base.buckets = buckets
	r.base.mu.Unlock()

	done := make(chan struct{})
	go func() {
		sp.OnEnd(newUnary(m, "OK", time.Millisecond))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("OnEnd after a recovered panic blocked: the row's lock was left held")
	}
	sum := sp.Summary()
	if sum.Dropped != 1 || sum.Fault == "" {
		t.Fatalf("Summary() Dropped = %d, Fault = %q; want 1 and the panic", sum.Dropped, sum.Fault)
	}
	if !strings.Contains(sum.Fault, "index out of range") || !strings.Contains(sum.Fault, "(*row).add") {
		t.Errorf("Fault = %q\nwant the panic value and a stack through (*row).add", sum.Fault)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) != 1 || !strings.Contains(h.errs[0].Error(), "index out of range") {
		t.Errorf("otel.Handle got %v; want the one panic", h.errs)
	}
}

// TestOlderSpanKeepsLatencyNow: a span that ended in an older minute (a clock
// step) must not erase the current minute's latency.
func TestOlderSpanKeepsLatencyNow(t *testing.T) {
	sp := NewSpanProcessor()
	const m = "a.S/Now"
	for range 10 {
		sp.OnEnd(newUnary(m, "OK", 5*time.Millisecond))
	}
	old := stub{name: m, kind: trace.SpanKindServer, dur: time.Second, end: time.Now().Add(-3 * time.Minute),
		attrs: []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", m)}}
	sp.OnEnd(old.snapshot())
	ms := sp.Summary().Methods
	if len(ms) != 1 || ms[0].Count != 11 || ms[0].Recent.Count != 10 {
		t.Fatalf("Summary() = %+v; want 11 counted and the 10 recent ones still in latency now", ms)
	}
	if ms[0].Recent.Max > 10*time.Millisecond {
		t.Errorf("Recent.Max = %v; want the recent calls' 5ms, not the old span's 1s", ms[0].Recent.Max)
	}
}

// TestQueryCopiesEventAndLinkAttributes: what a query returns is the
// caller's to change; the retained span (which exporters read) stays as it was.
func TestQueryCopiesEventAndLinkAttributes(t *testing.T) {
	sp := NewSpanProcessor()
	s := stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond,
		attrs:  []attribute.KeyValue{attribute.String("rpc.system.name", "grpc")},
		events: []sdktrace.Event{{Name: "e", Attributes: []attribute.KeyValue{attribute.String("k", "v")}}}}.snapshot()
	sp.OnEnd(s)
	got, _ := sp.Span(s.SpanContext().SpanID())
	got.Events[0].Attributes[0] = attribute.String("k", "changed")
	if v := s.Events()[0].Attributes[0].Value.AsString(); v != "v" {
		t.Errorf("changing a query's event attribute changed the retained span's to %q", v)
	}
	again, _ := sp.Span(s.SpanContext().SpanID())
	if v := again.Events[0].Attributes[0].Value.AsString(); v != "v" {
		t.Errorf("second query's event attribute = %q; want v", v)
	}
}

// TestHugeNamesStayWithinByteCap: names, event names, many events, many
// links and many attributes all count against WithMaxSpanBytes, and the
// truncated copy keeps nothing of the original.
func TestHugeNamesStayWithinByteCap(t *testing.T) {
	const limit = 16 << 10
	big := strings.Repeat("n", 64<<10)
	many := func(n int, f func(i int) sdktrace.Event) []sdktrace.Event {
		out := make([]sdktrace.Event, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	grpcAttrs := []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M")}
	tests := []struct {
		name string
		span stub
	}{
		{"64 KiB span name", stub{name: big, kind: trace.SpanKindServer, attrs: grpcAttrs}},
		{"64 KiB event name", stub{name: "a.S/M", kind: trace.SpanKindServer, attrs: grpcAttrs,
			events: []sdktrace.Event{{Name: big}}}},
		{"10,000 empty events", stub{name: "a.S/M", kind: trace.SpanKindServer, attrs: grpcAttrs,
			events: many(10_000, func(int) sdktrace.Event { return sdktrace.Event{Name: "e"} })}},
		{"10,000 attributes", stub{name: "a.S/M", kind: trace.SpanKindServer, attrs: append(grpcAttrs,
			func() []attribute.KeyValue {
				kvs := make([]attribute.KeyValue, 10_000)
				for i := range kvs {
					kvs[i] = attribute.Int("k", i)
				}
				return kvs
			}()...)}},
		{"64 KiB attribute key", stub{name: "a.S/M", kind: trace.SpanKindServer, attrs: append(grpcAttrs, attribute.Bool(big, true))}},
		{"internal span, 64 KiB name", stub{name: big, kind: trace.SpanKindInternal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := NewSpanProcessor(WithMaxSpanBytes(limit))
			s := tt.span.snapshot()
			sp.OnEnd(s)
			var found []record
			sp.find(idMatch{spanID: s.SpanContext().SpanID()}, &found, 1)
			if len(found) != 1 || !found[0].truncated {
				t.Fatalf("OnEnd(%s): retained %d, truncated %v; want one truncated copy", tt.name, len(found), len(found) == 1 && found[0].truncated)
			}
			k := found[0].span
			info := readAttributes(k.Attributes())
			if size := spanSize(k.Name(), k.Status().Description, info.size, k.Events(), k.Links(), nil); size > limit {
				t.Errorf("OnEnd(%s): kept %d bytes; want at most %d", tt.name, size, limit)
			}
			if cap(k.Events()) > limit/eventOverhead || cap(k.Attributes()) > limit/attrOverhead {
				t.Errorf("OnEnd(%s): kept slices of capacity %d events, %d attributes; want them cut to what they hold",
					tt.name, cap(k.Events()), cap(k.Attributes()))
			}
			got, ok := sp.Span(s.SpanContext().SpanID())
			if !ok || !got.Truncated {
				t.Errorf("Span(%s) = %v, truncated %v; want the truncated copy", tt.name, ok, got.Truncated)
			}
		})
	}
}

// TestHugeNamesHeap: 2,000 spans with 64 KiB span and event names keep at
// most the byte cap each, not their names.
func TestHugeNamesHeap(t *testing.T) {
	sp := NewSpanProcessor()
	before := heapInUse()
	for i := range 2000 {
		name := strings.Repeat(string(rune('a'+i%26)), 64<<10)
		s := stub{name: name, kind: trace.SpanKindServer, dur: time.Millisecond,
			attrs:  []attribute.KeyValue{attribute.String("rpc.system.name", "grpc")},
			events: []sdktrace.Event{{Name: name}}}.snapshot()
		sp.OnEnd(s)
	}
	grown := heapInUse() - before
	// 2,000 × 16 KiB is the bound; the names alone would be 256 MiB.
	if limit := uint64(2000 * defaultMaxSpanBytes * 3 / 2); grown > limit {
		t.Errorf("2,000 spans with 64 KiB names grew the heap by %d MiB; want under %d MiB", grown>>20, limit>>20)
	}
	runtime.KeepAlive(sp)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestUnknownMethodFlood: a caller's 2,400 calls to unknown methods with
// 32 KiB names (grpc-go starts a server span for each and never ends it)
// pin little memory, keep /api/summary's rows within the cap, and leave room
// for a real stream started afterwards.
func TestUnknownMethodFlood(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer("go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc")
	before := heapInUse()
	for i := range 2400 {
		name := "evil.Service/" + strings.Repeat(string(rune('a'+i%26)), 32<<10) + string(rune('0'+i%10))
		tr.Start(context.Background(), name, trace.WithSpanKind(trace.SpanKindServer)) // never ended
	}
	for i := range 12_000 { // and short ones, enough to fill the in-flight table
		tr.Start(context.Background(), "evil.Service/M"+strconv.Itoa(i), trace.WithSpanKind(trace.SpanKindServer))
	}
	_, real := tr.Start(context.Background(), "user.UserService/Chat", trace.WithSpanKind(trace.SpanKindServer))
	defer real.End()
	if grown := heapInUse() - before; grown > 48<<20 {
		t.Errorf("unknown-method flood grew the heap by %d MiB; want under 48 MiB", grown>>20)
	}
	var listed bool
	for _, a := range sp.Active() {
		listed = listed || a.Method == "user.UserService/Chat"
	}
	if !listed {
		t.Error("Active() does not list the real stream started after the flood")
	}
	sum := sp.Summary()
	if len(sum.Methods) > defaultMaxMethods+2 {
		t.Errorf("Summary() has %d rows; want at most %d plus the overflow rows", len(sum.Methods), defaultMaxMethods)
	}
	if sum.ActiveEvicted == 0 {
		t.Error("Summary().ActiveEvicted = 0; want the phantoms pushed out counted")
	}
}

// TestFollowReportsWhatItSkips: Follow returns what entered since its
// position, oldest first; spans the ring overwrote before they were read and
// matches past the limit are counted as skipped, never lost silently.
func TestFollowReportsWhatItSkips(t *testing.T) {
	sp := NewSpanProcessor(WithMaxSpans(8))
	_, pos, _ := sp.follow(Filter{}, 0)
	for i := range 5 {
		sp.OnEnd(newUnary("a.B/C", "OK", time.Duration(i+1)*time.Millisecond))
	}
	spans, next, skipped := sp.follow(Filter{}, pos)
	if len(spans) != 5 || skipped != 0 || spans[0].Duration != time.Millisecond || spans[4].Duration != 5*time.Millisecond {
		t.Fatalf("Follow after 5 = %d spans (first %v), skipped %d; want the 5 oldest first, none skipped", len(spans), spans[0].Duration, skipped)
	}
	pos = next
	for i := range 12 { // 4 more than the ring holds
		sp.OnEnd(newUnary("a.B/C", "OK", time.Duration(i+1)*time.Millisecond))
	}
	spans, next, skipped = sp.follow(Filter{Limit: 3}, pos)
	if len(spans) != 3 || skipped != 9 || spans[2].Duration != 12*time.Millisecond {
		t.Errorf("Follow(limit 3) after 12 into a ring of 8 = %d spans, skipped %d; want the newest 3 and 4 overwritten + 5 over the limit skipped", len(spans), skipped)
	}
	if spans, _, skipped := sp.follow(Filter{}, next); len(spans) != 0 || skipped != 0 {
		t.Errorf("Follow with nothing new = %d spans, skipped %d; want none", len(spans), skipped)
	}
	// Past the limit, older spans are not read at all: they count as
	// skipped whether they match or not.
	for range 3 {
		sp.OnEnd(newUnary("a.B/C", "OK", time.Millisecond))
	}
	sp.OnEnd(newUnary("x.Y/Z", "OK", time.Millisecond))
	spans, _, skipped = sp.follow(Filter{Limit: 1}, next)
	if len(spans) != 1 || spans[0].Method != "x.Y/Z" || skipped != 3 {
		t.Errorf("Follow(limit 1) = %d spans, skipped %d; want the newest and 3 not read", len(spans), skipped)
	}
}

// TestNonFiniteAndInvalidUTF8Readable: a span with NaN and infinite float
// attributes and invalid UTF-8 in its name, keys and values is readable in
// every view and export. JSON gets "NaN", "Infinity" and "-Infinity" (as
// OTLP/JSON does); OTLP/JSON gets U+FFFD for invalid UTF-8.
func TestNonFiniteAndInvalidUTF8Readable(t *testing.T) {
	sp := NewSpanProcessor()
	bad := "bad\xff\xfename"
	s := stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond, attrs: []attribute.KeyValue{
		attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M"),
		attribute.String("rpc.response.status_code", "OK"),
		attribute.Float64("nan", math.NaN()), attribute.Float64("inf", math.Inf(1)),
		attribute.Float64Slice("floats", []float64{1.5, math.Inf(-1)}),
		attribute.Float64(semconv.DeadlineUsed, math.NaN()),
		attribute.String(bad, bad),
	}, events: []sdktrace.Event{{Name: bad, Time: time.Now()}}}.snapshot()
	sp.OnEnd(s)
	h := NewHandler(sp)
	id, tid := s.SpanContext().SpanID().String(), s.SpanContext().TraceID().String()
	for _, path := range []string{"/", "/spans", "/spans/" + id, "/traces/" + tid, "/api/summary"} {
		if code, body := grpctest.Get(t, h, path); code != 200 {
			t.Errorf("GET %s = %d %.200s; want 200", path, code, body)
		}
	}
	for _, path := range []string{"/api/spans", "/api/spans/" + id} {
		code, body := grpctest.Get(t, h, path)
		var doc struct {
			Attributes map[string]any `json:"attributes"`
			Spans      []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"spans"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &doc) != nil {
			t.Errorf("GET %s = %d %.200s; want 200 and JSON", path, code, body)
			continue
		}
		attrs := doc.Attributes
		if len(doc.Spans) == 1 {
			attrs = doc.Spans[0].Attributes
		}
		got := fmt.Sprintln(attrs["nan"], attrs["inf"], attrs["floats"])
		if want := "NaN Infinity [1.5 -Infinity]\n"; got != want {
			t.Errorf("GET %s: nan, inf, floats = %s; want %s", path, got, want)
		}
	}
	code, body := grpctest.Get(t, h, "/api/traces/"+tid)
	td, err := parseOTLPJSON([]byte(body))
	if code != 200 || err != nil {
		t.Fatalf("GET /api/traces/%s = %d, %v; want OTLP JSON", tid, code, err)
	}
	got := td.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if n := got.Events[0].Name; !utf8.ValidString(n) || !strings.Contains(n, "\uFFFD") {
		t.Errorf("OTLP event name = %q; want invalid UTF-8 replaced by U+FFFD", got.Events[0].Name)
	}
	for _, kv := range got.Attributes {
		if kv.Key == "nan" && !math.IsNaN(kv.Value.GetDoubleValue()) {
			t.Errorf("OTLP nan attribute = %v; want NaN", kv.Value)
		}
	}
}

// TestMethodFilterTakesPartOfAName: a full method selects itself only; a
// service or a method name selects every method containing it, in any case.
func TestMethodFilterTakesPartOfAName(t *testing.T) {
	sp := NewSpanProcessor()
	for _, m := range []string{"user.UserService/FetchUser", "user.UserService/FetchUsers", "pay.Payments/Charge"} {
		sp.OnEnd(newUnary(m, "OK", time.Millisecond))
	}
	for _, tt := range []struct {
		filter string
		want   int
	}{
		{"user.UserService/FetchUser", 1}, {"fetchuser", 2}, {"user.UserService/", 2}, {"UserService", 2},
		{"Charge", 1}, {"nothing", 0}, {"", 3},
	} {
		if got := len(sp.Spans(Filter{Method: tt.filter})); got != tt.want {
			t.Errorf("Spans(Method %q) = %d; want %d", tt.filter, got, tt.want)
		}
	}
}
