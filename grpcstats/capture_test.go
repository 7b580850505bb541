package grpcstats_test

import (
	"context"
	"github.com/debugz/debugz/internal/semconv"
	"slices"
	"strings"
	"testing"

	"github.com/debugz/debugz/grpcstats"
	"go.opentelemetry.io/otel/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func TestWrapHandlerMessageCapture(t *testing.T) {
	w := startWrapped(t, grpcstats.WithMessageCapture("debugz.test.Vault/*"), grpcstats.WithMessageTimeline(0))
	v := vault()
	req := dynamicpb.NewMessage(v.req)
	fields := v.req.Fields()
	req.Set(fields.ByName("user"), protoreflect.ValueOfString("ada"))
	req.Set(fields.ByName("password"), protoreflect.ValueOfString("hunter2"))
	creds := dynamicpb.NewMessage(v.creds)
	creds.Set(v.creds.Fields().ByName("token"), protoreflect.ValueOfString("tok-123"))
	req.Set(fields.ByName("credentials"), protoreflect.ValueOfMessage(creds))
	headers := req.Mutable(fields.ByName("headers")).Map()
	headers.Set(protoreflect.ValueOfString("authorization").MapKey(), protoreflect.ValueOfString("Bearer abc"))
	headers.Set(protoreflect.ValueOfString("x-request-id").MapKey(), protoreflect.ValueOfString("r-1"))
	req.Set(fields.ByName("pwd"), protoreflect.ValueOfString("pw-789"))
	req.Set(fields.ByName("note"), protoreflect.ValueOfString("dsn https://ada:url-s3cret@db.example "+strings.Repeat("n", 3000)))
	resp := dynamicpb.NewMessage(v.creds)
	if err := w.conn.Invoke(context.Background(), "/debugz.test.Vault/Login", req, resp); err != nil {
		t.Fatalf("Login: %v", err)
	}
	secrets := []string{"hunter2", "tok-123", "Bearer abc", "session-s3cr3t", "pw-789", "url-s3cret"}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		evs := messageEvents(w.span(t, "debugz.test.Vault/Login", kind))
		if len(evs) != 2 {
			t.Fatalf("%s span: %d message events; want 2 (captured, with the timeline off)", kind, len(evs))
		}
		for _, e := range evs {
			if !e.hasText || len(e.text) > 1024 {
				t.Errorf("%s span: %s text of %d bytes (present %v); want some, at most 1024", kind, e.typ, len(e.text), e.hasText)
			}
			for _, s := range secrets {
				if strings.Contains(e.text, s) {
					t.Errorf("%s span: %s text %q shows %q", kind, e.typ, e.text, s)
				}
			}
			isReq := (e.typ == semconv.MessageTypeSent) == (kind == trace.SpanKindClient)
			var want []string
			if isReq {
				want = []string{`user: "ada"`, "password: [redacted]", "credentials: [redacted]", "value: [redacted]", `"x-request-id"`, `"r-1"`,
					"pwd: [redacted]", "https://ada:[redacted]@db.example", "nnnn…"}
			} else {
				want = []string{"token: [redacted]"}
			}
			for _, s := range want {
				if !strings.Contains(e.text, s) {
					t.Errorf("%s span: %s text %q; want it to contain %q", kind, e.typ, e.text, s)
				}
			}
		}
	}

	// A method not listed is not captured.
	if _, err := w.client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range messageEvents(w.span(t, testSvc+"UnaryCall", trace.SpanKindServer)) {
		if e.hasText {
			t.Errorf("UnaryCall, not captured: event %+v has text", e)
		}
	}
}

func TestWrapHandlerCaptureKeepsFirstAndLastTwo(t *testing.T) {
	w := startWrapped(t, grpcstats.WithMessageCapture(testSvc+"FullDuplexCall"), grpcstats.WithMessageTimeline(1))
	bidi(t, w.client, 9)
	evs := messageEvents(w.span(t, testSvc+"FullDuplexCall", trace.SpanKindServer))
	for _, typ := range []string{semconv.MessageTypeSent, semconv.MessageTypeReceived} {
		// The timeline's 1 and 9, the capture's 1, 2, 8 and 9.
		if got, want := ids(evs, typ), []int64{1, 2, 8, 9}; !slices.Equal(got, want) {
			t.Errorf("%s ids = %v; want %v", typ, got, want)
		}
	}
	for _, e := range evs {
		if !e.hasText || (e.typ == semconv.MessageTypeReceived) != strings.Contains(e.text, "response_parameters") {
			t.Errorf("event %+v; want the text of the message", e)
		}
	}
}
