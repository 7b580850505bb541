// Tests of debugz's rows against a real gRPC server and client
// instrumented with otelgrpc v0.65, the one generation that spells the
// code in rpc.response.status_code as grpc-go does ("NotFound"): v0.64 and
// before give a number in rpc.grpc.status_code (the root module's tests,
// on v0.46.1), v0.66 and after the canonical name (e2e's, on the newest).
package otelgrpce2e_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/rowtest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/stats"
)

// TestOtelgrpcRows: the calls are counted with their codes exactly (the
// server answers the call past its deadline CANCELLED: see
// grpctest.Service), from the Go spellings the spans carry. The workspace
// (go.work) builds this module on e2e's newest otelgrpc: there the test
// skips; .ci/run runs this module with GOWORK=off, on v0.65.
func TestOtelgrpcRows(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := grpctest.Start(t, tp, nil, nil)
	grpctest.DriveCodes(t, client)

	rowtest.Wait(t, sp, rowtest.DrivenCodes(grpctest.Method,
		map[string]uint64{"OK": 10, "NOT_FOUND": 5, "INTERNAL": 3, "CANCELLED": 1},
		map[string]uint64{"OK": 10, "NOT_FOUND": 5, "INTERNAL": 3, "DEADLINE_EXCEEDED": 1}))

	spelled := map[string]bool{}
	for _, s := range sp.Spans(debugz.Filter{}) {
		for _, kv := range s.Attributes {
			if kv.Key == "rpc.response.status_code" {
				spelled[kv.Value.AsString()] = true
			}
		}
	}
	got := slices.Sorted(maps.Keys(spelled))
	if spelled["NOT_FOUND"] {
		t.Skipf("spans spell the codes %q: the workspace picked a newer otelgrpc; run with GOWORK=off", got)
	}
	if want := []string{"Canceled", "DeadlineExceeded", "Internal", "NotFound", "OK"}; !slices.Equal(got, want) {
		t.Errorf("rpc.response.status_code values = %q; want %q (otelgrpc v0.65's spelling)", got, want)
	}
}

// TestOtelgrpcRetries: a call that grpc retried counts once in the
// client's row, by the code its caller saw, with grpcstats.WrapHandler on
// v0.65 as on the newest (e2e's TestOtelgrpcRetries says more).
func TestOtelgrpcRetries(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := grpctest.StartRetrying(t, tp, func(h stats.Handler) stats.Handler { return grpcstats.WrapHandler(h) })
	grpctest.DriveRetries(t, tp, client)
	rowtest.Wait(t, sp, rowtest.Retried(grpctest.Method,
		map[string]uint64{"OK": 3, "UNAVAILABLE": 9, "NOT_FOUND": 2},
		map[string]uint64{"OK": 3, "UNAVAILABLE": 1, "NOT_FOUND": 2}))
}
