package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/rowtest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// TestCaptureRealGRPC drives every kind of call through a real gRPC server
// and client with otelgrpc, and reads the processor's Go API: the summary's
// rows and codes, a deadline's trace, the error and limit filters, and no
// call left in flight.
func TestCaptureRealGRPC(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	grpctest.DriveAllKinds(t, grpctest.Start(t, tp, nil, nil))
	grpctest.WaitFor(t, "14 spans", func() bool { return len(sp.Spans(debugz.Filter{})) == 14 })

	sum := sp.Summary()
	type key struct {
		method string
		kind   trace.SpanKind
	}
	rows := map[key]debugz.MethodStats{}
	for _, m := range sum.Methods {
		rows[key{m.Method, m.Kind}] = m
	}
	tests := []struct {
		method string
		kind   trace.SpanKind
		count  uint64
		codes  map[string]uint64
	}{
		{grpctest.Method + "UnaryCall", trace.SpanKindClient, 4, map[string]uint64{"OK": 2, "NOT_FOUND": 1, "DEADLINE_EXCEEDED": 1}},
		{grpctest.Method + "UnaryCall", trace.SpanKindServer, 4, map[string]uint64{"OK": 2, "NOT_FOUND": 1, "CANCELLED": 1}},
		{grpctest.Method + "StreamingOutputCall", trace.SpanKindServer, 1, map[string]uint64{"OK": 1}},
		{grpctest.Method + "StreamingOutputCall", trace.SpanKindClient, 1, map[string]uint64{"OK": 1}},
		{grpctest.Method + "StreamingInputCall", trace.SpanKindServer, 1, map[string]uint64{"OK": 1}},
		{grpctest.Method + "StreamingInputCall", trace.SpanKindClient, 1, map[string]uint64{"OK": 1}},
		{grpctest.Method + "FullDuplexCall", trace.SpanKindServer, 1, map[string]uint64{"OK": 1}},
		{grpctest.Method + "FullDuplexCall", trace.SpanKindClient, 1, map[string]uint64{"OK": 1}},
	}
	if len(sum.Methods) != len(tests) {
		t.Errorf("Summary() has %d rows; want %d", len(sum.Methods), len(tests))
	}
	for _, tt := range tests {
		r, ok := rows[key{tt.method, tt.kind}]
		if !ok {
			t.Errorf("no %v row for %q", tt.kind, tt.method)
			continue
		}
		got := rowtest.CodeNames(r.Codes)
		if r.Count != tt.count || len(got) != len(tt.codes) {
			t.Errorf("%v %q: count %d codes %v; want %d %v", tt.kind, tt.method, r.Count, got, tt.count, tt.codes)
		}
		for c, n := range tt.codes {
			if got[c] != n {
				t.Errorf("%v %q: Codes[%s] = %d; want %d", tt.kind, tt.method, c, got[c], n)
			}
		}
		if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 || r.Last1m.Count == 0 || r.LastSeen.IsZero() {
			t.Errorf("%v %q: p50 %v p99 %v max %v rate %v last %v; want ordered, positive", tt.kind, tt.method, r.P50, r.P99, r.Max, r.Last1m.Count, r.LastSeen)
		}
	}
	if r := rows[key{grpctest.Method + "UnaryCall", trace.SpanKindClient}]; r.Errors != 2 {
		t.Errorf("client UnaryCall errors = %d; want 2", r.Errors)
	}

	// The deadline: client DEADLINE_EXCEEDED and server CANCELLED share one trace.
	dl := codes.DeadlineExceeded
	got := sp.Spans(debugz.Filter{Code: &dl})
	if len(got) != 1 || got[0].Kind != trace.SpanKindClient || got[0].Duration < 50*time.Millisecond {
		t.Fatalf("Spans(DEADLINE_EXCEEDED) = %d spans; want the one client call of ≥ 50ms", len(got))
	}
	tr := sp.Trace(got[0].TraceID)
	if len(tr) != 2 || tr[0].Kind != trace.SpanKindClient || tr[1].Kind != trace.SpanKindServer ||
		tr[1].Code != codes.Canceled || tr[1].Parent.SpanID() != tr[0].SpanID {
		t.Errorf("Trace(deadline) = %d spans; want client then its server child with CANCELLED", len(tr))
	}

	errs := sp.Spans(debugz.Filter{ErrorsOnly: true, Kind: trace.SpanKindServer})
	if len(errs) != 2 {
		t.Errorf("Spans(server errors) = %d; want 2 (NOT_FOUND, CANCELLED)", len(errs))
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].End.After(errs[i-1].End) {
			t.Errorf("Spans not newest first")
		}
	}
	if lim := sp.Spans(debugz.Filter{Limit: 3}); len(lim) != 3 {
		t.Errorf("Spans(limit 3) = %d; want 3", len(lim))
	}
	if act := sp.Active(); len(act) != 0 {
		t.Errorf("Active() = %d after all calls returned; want 0", len(act))
	}
}
