package e2e_test

import (
	"context"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/rowtest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestNewHandlerBesideGRPCPlugin: with grpc-go's own OpenTelemetry plugin,
// which records no status code, and grpcstats.NewHandler registered before
// it on both sides, the debugz rows of the method count each code exactly,
// on the server and on the client, and carry message counts.
func TestNewHandlerBesideGRPCPlugin(t *testing.T) {
	sp, _, c := startPluginBeside(t, grpctest.Service{}, true)

	want := map[string]uint64{"OK": 3, "NOT_FOUND": 2, "INTERNAL": 1}
	calls := []codes.Code{codes.OK, codes.NotFound, codes.OK, codes.Internal, codes.NotFound, codes.OK}
	for _, code := range calls {
		req := &testpb.SimpleRequest{}
		if code != codes.OK {
			req.ResponseStatus = &testpb.EchoStatus{Code: int32(code), Message: "no"}
		}
		if _, err := c.UnaryCall(context.Background(), req); status.Code(err) != code {
			t.Fatalf("UnaryCall: %v; want %v", err, code)
		}
	}
	method := grpctest.Method + "UnaryCall"
	row := func(kind trace.SpanKind) *debugz.MethodStats {
		for i, m := range sp.Summary().Methods {
			if m.Method == method && m.Kind == kind {
				return &sp.Summary().Methods[i]
			}
		}
		return nil
	}
	grpctest.WaitFor(t, "every server span", func() bool {
		r := row(trace.SpanKindServer)
		return r != nil && r.Count == uint64(len(calls))
	})
	for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
		r := row(kind)
		if r == nil {
			t.Fatalf("no %s row of %s in %+v", kind, method, sp.Summary().Methods)
		}
		got := rowtest.CodeNames(r.Codes)
		if r.Count != uint64(len(calls)) || len(got) != len(want) {
			t.Errorf("%s row: %d calls, codes %v; want %d, %v", kind, r.Count, got, len(calls), want)
		}
		for code, n := range want {
			if got[code] != n {
				t.Errorf("%s row: Codes[%s] = %d; want %d (all: %v)", kind, code, got[code], n, got)
			}
		}
		if r.MessageCalls != uint64(len(calls)) {
			t.Errorf("%s row: %d calls with message counts; want %d", kind, r.MessageCalls, len(calls))
		}
	}
}
