package debugz

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/otlp"

	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/redact"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// secretSpan is a server span carrying credentials and markup.
func secretSpan() sdktrace.ReadOnlySpan {
	return stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond,
		events: []sdktrace.Event{{Name: "sent", Time: time.Now(), Attributes: []attribute.KeyValue{attribute.String("x-api-key", "k-123")}}},
		attrs: []attribute.KeyValue{
			attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M"),
			attribute.String("rpc.response.status_code", "OK"),
			attribute.String("rpc.request.metadata.authorization", "Bearer hunter2"),
			attribute.String("app.session_token", "tok-456"),
			attribute.String("note", "<script>alert(1)</script>"),
		}}.snapshot()
}

func TestRedactionInHTMLAndJSON(t *testing.T) {
	tests := []struct {
		name   string
		opts   []HandlerOption
		hidden bool
	}{{"default redacts", nil, true}, {"WithoutRedaction shows", []HandlerOption{WithoutRedaction()}, false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := NewSpanProcessor()
			s := secretSpan()
			sp.OnEnd(s)
			h := NewHandler(sp, tt.opts...)
			id := s.SpanContext().SpanID().String()
			for _, path := range []string{"/spans/" + id, "/api/spans/" + id, "/api/spans", "/api/traces/" + s.SpanContext().TraceID().String()} {
				code, body := grpctest.Get(t, h, path)
				if code != 200 {
					t.Fatalf("GET %s = %d", path, code)
				}
				for _, secret := range []string{"hunter2", "tok-456", "k-123"} {
					if strings.Contains(body, secret) == tt.hidden {
						t.Errorf("GET %s: secret %q shown = %v; want %v", path, secret, !tt.hidden, !tt.hidden)
					}
				}
				if tt.hidden && !strings.Contains(body, redact.Marker) {
					t.Errorf("GET %s: no %q marker", path, redact.Marker)
				}
				if strings.Contains(body, "<script>alert") {
					t.Errorf("GET %s: attribute markup not escaped", path)
				}
			}
		})
	}
}

func TestOTLPJSONRoundTrip(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer(otelgrpcScope)
	ctx, client := tr.Start(t.Context(), "a.S/M", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.Int("n", 7), attribute.StringSlice("tags", []string{"a", "b"})))
	_, server := tr.Start(ctx, "a.S/M", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system.name", "grpc")))
	server.AddEvent("work", trace.WithAttributes(attribute.Bool("ok", true)))
	server.SetAttributes(attribute.String("rpc.response.status_code", "NOT_FOUND"))
	server.End()
	client.SetAttributes(attribute.String("rpc.response.status_code", "NOT_FOUND"))
	client.End()

	tid := client.SpanContext().TraceID()
	code, body := grpctest.Get(t, NewHandler(sp), "/api/traces/"+tid.String())
	if code != 200 {
		t.Fatalf("GET /api/traces = %d", code)
	}
	// IDs are hex, as the OTLP JSON mapping requires, not protojson's base64.
	var raw struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					TraceID, SpanID, ParentSpanID string
					Kind                          int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rs := range raw.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				n++
				if s.TraceID != tid.String() {
					t.Errorf("traceId = %q; want hex %q", s.TraceID, tid)
				}
				if _, err := hex.DecodeString(s.SpanID); err != nil || len(s.SpanID) != 16 {
					t.Errorf("spanId = %q; want 16 hex digits", s.SpanID)
				}
				if s.Kind == 2 && s.ParentSpanID != client.SpanContext().SpanID().String() {
					t.Errorf("server parentSpanId = %q; want the client's %s", s.ParentSpanID, client.SpanContext().SpanID())
				}
			}
		}
	}
	if n != 2 {
		t.Fatalf("OTLP JSON holds %d spans; want 2", n)
	}
	req, err := parseOTLPJSON([]byte(body))
	if err != nil {
		t.Fatalf("parseOTLPJSON: %v", err)
	}
	spans := req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()
	var sawEvent, sawSlice bool
	for _, s := range spans {
		if [16]byte(s.GetTraceId()) != tid {
			t.Errorf("round trip trace ID = %x; want %s", s.GetTraceId(), tid)
		}
		for _, e := range s.GetEvents() {
			sawEvent = sawEvent || e.GetName() == "work" && e.GetAttributes()[0].GetValue().GetBoolValue()
		}
		for _, a := range s.GetAttributes() {
			sawSlice = sawSlice || a.GetKey() == "tags" && len(a.GetValue().GetArrayValue().GetValues()) == 2
		}
	}
	if !sawEvent || !sawSlice {
		t.Errorf("round trip lost the event (%v) or the slice attribute (%v)", sawEvent, sawSlice)
	}
}

func TestNewHandlerNilPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "nil *SpanProcessor") {
			t.Errorf("NewHandler(nil) recovered %v; want a panic naming the nil processor", r)
		}
	}()
	NewHandler(nil)
}

func TestSensitiveKeys(t *testing.T) {
	for key, want := range map[string]bool{
		"authorization": true, "rpc.request.metadata.Authorization": true, "http.request.header.cookie": true,
		"db.password": true, "app.token": true, "client_secret": true, "x-api-key": true, "apikey": true,
		"rpc.method": false, "user.id": false, "server.address": false,
	} {
		if got := redact.Key(key); got != want {
			t.Errorf("redact.Key(%q) = %v; want %v", key, got, want)
		}
	}
}

func TestRedactionInsideMapValues(t *testing.T) {
	sp := NewSpanProcessor()
	s := stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond, attrs: []attribute.KeyValue{
		attribute.String("rpc.system.name", "grpc"),
		attribute.Map("rpc.request.metadata", attribute.String("authorization", "Bearer hunter2"), attribute.String("x-request-id", "r-1")),
	}}.snapshot()
	sp.OnEnd(s)
	h := NewHandler(sp)
	for _, path := range []string{"/spans/" + s.SpanContext().SpanID().String(), "/api/spans", "/api/traces/" + s.SpanContext().TraceID().String()} {
		_, body := grpctest.Get(t, h, path)
		if strings.Contains(body, "hunter2") || !strings.Contains(body, "r-1") {
			t.Errorf("GET %s: nested credential shown, or the rest of the map lost", path)
		}
	}
	_, body := grpctest.Get(t, h, "/api/spans/"+s.SpanContext().SpanID().String())
	var js struct {
		Attributes map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal([]byte(body), &js); err != nil {
		t.Fatal(err)
	}
	if m, ok := js.Attributes["rpc.request.metadata"].(map[string]any); !ok || m["x-request-id"] != "r-1" || m["authorization"] != redact.Marker {
		t.Errorf("map attribute as JSON = %#v; want a plain object with the credential redacted", js.Attributes["rpc.request.metadata"])
	}
}

// parseOTLPJSON reads an OTLP/JSON trace document (hex IDs), such as
// /api/traces/{traceID} serves, back into the protobuf request.
func parseOTLPJSON(b []byte) (*tracepb.TracesData, error) { return otlp.ParseJSON(b) }

// TestRunningRPCOpens: a call still in flight opens as a span page and its
// trace shows it, marked running, beside the spans that ended.
func TestRunningRPCOpens(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer("test")
	ctx, server := tr.Start(context.Background(), "user.UserService/Chat", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system", "grpc")))
	_, child := tr.Start(ctx, "user.UserService/FetchUser", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.grpc.status_code", "0")))
	child.End()
	h := NewHandler(sp)
	sc := server.SpanContext()
	if code, body := grpctest.Get(t, h, "/spans/"+sc.SpanID().String()); code != 200 || !strings.Contains(body, "running") || !strings.Contains(body, "so far") {
		t.Errorf("GET the running span = %d; want its page, marked running:\n%.300s", code, body)
	}
	code, body := grpctest.Get(t, h, "/traces/"+sc.TraceID().String())
	if code != 200 || !strings.Contains(body, "user.UserService/Chat") || !strings.Contains(body, "user.UserService/FetchUser") ||
		!strings.Contains(body, `class="running"`) {
		t.Errorf("GET the trace of a running call = %d; want the running server span and its ended child", code)
	}
	server.End()
	if code, body := grpctest.Get(t, h, "/spans/"+sc.SpanID().String()); code != 200 || strings.Contains(body, "so far") {
		t.Errorf("GET the span once ended = %d; want it as a finished span", code)
	}
}

// TestSpansPages: /api/spans says how many retained spans match and where
// the next, older page is; following it visits every match once.
func TestSpansPages(t *testing.T) {
	sp := NewSpanProcessor()
	now := time.Now()
	for i := range 250 {
		sp.OnEnd(stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond, end: now.Add(-time.Duration(250-i) * time.Millisecond), // in the order they end
			attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "a.S"),
				attribute.String("rpc.method", "M"), attribute.Int64("rpc.grpc.status_code", 0)}}.snapshot())
	}
	h := NewHandler(sp)
	seen := map[string]bool{}
	path := "/api/spans?method=a.S/M&limit=100"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 100 for 250 spans")
		}
		code, body := grpctest.Get(t, h, path)
		var page struct {
			AsOf      time.Time `json:"as_of"`
			Matched   int
			Truncated bool
			Next      string
			Spans     []struct {
				SpanID string `json:"span_id"`
			}
		}
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || page.AsOf.IsZero() {
			t.Fatalf("GET %s = %d, %v; want a page with as_of", path, code, err)
		}
		if pages == 0 && (page.Matched != 250 || !page.Truncated || len(page.Spans) != 100) {
			t.Errorf("first page: matched %d, truncated %v, %d spans; want 250, true, 100", page.Matched, page.Truncated, len(page.Spans))
		}
		for _, s := range page.Spans {
			if seen[s.SpanID] {
				t.Errorf("span %s on two pages", s.SpanID)
			}
			seen[s.SpanID] = true
		}
		path = ""
		if page.Next != "" {
			path = "/api/" + page.Next
		}
	}
	if len(seen) != 250 {
		t.Errorf("pages visited %d spans; want all 250", len(seen))
	}
}

// TestLocalOnlyIsTheHandlersCheck: LocalOnly refuses exactly the requests
// NewHandler refuses by default (one check, package access): a remote
// client, a rebound Host, a RealIP-rewritten address.
func TestLocalOnlyIsTheHandlersCheck(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	guarded, pages := LocalOnly(ok), NewHandler(NewSpanProcessor())
	for _, tt := range []struct {
		remote, host string
		local        string // the connection's local address; "" for none
		want         int
	}{
		{"127.0.0.1:4000", "localhost:6060", "127.0.0.1:6060", 200},
		{"[::1]:4000", "[::1]:6060", "[::1]:6060", 200},
		{"127.0.0.1:4000", "evil.example:6060", "127.0.0.1:6060", 403}, // DNS rebinding
		{"203.0.113.9:4000", "localhost:6060", "", 403},
		{"127.0.0.1:4000", "10.0.0.5:6060", "10.0.0.5:6060", 403}, // RealIP rewrote the address
	} {
		for name, h := range map[string]http.Handler{"LocalOnly": guarded, "NewHandler": pages} {
			req := httptest.NewRequest("GET", "/api/summary", nil)
			req.RemoteAddr, req.Host = tt.remote, tt.host
			if tt.local != "" {
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tt.local))))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%s: GET from %s on %s, Host %s = %d; want %d", name, tt.remote, tt.local, tt.host, rec.Code, tt.want)
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("LocalOnly(nil) did not panic")
		}
	}()
	LocalOnly(nil)
}
