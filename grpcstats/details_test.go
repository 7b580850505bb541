package grpcstats_test

import (
	"context"
	"strings"
	"testing"

	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/semconv"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestStatusDetails: a call that ends with a status carrying details gets
// one event per detail on both sides' spans, with WrapHandler and with
// NewHandler, its type and its redacted text.
func TestStatusDetails(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    setup
	}{
		{"WrapHandler", setup{wrap: true}},
		{"NewHandler", setup{beside: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := start(t, tt.s)
			req := &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.FailedPrecondition), Message: grpctest.WithDetails}}
			_, err := w.client.UnaryCall(context.Background(), req)
			if status.Code(err) != codes.FailedPrecondition || len(status.Convert(err).Details()) != 2 {
				t.Fatalf("UnaryCall: %v; want FAILED_PRECONDITION with 2 details", err)
			}
			for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
				s := w.span(t, "grpc.testing.TestService/UnaryCall", kind)
				got := detailEvents(s)
				if len(got) != 2 || got[0][0] != "google.rpc.ErrorInfo" || got[1][0] != "google.rpc.BadRequest" {
					t.Fatalf("%s span: details %q; want an ErrorInfo and a BadRequest", kind, got)
				}
				if text := got[0][1]; !strings.Contains(text, `reason: "QUOTA"`) || !strings.Contains(text, `"eu"`) ||
					strings.Contains(text, "s3cr3t") || !strings.Contains(text, "[redacted]") {
					t.Errorf("%s span: ErrorInfo text %q; want its fields, the token redacted", kind, text)
				}
				if text := got[1][1]; !strings.Contains(text, `field: "user"`) {
					t.Errorf("%s span: BadRequest text %q; want its field violation", kind, text)
				}
			}
		})
	}
}

// TestNoStatusDetails: a call that fails without details, or succeeds,
// gets no detail event.
func TestNoStatusDetails(t *testing.T) {
	w := start(t, setup{beside: true})
	req := &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no"}}
	if _, err := w.client.UnaryCall(context.Background(), req); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
		if got := detailEvents(w.span(t, "grpc.testing.TestService/UnaryCall", kind)); len(got) != 0 {
			t.Errorf("%s span: details %q; want none", kind, got)
		}
	}
}

// detailEvents returns the type and text of each status detail event of s.
func detailEvents(s sdktrace.ReadOnlySpan) [][2]string {
	var out [][2]string
	for _, e := range s.Events() {
		if e.Name != semconv.EventStatusDetail {
			continue
		}
		var d [2]string
		for _, kv := range e.Attributes {
			switch kv.Key {
			case semconv.StatusDetailType:
				d[0] = kv.Value.AsString()
			case semconv.StatusDetailText:
				d[1] = kv.Value.AsString()
			}
		}
		out = append(out, d)
	}
	return out
}
