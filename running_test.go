package debugz_test

import (
	"context"
	"strings"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

// TestRunningCallPage: the page of a call still running says it is sampled
// when it is, and the bytes of its messages so far (it said "Sampled: no"
// and "2 · 0 B").
func TestRunningCallPage(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	svc := readingService{entered: make(chan struct{}), release: make(chan struct{})}
	client := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler {
		return grpcstats.WrapHandler(h, grpcstats.WithProgress(sp))
	}, svc)
	stream, err := client.FullDuplexCall(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // 100 bytes of payload, 104 as a message
		if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: grpctest.Payload(100)}); err != nil {
			t.Fatal(err)
		}
	}
	<-svc.entered
	defer func() { close(svc.release); _, _ = stream.Recv() }()
	var server debugz.ActiveRPC
	for _, a := range sp.Active() {
		if a.Kind == trace.SpanKindServer {
			server = a
		}
	}
	code, body := grpctest.Get(t, debugz.NewHandler(sp), "/spans/"+server.SpanID.String())
	for _, want := range []string{
		"<dt>Sampled</dt><dd>yes</dd>",
		`<dt>Received</dt><dd class="num">2 <span class="muted">· 208 B</span></dd>`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET the running call's page = %d, without %s:\n%s", code, want, body)
		}
	}
}
