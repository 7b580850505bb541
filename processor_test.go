package debugz

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/debugz/debugz/internal/semconv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// spanSeq makes span and trace IDs unique across a test binary.
var spanSeq struct {
	sync.Mutex
	n uint64
}

func nextIDs() (trace.TraceID, trace.SpanID) {
	spanSeq.Lock()
	spanSeq.n++
	n := spanSeq.n
	spanSeq.Unlock()
	var tid trace.TraceID
	var sid trace.SpanID
	for i := range 8 {
		b := byte(n >> (8 * i))
		tid[15-i], sid[7-i] = b, b
	}
	tid[0], sid[0] = 0xd0, 0xd0
	return tid, sid
}

// stub describes a finished span for OnEnd.
type stub struct {
	name   string
	kind   trace.SpanKind
	scope  string
	attrs  []attribute.KeyValue
	dur    time.Duration
	status otelcodes.Code
	desc   string // status description
	end    time.Time
	trace  trace.TraceID
	events []sdktrace.Event
}

func (s stub) snapshot() sdktrace.ReadOnlySpan {
	tid, sid := nextIDs()
	if s.trace.IsValid() {
		tid = s.trace
	}
	end := s.end
	if end.IsZero() {
		end = time.Now()
	}
	return tracetest.SpanStub{
		Name:                 s.name,
		SpanKind:             s.kind,
		SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
		StartTime:            end.Add(-s.dur),
		EndTime:              end,
		Attributes:           s.attrs,
		Events:               s.events,
		Status:               sdktrace.Status{Code: s.status, Description: s.desc},
		InstrumentationScope: instrumentation.Scope{Name: s.scope},
	}.Snapshot()
}

// newUnary is an otelgrpc ≥ v0.67 server span.
func newUnary(method string, code string, dur time.Duration) sdktrace.ReadOnlySpan {
	return stub{name: method, kind: trace.SpanKindServer, scope: otelgrpcScope, dur: dur, attrs: []attribute.KeyValue{
		attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", method),
		attribute.String("server.address", "127.0.0.1"), attribute.String("rpc.response.status_code", code),
	}}.snapshot()
}

func TestOnEndRecognisesEveryOtelgrpcGeneration(t *testing.T) {
	const full = "user.UserService/FetchUser"
	tests := []struct {
		name       string
		span       stub
		wantMethod string // "" when not a gRPC span
		wantCode   codes.Code
	}{
		{name: "v0.64 old attributes, int code", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "user.UserService"),
			attribute.String("rpc.method", "FetchUser"), attribute.Int64("rpc.grpc.status_code", 5)}},
			wantMethod: full, wantCode: codes.NotFound},
		{name: "v0.64 old attributes, name differs", span: stub{name: "custom", kind: trace.SpanKindClient, attrs: []attribute.KeyValue{
			attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "user.UserService"),
			attribute.String("rpc.method", "FetchUser"), attribute.Int64("rpc.grpc.status_code", 0)}},
			wantMethod: full, wantCode: codes.OK},
		{name: "v0.65 Go spelling", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", full),
			attribute.String("rpc.response.status_code", "DeadlineExceeded")}},
			wantMethod: full, wantCode: codes.DeadlineExceeded},
		{name: "v0.66+ canonical spelling", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", full),
			attribute.String("rpc.response.status_code", "NOT_FOUND")}},
			wantMethod: full, wantCode: codes.NotFound},
		{name: "v0.68 rpc/dup: both conventions", span: stub{name: full, kind: trace.SpanKindClient, attrs: []attribute.KeyValue{
			attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "user.UserService"),
			attribute.String("rpc.method", full), attribute.String("rpc.system.name", "grpc"),
			attribute.String("rpc.response.status_code", "CANCELLED")}},
			wantMethod: full, wantCode: codes.Canceled},
		{name: "server NOT_FOUND with status Unset", span: stub{name: full, kind: trace.SpanKindServer, status: otelcodes.Unset,
			attrs: []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.response.status_code", "NOT_FOUND")}},
			wantMethod: full, wantCode: codes.NotFound},
		{name: "no method attribute: span name", span: stub{name: full, kind: trace.SpanKindServer,
			attrs: []attribute.KeyValue{attribute.String("rpc.system.name", "grpc")}},
			wantMethod: full, wantCode: codes.OK},
		{name: "otelgrpc scope, no attributes, error status", span: stub{name: full, kind: trace.SpanKindClient, scope: otelgrpcScope, status: otelcodes.Error},
			wantMethod: full, wantCode: codes.Unknown},
		{name: "unknown code string", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.response.status_code", "WAT")}},
			wantMethod: full, wantCode: codes.Unknown},
		{name: "out-of-range int code", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system", "grpc"), attribute.Int64("rpc.grpc.status_code", 99)}},
			wantMethod: full, wantCode: codes.Unknown},
		{name: "old key, code as a string number", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system", "grpc"), attribute.String("rpc.grpc.status_code", "5")}},
			wantMethod: full, wantCode: codes.NotFound},
		{name: "old key, code as a bool", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system", "grpc"), attribute.Bool("rpc.grpc.status_code", true)}},
			wantMethod: full, wantCode: codes.Unknown},
		{name: "new key, code as a float", span: stub{name: full, kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
			attribute.String("rpc.system.name", "grpc"), attribute.Float64("rpc.response.status_code", 0)}},
			wantMethod: full, wantCode: codes.Unknown},
		{name: "internal child span is not gRPC", span: stub{name: "getBalance.logic", kind: trace.SpanKindInternal,
			attrs: []attribute.KeyValue{attribute.String("user.id", "42")}}},
		{name: "gRPC attributes on an internal span", span: stub{name: full, kind: trace.SpanKindInternal,
			attrs: []attribute.KeyValue{attribute.String("rpc.system.name", "grpc")}}},
		{name: "HTTP server span", span: stub{name: "GET /users/{id}", kind: trace.SpanKindServer,
			attrs: []attribute.KeyValue{attribute.String("http.request.method", "GET")}}},
		{name: "other RPC system", span: stub{name: full, kind: trace.SpanKindServer,
			attrs: []attribute.KeyValue{attribute.String("rpc.system", "apache_dubbo")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkRecognised(t, tt.span, tt.wantMethod, tt.wantCode) })
	}
}

func TestBucketsAreDisjointAndSumToCount(t *testing.T) {
	sp := NewSpanProcessor()
	durs := []time.Duration{0, 99 * time.Microsecond, 100 * time.Microsecond, 999 * time.Microsecond,
		time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, time.Second, 11 * time.Second}
	want := []uint64{2, 2, 1, 1, 1, 1, 1}
	for _, d := range durs {
		sp.OnEnd(newUnary("a.S/M", "OK", d))
	}
	m := sp.Summary().Methods[0]
	if !slices.Equal(m.Buckets, want) {
		t.Errorf("Buckets = %v; want %v", m.Buckets, want)
	}
	if m.Max != 11*time.Second {
		t.Errorf("Max = %v; want 11s", m.Max)
	}
	b := 3
	got := sp.Spans(Filter{Bucket: &b})
	if len(got) != 1 || got[0].Duration != 50*time.Millisecond || got[0].Duration < sp.bucketBounds()[3] {
		t.Errorf("Spans(bucket 3) = %d spans; want the one of 50ms", len(got))
	}
}

func TestWithBucketBounds(t *testing.T) {
	sp := NewSpanProcessor(WithBucketBounds(time.Second, 10*time.Millisecond, time.Second))
	got := sp.Summary().BucketBounds
	want := []time.Duration{0, 10 * time.Millisecond, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("BucketBounds = %v; want %v", got, want)
	}
	sp.OnEnd(newUnary("a.S/M", "OK", 20*time.Millisecond))
	if b := sp.Summary().Methods[0].Buckets; !slices.Equal(b, []uint64{0, 1, 0}) {
		t.Errorf("Buckets = %v; want [0 1 0]", b)
	}
}

func TestQuantilesWithinFewPercent(t *testing.T) {
	sp := NewSpanProcessor()
	rng := rand.New(rand.NewPCG(1, 2))
	var durs []time.Duration
	for range 20000 {
		// log-uniform between 10µs and 2s
		d := time.Duration(float64(10*time.Microsecond) * math.Pow(200000, rng.Float64()))
		durs = append(durs, d)
		sp.OnEnd(newUnary("a.S/M", "OK", d))
	}
	slices.Sort(durs)
	m := sp.Summary().Methods[0]
	for _, q := range []struct {
		name string
		got  time.Duration
		p    float64
	}{{"p50", m.P50, 0.5}, {"p90", m.P90, 0.9}, {"p99", m.P99, 0.99}} {
		exact := durs[int(q.p*float64(len(durs)))-1]
		if rel := float64(q.got-exact) / float64(exact); rel > 0.035 || rel < -0.035 {
			t.Errorf("%s = %v; exact %v (off by %.1f%%)", q.name, q.got, exact, rel*100)
		}
	}
	if m.Max != durs[len(durs)-1] {
		t.Errorf("Max = %v; want %v", m.Max, durs[len(durs)-1])
	}
}

func TestHistIndexRoundTrip(t *testing.T) {
	for _, ns := range []int64{0, 1, 31, 32, 33, 63, 64, 1000, 123456789, 1 << 39, 1<<40 - 1} {
		i := histIndex(ns)
		lo, w := histRange(i)
		if ns < lo || ns >= lo+w {
			t.Errorf("histIndex(%d) = %d, range [%d, %d); want it to hold %d", ns, i, lo, lo+w, ns)
		}
		if w > 1 && float64(w)/float64(lo) > 1.0/16+1e-9 {
			t.Errorf("bucket %d is %d wide at %d: more than 1/16", i, w, lo)
		}
	}
	if got := histIndex(1 << 50); got != histBuckets-1 {
		t.Errorf("histIndex(2^50) = %d; want last bucket %d", got, histBuckets-1)
	}
}

func TestRareErrorSurvivesFlood(t *testing.T) {
	sp := NewSpanProcessor()
	rare := newUnary("quiet.Svc/Rare", "INTERNAL", 3*time.Millisecond)
	sp.OnEnd(rare)
	for range 200_000 {
		sp.OnEnd(newUnary("hot.Svc/Hot", "OK", 200*time.Microsecond))
	}
	code := codes.Internal
	got := sp.Spans(Filter{Code: &code})
	if len(got) != 1 || got[0].SpanID != rare.SpanContext().SpanID() || got[0].Method != "quiet.Svc/Rare" {
		t.Fatalf("Spans(code INTERNAL) after flood = %d spans; want the one rare INTERNAL", len(got))
	}
	if _, ok := sp.Span(rare.SpanContext().SpanID()); !ok {
		t.Errorf("Span(rare) not found after flood")
	}
	errs := sp.Spans(Filter{ErrorsOnly: true, Method: "quiet.Svc/Rare"})
	if len(errs) != 1 {
		t.Errorf("Spans(errors of quiet.Svc/Rare) = %d; want 1", len(errs))
	}
	sum := sp.Summary()
	if sum.Evicted != 200_001-defaultMaxSpans || sum.Retained != defaultMaxSpans {
		t.Errorf("Summary evicted %d retained %d; want %d %d", sum.Evicted, sum.Retained, 200_001-defaultMaxSpans, defaultMaxSpans)
	}
}

func TestCardinalityIsCapped(t *testing.T) {
	const methods = 100_000
	sp := NewSpanProcessor()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range methods {
		sp.OnEnd(newUnary(fmt.Sprintf("svc.S%d/M", i), "OK", time.Millisecond))
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	sum := sp.Summary()
	if len(sum.Methods) != defaultMaxMethods+1 {
		t.Errorf("rows = %d; want %d plus one overflow row", len(sum.Methods), defaultMaxMethods)
	}
	var total uint64
	var overflow *MethodStats
	for i, m := range sum.Methods {
		total += m.Count
		if m.Method == OverflowMethod {
			overflow = &sum.Methods[i]
		}
	}
	if total != methods {
		t.Errorf("sum of counts = %d; want %d", total, methods)
	}
	if overflow == nil || overflow.Count != methods-defaultMaxMethods {
		t.Errorf("overflow row = %+v; want count %d", overflow, methods-defaultMaxMethods)
	}
	// 512 rows of ~12 KiB and the rings: well under 64 MiB, whatever the method count.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
		t.Errorf("heap grew by %d MiB for %d methods; want a bounded size", grown>>20, methods)
	}
	got := sp.Spans(Filter{Method: "svc.S99999/M"})
	if len(got) != 1 {
		t.Errorf("Spans(method of overflow row) = %d; want 1 with its real method", len(got))
	}
	over := sp.Spans(Filter{Method: OverflowMethod, Limit: 5})
	if len(over) != 5 || over[0].Method == OverflowMethod {
		t.Errorf("Spans(OverflowMethod) = %d spans; want 5, each with its real method", len(over))
	}
}

func TestHugeAttributeIsTruncated(t *testing.T) {
	sp := NewSpanProcessor()
	big := strings.Repeat("x", 4<<20)
	s := stub{name: "a.S/M", kind: trace.SpanKindServer, attrs: []attribute.KeyValue{
		attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M"),
		attribute.String("payload", big), attribute.String("rpc.response.status_code", "OK")}}.snapshot()
	sp.OnEnd(s)
	got, ok := sp.Span(s.SpanContext().SpanID())
	if !ok || !got.Truncated {
		t.Fatalf("Span(huge) = truncated %v, found %v; want a truncated copy", got.Truncated, ok)
	}
	var size int
	var payload string
	for _, kv := range got.Attributes {
		size += len(kv.Key) + len(kv.Value.String())
		if kv.Key == "payload" {
			payload = kv.Value.AsString()
		}
	}
	if size > defaultMaxSpanBytes+100 {
		t.Errorf("kept %d bytes of attributes; want about %d at most", size, defaultMaxSpanBytes)
	}
	if !strings.Contains(payload, "[truncated ") || !strings.HasPrefix(payload, "xxxx") {
		t.Errorf("payload = %.40q…; want a marked truncated prefix", payload)
	}
	if sp.Summary().Methods[0].Count != 1 {
		t.Errorf("truncated span not counted")
	}
	small := newUnary("a.S/M", "OK", time.Millisecond)
	sp.OnEnd(small)
	if got, _ := sp.Span(small.SpanContext().SpanID()); got.Truncated {
		t.Errorf("small span truncated")
	}
}

func TestHealthChecksIgnoredByDefault(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		method  string
		counted bool
	}{
		{"health by default", nil, "grpc.health.v1.Health/Check", false},
		{"other method", nil, "a.S/M", true},
		{"health when list cleared", []Option{WithIgnoredMethods()}, "grpc.health.v1.Health/Check", true},
		{"exact entry", []Option{WithIgnoredMethods("a.S/M")}, "a.S/M", false},
		{"service prefix needs slash", []Option{WithIgnoredMethods("a.S/*")}, "a.SX/M", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := NewSpanProcessor(tt.opts...)
			sp.OnEnd(newUnary(tt.method, "OK", time.Millisecond))
			if got := len(sp.Summary().Methods) == 1; got != tt.counted {
				t.Errorf("counted %q = %v; want %v", tt.method, got, tt.counted)
			}
		})
	}
}

func TestShutdownIsIdempotentAndKeepsData(t *testing.T) {
	sp := NewSpanProcessor()
	sp.OnEnd(newUnary("a.S/M", "OK", time.Millisecond))
	for range 2 {
		if err := sp.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown() = %v; want nil", err)
		}
	}
	sp.OnEnd(newUnary("a.S/M", "OK", time.Millisecond))
	if n := sp.Summary().Methods[0].Count; n != 1 {
		t.Errorf("count after Shutdown = %d; want 1 (later spans ignored, earlier kept)", n)
	}
}

func TestActiveTracksInFlight(t *testing.T) {
	sp := NewSpanProcessor(WithMaxActive(48)) // 3 per shard
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer(otelgrpcScope)
	var many []trace.Span
	t0 := time.Now()
	for i := range 100 {
		_, s := tr.Start(context.Background(), "a.S/Many", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(t0.Add(time.Duration(i)*time.Millisecond)))
		many = append(many, s)
	}
	// Started last, so a full table makes room for it by pushing out an older RPC.
	_, first := tr.Start(context.Background(), "a.S/Slow", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(t0.Add(time.Second)))
	_, child := tr.Start(context.Background(), "a.logic", trace.WithSpanKind(trace.SpanKindInternal))
	act := sp.Active()
	if len(act) > 48 || len(act) < 16 || act[len(act)-1].Method != "a.S/Slow" {
		t.Fatalf("Active() = %d RPCs, last %q; want 16..48 (capped), the newest, a.S/Slow, kept and last",
			len(act), act[len(act)-1].Method)
	}
	if ev := sp.Summary().ActiveEvicted; int(ev) != 101-len(act) {
		t.Errorf("Summary().ActiveEvicted = %d; want the %d RPCs pushed out", ev, 101-len(act))
	}
	rows := sp.Summary().Methods
	if len(rows) != 2 || rows[1].Method != "a.S/Slow" || rows[1].Active != 1 || rows[1].Count != 0 {
		t.Errorf("Summary() = %+v; want in-flight rows with no finished RPCs", rows)
	}
	first.End()
	child.End()
	for _, s := range many {
		s.End()
	}
	if act := sp.Active(); len(act) != 0 {
		t.Errorf("Active() after End = %d; want 0", len(act))
	}
}

func TestProcessorConcurrentSafe(t *testing.T) {
	sp := NewSpanProcessor(WithMaxSpans(256), WithMaxMethods(8))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer(otelgrpcScope)
	var writersDone, readerDone sync.WaitGroup
	const writers, each = 4, 2000
	for w := range writers {
		writersDone.Go(func() {
			for i := range each {
				_, s := tr.Start(context.Background(), fmt.Sprintf("svc.S/M%d", (w*each+i)%12), trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(attribute.String("rpc.system.name", "grpc")))
				s.SetAttributes(attribute.String("rpc.response.status_code", CodeName(codes.Code(i%17))))
				s.End()
			}
		})
	}
	done := make(chan struct{}) // closed when the writers are done: the reader runs as long as they do
	readerDone.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			sp.Summary()
			sp.Spans(Filter{ErrorsOnly: true, Limit: 10})
			sp.Active()
		}
	})
	for range 3 {
		sum := sp.Summary()
		for _, m := range sum.Methods {
			var b uint64
			for _, n := range m.Buckets {
				b += n
			}
			if b != m.Count {
				t.Errorf("row %q: buckets sum %d != count %d", m.Method, b, m.Count)
			}
		}
	}
	writersDone.Wait()
	close(done)
	readerDone.Wait()
	var total uint64
	for _, m := range sp.Summary().Methods {
		total += m.Count
	}
	if total != writers*each {
		t.Errorf("total count = %d; want %d", total, writers*each)
	}
}

func TestLongRunningRPCStaysInFlight(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer(otelgrpcScope)
	_, chat := tr.Start(context.Background(), "a.S/Chat", trace.WithSpanKind(trace.SpanKindServer))
	for range 5 * defaultMaxActive {
		_, s := tr.Start(context.Background(), "a.S/Quick", trace.WithSpanKind(trace.SpanKindServer))
		s.End()
	}
	act := sp.Active()
	if len(act) != 1 || act[0].Method != "a.S/Chat" {
		t.Fatalf("Active() = %d RPCs; want only the long-running a.S/Chat", len(act))
	}
	chat.End()
	if act := sp.Active(); len(act) != 0 {
		t.Errorf("Active() after the stream ended = %d; want 0", len(act))
	}
	if n := sp.active.len(); n != 0 {
		t.Errorf("in-flight table holds %d spans after all ended; want 0", n)
	}
}

func TestActiveTableMatchesMap(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	tr := tp.Tracer("t")
	var spans []sdktrace.ReadWriteSpan
	t0 := time.Now()
	for i := range 300 {
		_, s := tr.Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(t0.Add(time.Duration(i)*time.Millisecond)))
		spans = append(spans, s.(sdktrace.ReadWriteSpan))
	}
	var table activeTable
	table.init(64)                  // 4 per shard in 8 slots: long probe runs, many shifts
	model := map[trace.SpanID]int{} // span → the step it was added at
	perShard := map[int]int{}
	evicted := uint64(0)
	rng := rand.New(rand.NewPCG(3, 4))
	for step := range 50_000 {
		s := spans[rng.IntN(len(spans))]
		id := s.SpanContext().SpanID()
		key := activeKey(s.SpanContext())
		shard := int(key % activeShards)
		if rng.IntN(2) == 0 {
			table.add(key, s)
			if _, ok := model[id]; !ok {
				if perShard[shard] == table.perShard { // full: the shard's oldest goes
					oldest, oldestID := step, trace.SpanID{}
					for mid, added := range model {
						var sid [8]byte = mid
						if int(binary.LittleEndian.Uint64(sid[:])%activeShards) == shard && added < oldest {
							oldest, oldestID = added, mid
						}
					}
					delete(model, oldestID)
					perShard[shard]--
					evicted++
				}
				model[id] = step
				perShard[shard]++
			}
		} else {
			table.remove(key)
			if _, ok := model[id]; ok {
				delete(model, id)
				perShard[shard]--
			}
		}
		got := map[trace.SpanID]bool{}
		lastAdded := map[int]int{} // by shard: each shard's spans come oldest first
		for _, s := range table.spans(0) {
			id := s.span.SpanContext().SpanID()
			got[id] = true
			shard := int(activeKey(s.span.SpanContext()) % activeShards)
			if added, ok := lastAdded[shard]; ok && model[id] < added {
				t.Fatalf("step %d: shard %d lists a span added at step %d after one added at step %d", step, shard, model[id], added)
			}
			lastAdded[shard] = model[id]
		}
		if len(got) != len(model) || table.len() != len(model) || table.evicted.Load() != evicted {
			t.Fatalf("step %d: table holds %d (len %d, %d evicted); model %d (%d evicted)",
				step, len(got), table.len(), table.evicted.Load(), len(model), evicted)
		}
		for id := range model {
			if !got[id] {
				t.Fatalf("step %d: span %s lost from the table", step, id)
			}
		}
	}
	// Aging out: every span started before the 150th is forgotten and counted.
	before := len(model)
	kept := table.spans(t0.Add(150 * time.Millisecond).UnixNano())
	for _, s := range kept {
		if s.span.StartTime().Before(t0.Add(150 * time.Millisecond)) {
			t.Errorf("spans(ageOut) kept a span started at +%v", s.span.StartTime().Sub(t0))
		}
	}
	if got := table.evicted.Load() - evicted; int(got) != before-len(kept) || table.len() != len(kept) {
		t.Errorf("aging out evicted %d, table holds %d; want %d evicted, %d held", got, table.len(), before-len(kept), len(kept))
	}
}

func TestMessageCountsFromAttributesOrOldEvents(t *testing.T) {
	base := []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/Stream"),
		attribute.String("rpc.response.status_code", "OK")}
	msgEvent := func(typ string, size int64) sdktrace.Event {
		return sdktrace.Event{Name: "message", Attributes: []attribute.KeyValue{
			attribute.String("message.type", typ), attribute.Int64("message.uncompressed_size", size)}}
	}
	wrapped := append(slices.Clone(base), attribute.Int64(semconv.MessagesSent, 3), attribute.Int64(semconv.MessagesReceived, 1),
		attribute.Int64(semconv.BytesSent, 300), attribute.Int64(semconv.BytesReceived, 10), attribute.Float64(semconv.DeadlineUsed, 0.95))
	tests := []struct {
		name                        string
		attrs                       []attribute.KeyValue
		events                      []sdktrace.Event
		sent, received, bytes, near uint64
		known                       bool
	}{
		{"grpcstats.WrapHandler attributes", wrapped, nil, 3, 1, 300, 1, true},
		{"old otelgrpc message events", base, []sdktrace.Event{msgEvent("RECEIVED", 10), msgEvent("SENT", 100), msgEvent("SENT", 200)}, 2, 1, 300, 0, true},
		{"both: attributes win, no double count", wrapped, []sdktrace.Event{msgEvent("SENT", 100), msgEvent("SENT", 200), msgEvent("SENT", 0)}, 3, 1, 300, 1, true},
		{"neither", base, []sdktrace.Event{{Name: "exception"}}, 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := NewSpanProcessor()
			s := stub{name: "a.S/Stream", kind: trace.SpanKindServer, attrs: tt.attrs, events: tt.events, dur: time.Millisecond}.snapshot()
			sp.OnEnd(s)
			m := sp.Summary().Methods[0]
			if m.MessagesSent != tt.sent || m.MessagesReceived != tt.received || m.BytesSent != tt.bytes || m.NearDeadline != tt.near {
				t.Errorf("row: sent %d received %d bytes %d near %d; want %d %d %d %d",
					m.MessagesSent, m.MessagesReceived, m.BytesSent, m.NearDeadline, tt.sent, tt.received, tt.bytes, tt.near)
			}
			if got := m.MessageCalls == 1; got != tt.known {
				t.Errorf("MessageCalls = %d; want known %v", m.MessageCalls, tt.known)
			}
			if got := len(sp.Spans(Filter{NearDeadline: true})); got != int(tt.near) {
				t.Errorf("Spans(NearDeadline) = %d; want %d", got, tt.near)
			}
			span, _ := sp.Span(s.SpanContext().SpanID())
			if span.MessagesKnown != tt.known || uint64(span.MessagesSent) != tt.sent || uint64(span.BytesSent) != tt.bytes {
				t.Errorf("Span: known %v sent %d bytes %d; want %v %d %d", span.MessagesKnown, span.MessagesSent, span.BytesSent, tt.known, tt.sent, tt.bytes)
			}
		})
	}
}

func TestReviewRegressions(t *testing.T) {
	t.Run("span ended before 1970 is counted, no panic", func(t *testing.T) {
		sp := NewSpanProcessor()
		sp.OnEnd(stub{name: "a.S/M", kind: trace.SpanKindServer, end: time.Unix(-5, 0), dur: time.Millisecond,
			attrs: []attribute.KeyValue{attribute.String("rpc.system.name", "grpc")}}.snapshot())
		if n := sp.Summary().Methods[0].Count; n != 1 {
			t.Errorf("count = %d; want 1", n)
		}
	})
	t.Run("Shutdown leaves nothing in flight", func(t *testing.T) {
		sp := NewSpanProcessor()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
		_, s := tp.Tracer(otelgrpcScope).Start(context.Background(), "a.S/Chat", trace.WithSpanKind(trace.SpanKindServer))
		if len(sp.Active()) != 1 {
			t.Fatalf("Active() before Shutdown = %d; want 1", len(sp.Active()))
		}
		_ = sp.Shutdown(context.Background())
		s.End()
		if n := len(sp.Active()); n != 0 {
			t.Errorf("Active() after Shutdown = %d; want 0", n)
		}
	})
	t.Run("a huge status message is cut", func(t *testing.T) {
		sp := NewSpanProcessor(WithMaxSpanBytes(1024))
		s := tracetest.SpanStub{Name: "a.S/M", SpanKind: trace.SpanKindClient,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{1}, SpanID: [8]byte{1}}),
			Attributes:  []attribute.KeyValue{attribute.String("rpc.system.name", "grpc")},
			Status:      sdktrace.Status{Code: otelcodes.Error, Description: strings.Repeat("e", 1<<20)}}.Snapshot()
		sp.OnEnd(s)
		got, _ := sp.Span(s.SpanContext().SpanID())
		if !got.Truncated || len(got.StatusMessage) > 1024 {
			t.Errorf("status message kept %d bytes, truncated %v; want ≤ 1024, truncated", len(got.StatusMessage), got.Truncated)
		}
	})
	t.Run("in-flight RPCs beyond the method cap count in the overflow row", func(t *testing.T) {
		sp := NewSpanProcessor(WithMaxMethods(1))
		sp.OnEnd(newUnary("a.S/One", "OK", time.Millisecond))
		sp.OnEnd(newUnary("a.S/Two", "OK", time.Millisecond))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
		_, s := tp.Tracer(otelgrpcScope).Start(context.Background(), "a.S/Three", trace.WithSpanKind(trace.SpanKindServer))
		defer s.End()
		rows := sp.Summary().Methods
		if len(rows) != 2 || rows[0].Method != OverflowMethod || rows[0].Active != 1 {
			t.Errorf("rows = %+v; want a.S/One and (overflow) with 1 in flight", rows)
		}
	})
}

func TestOnEndSurvivesItsOwnPanic(t *testing.T) {
	sp := NewSpanProcessor()
	func() {
		defer sp.survive()
		panic("a bug in debugz")
	}()
	if got := sp.Summary().Dropped; got != 1 {
		t.Errorf("Dropped = %d after a recovered panic; want 1", got)
	}
}

func TestRecentLatencyForgetsOldMinutes(t *testing.T) {
	sp := NewSpanProcessor()
	attrs := []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.response.status_code", "OK")}
	old := time.Now().Add(-5 * time.Minute)
	for range 1000 {
		sp.OnEnd(stub{name: "a.S/M", kind: trace.SpanKindServer, attrs: attrs, dur: time.Second, end: old}.snapshot())
	}
	for range 100 {
		sp.OnEnd(stub{name: "a.S/M", kind: trace.SpanKindServer, attrs: attrs, dur: time.Millisecond}.snapshot())
	}
	m := sp.Summary().Methods[0]
	if m.P50 < 900*time.Millisecond {
		t.Errorf("since-start P50 = %v; want about 1s (1000 of 1100 calls)", m.P50)
	}
	r := m.Recent
	if r.Count != 100 || r.P50 < 900*time.Microsecond || r.P50 > 1100*time.Microsecond || r.Max != time.Millisecond {
		t.Errorf("Recent = %+v; want the 100 calls of ~1ms of this minute only", r)
	}
}

// TestStatusMessageFromWrapper: a server span whose status otelgrpc left
// without a description gives the message grpcstats.WrapHandler recorded;
// a span status description wins over it.
func TestStatusMessageFromWrapper(t *testing.T) {
	sp := NewSpanProcessor()
	base := []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "a.S"),
		attribute.String("rpc.method", "M"), attribute.Int64("rpc.grpc.status_code", 9)}
	server := stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond,
		attrs: append(slices.Clip(base), attribute.String(semconv.StatusMessage, "amount must be positive"))}.snapshot()
	client := stub{name: "a.S/M", kind: trace.SpanKindClient, dur: time.Millisecond, status: otelcodes.Error, desc: "from the span status",
		attrs: append(slices.Clip(base), attribute.String(semconv.StatusMessage, "from the wrapper"))}.snapshot()
	sp.OnEnd(server)
	sp.OnEnd(client)
	for _, tt := range []struct {
		s    sdktrace.ReadOnlySpan
		want string
	}{{server, "amount must be positive"}, {client, "from the span status"}} {
		got, ok := sp.Span(tt.s.SpanContext().SpanID())
		if !ok || got.StatusMessage != tt.want {
			t.Errorf("%s span: StatusMessage = %q, %v; want %q", tt.s.SpanKind(), got.StatusMessage, ok, tt.want)
		}
	}
}

// TestWindowsAndFaults: the last minute and the last 10 minutes count only
// the calls that ended in them, beside the totals since start; faults are
// the errors the server caused, not the caller's.
func TestWindowsAndFaults(t *testing.T) {
	sp := NewSpanProcessor()
	now := time.Now()
	call := func(code int64, ago time.Duration) {
		sp.OnEnd(stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond, end: now.Add(-ago),
			attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "a.S"),
				attribute.String("rpc.method", "M"), attribute.Int64("rpc.grpc.status_code", code)}}.snapshot())
	}
	call(0, 0)                // OK, now
	call(5, time.Second)      // NOT_FOUND, the caller's
	call(14, 2*time.Second)   // UNAVAILABLE, a fault
	call(13, 3*time.Minute)   // INTERNAL, a fault, 3 minutes ago
	call(3, 3*time.Minute)    // INVALID_ARGUMENT, 3 minutes ago
	call(2, 30*time.Minute)   // UNKNOWN, a fault, long ago
	call(0, 30*time.Minute+1) // OK, long ago
	sum := sp.Summary()
	if len(sum.Methods) != 1 {
		t.Fatalf("%d rows; want 1", len(sum.Methods))
	}
	m := sum.Methods[0]
	got := fmt.Sprintf("total %d/%d/%d 1m %v 10m %v", m.Count, m.Errors, m.Faults, m.Last1m, m.Last10m)
	want := "total 7/5/3 1m {3 2 1} 10m {5 4 2}"
	if got != want {
		t.Errorf("counts = %s; want %s", got, want)
	}
}
