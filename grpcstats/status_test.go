package grpcstats_test

import (
	"context"
	"strings"
	"testing"

	"github.com/debugz/debugz/internal/semconv"

	"github.com/debugz/debugz/internal/grpctest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// TestWrapHandlerStatusMessage: a call that fails with a caller's code (on
// which otelgrpc from v0.47 sets no status description on the server span)
// says why on both spans, whatever otelgrpc did with the span's status. A
// long message is cut.
func TestWrapHandlerStatusMessage(t *testing.T) {
	w := startWrapped(t)
	const why = "amount must be positive, got -58 cents"
	_, err := w.client.UnaryCall(context.Background(), &testpb.SimpleRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(codes.FailedPrecondition), Message: why}})
	if err == nil {
		t.Fatal("UnaryCall succeeded; want FAILED_PRECONDITION")
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
		s := w.span(t, testSvc+"UnaryCall", kind)
		if v, ok := attr(s, semconv.StatusMessage); !ok || v.AsString() != why {
			t.Errorf("%s span: %s = %q, %v; want %q", kind, semconv.StatusMessage, v.AsString(), ok, why)
		}
	}

	long := strings.Repeat("x", 5000)
	if _, err := w.client.EmptyCall(context.Background(), &testpb.Empty{}); err == nil {
		t.Fatal("EmptyCall succeeded; want UNIMPLEMENTED")
	}
	_, _ = w.client.UnaryCall(context.Background(), &testpb.SimpleRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: long}})
	// The server span ends just after the client has its answer: wait for
	// all 6 spans (2 UnaryCall and 1 EmptyCall calls, both sides).
	var ended []sdktrace.ReadOnlySpan
	grpctest.WaitFor(t, "6 spans", func() bool { ended = w.rec.Ended(); return len(ended) == 6 })
	cutMessages := 0
	for _, s := range ended {
		v, ok := attr(s, semconv.StatusMessage)
		if ok && len(v.AsString()) > 1<<10 {
			t.Errorf("%s %s: status message of %d bytes; want at most 1 KiB", s.Name(), s.SpanKind(), len(v.AsString()))
		}
		if ok && strings.HasPrefix(v.AsString(), "xxx") && strings.HasSuffix(v.AsString(), "…") {
			cutMessages++
		}
	}
	if cutMessages != 2 {
		t.Errorf("%d spans carry the 5000-byte message cut; want 2 (server and client)", cutMessages)
	}
}

// TestWrapHandlerNoStatusMessageWhenOK: a successful call gets no message.
func TestWrapHandlerNoStatusMessageWhenOK(t *testing.T) {
	w := startWrapped(t)
	if _, err := w.client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
		if v, ok := attr(w.span(t, testSvc+"UnaryCall", kind), semconv.StatusMessage); ok {
			t.Errorf("%s span of an OK call: %s = %q; want none", kind, semconv.StatusMessage, v.AsString())
		}
	}
}
