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

// TestWithRedactedKeysReachesMessageCapture: the keys given to
// WithRedactedKeys hide the fields of that name in the message text that
// grpcstats captured (redacted by the built-in rules only, when captured),
// a sub-message whole, on the span's page and in its JSON; without them the
// fields show.
func TestWithRedactedKeysReachesMessageCapture(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	capture := grpcstats.WithMessageCapture(grpctest.Method + "UnaryCall")
	client := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler { return grpcstats.WrapHandler(h, capture) }, nil)
	req := &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Message: "Ss7Nn3Xx1Q"}}
	if _, err := client.UnaryCall(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var id string
	grpctest.WaitFor(t, "the server span", func() bool {
		spans := sp.Spans(debugz.Filter{Method: grpctest.Method + "UnaryCall", Kind: trace.SpanKindServer})
		if len(spans) == 1 {
			id = spans[0].SpanID.String()
		}
		return id != ""
	})
	tests := []struct {
		name         string
		opts         []debugz.HandlerOption
		hidden, show []string
	}{
		{"built-in keys", nil, nil, []string{"Ss7Nn3Xx1Q", `username: \"ada\"`}},
		{"extra keys", []debugz.HandlerOption{debugz.WithRedactedKeys("response-status", "username")},
			[]string{"Ss7Nn3Xx1Q", `username: \"ada\"`}, []string{`response_status: [redacted]`, `username: \"[redacted]\"`}},
	}
	for _, tt := range tests {
		h := debugz.NewHandler(sp, tt.opts...)
		for _, path := range []string{"/api/spans/" + id, "/spans/" + id} {
			code, body := grpctest.Get(t, h, path)
			if code != 200 {
				t.Fatalf("GET %s = %d", path, code)
			}
			if strings.HasPrefix(path, "/spans/") { // the page quotes as HTML does
				body = strings.ReplaceAll(strings.ReplaceAll(body, "&#34;", `\"`), "&quot;", `\"`)
			}
			for _, s := range tt.hidden {
				if strings.Contains(body, s) {
					t.Errorf("%s: GET %s shows %s", tt.name, path, s)
				}
			}
			for _, s := range tt.show {
				if !strings.Contains(body, s) {
					t.Errorf("%s: GET %s does not show %s", tt.name, path, s)
				}
			}
		}
	}
}
