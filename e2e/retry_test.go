package e2e_test

import (
	"context"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/rowtest"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

var (
	// attemptCodes are the codes of the attempts grpctest.DriveRetries makes.
	attemptCodes = map[string]uint64{"OK": 3, "UNAVAILABLE": 9, "NOT_FOUND": 2}
	// callCodes are the codes its callers see.
	callCodes = map[string]uint64{"OK": 3, "UNAVAILABLE": 1, "NOT_FOUND": 2}
)

// startRetrying returns a processor and a client of grpctest.FailFirst with
// otelgrpc on both sides, wrapped as wrap says, retrying UnaryCall.
func startRetrying(t *testing.T, wrap grpctest.Wrap) (*debugz.SpanProcessor, *sdktrace.TracerProvider, testpb.TestServiceClient) {
	t.Helper()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return sp, tp, grpctest.StartRetrying(t, tp, wrap)
}

// TestOtelgrpcRetries: with otelgrpc and grpcstats.WrapHandler, a call that
// grpc retried counts once in the client's row, by the code its caller saw,
// Retried when it took more than one attempt, and is listed once, with its
// attempts and the latency its caller saw; its earlier attempts are in its
// trace, as spans that are no calls, numbered; the server's row counts
// every attempt it answered, and marks the retries. grpcstats.NewHandler
// before otelgrpc does the same.
func TestOtelgrpcRetries(t *testing.T) {
	for _, c := range []struct {
		name string
		wrap grpctest.Wrap
	}{
		{"WrapHandler", func(h stats.Handler) stats.Handler { return grpcstats.WrapHandler(h) }},
		{"NewHandler beside", func(h stats.Handler) stats.Handler { return grpctest.InOrder(false, grpcstats.NewHandler(), h) }},
	} {
		t.Run(c.name, func(t *testing.T) { testOtelgrpcRetries(t, c.wrap) })
	}
}

func testOtelgrpcRetries(t *testing.T, wrap grpctest.Wrap) {
	sp, tp, client := startRetrying(t, wrap)
	traces, took := grpctest.DriveRetries(t, tp, client)
	rowtest.Wait(t, sp, rowtest.Retried(grpctest.Method, attemptCodes, callCodes))

	method := grpctest.Method + "UnaryCall"
	if n := sp.Count(debugz.Filter{Kind: trace.SpanKindClient, Method: method}); n != len(grpctest.RetryCalls) {
		t.Errorf("Count(client spans) = %d; want %d, one per call", n, len(grpctest.RetryCalls))
	}
	unavailable := codes.Unavailable
	if got := sp.Spans(debugz.Filter{Kind: trace.SpanKindClient, Code: &unavailable}); len(got) != 1 {
		t.Errorf("Spans(client, UNAVAILABLE) = %d spans; want 1, the call that exhausted its attempts", len(got))
	}
	for i, c := range grpctest.RetryCalls {
		var call, attempts, server []debugz.Span
		for _, s := range sp.Trace(traces[i]) {
			switch {
			case s.Kind == trace.SpanKindServer:
				server = append(server, s)
			case s.Kind != trace.SpanKindClient:
			case s.Method != "":
				call = append(call, s)
			default:
				attempts = append(attempts, s)
			}
		}
		if len(call) != 1 || len(attempts) != c.Attempts-1 || len(server) != c.Attempts {
			t.Errorf("call that %s: trace has %d client calls, %d attempts, %d server calls; want 1, %d, %d",
				c.Name, len(call), len(attempts), len(server), c.Attempts-1, c.Attempts)
			continue
		}
		s := call[0]
		wantAttempts := c.Attempts // a call that succeeded at once is like any other: no attempts said
		if c.Attempts == 1 && c.Want == codes.OK {
			wantAttempts = 0
		}
		if s.Code != c.Want || s.Attempts != wantAttempts {
			t.Errorf("call that %s: code %v, Attempts %d; want %v, %d", c.Name, s.Code, s.Attempts, c.Want, wantAttempts)
		}
		for j, a := range attempts {
			if n := intAttr(a.Attributes, semconv.AttemptNumber); n != int64(j+1) || a.Code != codes.OK || a.Attempts != 0 {
				t.Errorf("call that %s: attempt span %d has number %d, Code %v, Attempts %d; want %d, OK, 0", c.Name, j, n, a.Code, a.Attempts, j+1)
			}
		}
		before := map[int64]bool{}
		for _, s := range server {
			before[intAttr(s.Attributes, semconv.AttemptPreviousAttempts)] = true
		}
		if len(before) != c.Attempts {
			t.Errorf("call that %s: server spans say %v attempts before them; want 0 to %d", c.Name, before, c.Attempts-1)
		}
		if c.Attempts > 1 {
			if s.Duration != s.End.Sub(attempts[0].Start) || s.Duration > took[i] {
				t.Errorf("call that %s: Duration %v; want what the caller saw, from its first attempt's start (%v) to its end, at most %v",
					c.Name, s.Duration, s.End.Sub(attempts[0].Start), took[i])
			}
		}
	}
}

// TestOtelgrpcRetriesWithoutGRPCStats: otelgrpc alone says nothing of
// retries, so each attempt counts as a call (as the README says): the
// client's row counts what the server's does.
func TestOtelgrpcRetriesWithoutGRPCStats(t *testing.T) {
	sp, tp, client := startRetrying(t, nil)
	grpctest.DriveRetries(t, tp, client)
	rows := rowtest.Retried(grpctest.Method, attemptCodes, attemptCodes)
	c := rows[rowtest.Client(grpctest.Method+"UnaryCall")]
	c.Retried = 0
	rows[rowtest.Client(grpctest.Method+"UnaryCall")] = c
	rowtest.Wait(t, sp, rows)
}

// TestGRPCPluginRetries: the same calls through grpc-go's plugin, with
// grpcstats.NewHandler beside it for exact codes: the plugin's call span
// holds its attempts, so each call counts once there too, with its attempts
// (NewHandler numbers none: the span it writes to is the call's).
func TestGRPCPluginRetries(t *testing.T) {
	sp, tp, client := startPluginBeside(t, grpctest.FailFirst{}, true, grpc.WithDefaultServiceConfig(grpctest.RetryConfig))
	traces, _ := grpctest.DriveRetries(t, tp, client)
	rowtest.Wait(t, sp, rowtest.Retried(grpctest.Method, attemptCodes, callCodes))
	for i, c := range grpctest.RetryCalls {
		var calls []debugz.Span
		for _, s := range sp.Trace(traces[i]) {
			if s.Kind == trace.SpanKindClient && s.Method != "" {
				calls = append(calls, s)
			}
		}
		if len(calls) != 1 || calls[0].Attempts != c.Attempts || calls[0].Code != c.Want {
			t.Errorf("call that %s: %d client calls in its trace; want 1 of %d attempts, code %v", c.Name, len(calls), c.Attempts, c.Want)
		} else if n := intAttr(calls[0].Attributes, semconv.AttemptNumber); n != 0 {
			t.Errorf("call that %s: the plugin's call span has %s %d; want none", c.Name, semconv.AttemptNumber, n)
		}
	}
}

func intAttr(kvs []attribute.KeyValue, key string) int64 {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.AsInt64()
		}
	}
	return 0
}
