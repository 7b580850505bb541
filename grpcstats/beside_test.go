package grpcstats_test

import (
	"context"
	"testing"

	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestNewHandlerBesideOtelgrpc: registered before otelgrpc, NewHandler puts
// on otelgrpc's spans what WrapHandler would, and names the RPC's system,
// method and code.
func TestNewHandlerBesideOtelgrpc(t *testing.T) {
	for _, tt := range []struct {
		name string
		code codes.Code
		want string
	}{
		{"ok", codes.OK, "OK"},
		{"not found", codes.NotFound, "NOT_FOUND"},
		{"internal", codes.Internal, "INTERNAL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := start(t, setup{beside: true})
			req := &testpb.SimpleRequest{ResponseSize: 33, Payload: grpctest.Payload(12)}
			if tt.code != codes.OK {
				req.ResponseStatus = &testpb.EchoStatus{Code: int32(tt.code), Message: "no"}
			}
			resp, err := w.client.UnaryCall(context.Background(), req)
			if status.Code(err) != tt.code {
				t.Fatalf("UnaryCall: %v; want %v", err, tt.code)
			}
			for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
				s := w.span(t, "grpc.testing.TestService/UnaryCall", kind)
				for key, want := range map[string]string{
					semconv.RPCSystemName:         "grpc",
					semconv.RPCMethod:             "grpc.testing.TestService/UnaryCall",
					semconv.RPCResponseStatusCode: tt.want,
				} {
					if v, _ := attr(s, key); v.AsString() != want {
						t.Errorf("%s span: %s = %q; want %q", kind, key, v.String(), want)
					}
				}
				if got := intAttr(t, s, semconv.MessagesReceived) + intAttr(t, s, semconv.MessagesSent); tt.code == codes.OK && got != 2 {
					t.Errorf("%s span: %d messages; want 2", kind, got)
				}
				if tt.code == codes.OK && kind == trace.SpanKindClient {
					if got, want := intAttr(t, s, semconv.BytesReceived), int64(proto.Size(resp)); got != want {
						t.Errorf("client span: %s = %d; want %d", semconv.BytesReceived, got, want)
					}
				}
				if v, _ := attr(s, semconv.StatusMessage); tt.code != codes.OK && v.AsString() != "no" {
					t.Errorf("%s span: %s = %q; want %q", kind, semconv.StatusMessage, v.String(), "no")
				}
			}
		})
	}
}

// TestNewHandlerAfterOtelgrpc: registered after otelgrpc, NewHandler finds
// no span of the RPC's own (otelgrpc has ended it when NewHandler learns of
// the end): it changes no span, and never the caller's.
func TestNewHandlerAfterOtelgrpc(t *testing.T) {
	w := start(t, setup{beside: true, after: true})
	ctx, parent := w.tp.Tracer("test").Start(context.Background(), "caller")
	if _, err := w.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	for _, kind := range []trace.SpanKind{trace.SpanKindServer, trace.SpanKindClient} {
		s := w.span(t, "grpc.testing.TestService/UnaryCall", kind)
		if _, ok := attr(s, semconv.MessagesSent); ok {
			t.Errorf("%s span has %s; want nothing from a NewHandler registered after otelgrpc", kind, semconv.MessagesSent)
		}
	}
	for _, s := range w.rec.Ended() {
		if s.Name() == "caller" && (len(s.Attributes()) != 0 || len(s.Events()) != 0) {
			t.Errorf("caller's span got %v and %d events; want nothing", s.Attributes(), len(s.Events()))
		}
	}
}

// TestNewHandlerLeavesCallersSpan: with no instrumentation beside it,
// NewHandler finds no span of the RPC's own and leaves the caller's alone.
func TestNewHandlerLeavesCallersSpan(t *testing.T) {
	w := start(t, setup{client: func(h stats.Handler) stats.Handler { return noSpan{h} }, beside: true})
	ctx, parent := w.tp.Tracer("test").Start(context.Background(), "caller")
	if _, err := w.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	for _, s := range w.rec.Ended() {
		if s.Name() == "caller" && (len(s.Attributes()) != 0 || len(s.Events()) != 0) {
			t.Errorf("caller's span got %v and %d events; want nothing", s.Attributes(), len(s.Events()))
		}
	}
}
