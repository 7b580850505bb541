package debugz

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Where a secret of the table is put on a span.
const (
	inAttr     = "attribute"
	inEvent    = "event name"
	inName     = "span name"
	inStatus   = "status message"
	inResource = "resource attribute"
	inLink     = "link attribute"
)

// secrets are put on one finished span (and the attributes also on an
// in-flight one); no output may show a secret, and each output must still
// show the harmless parts (keep) of what it shows.
var secrets = []struct {
	name   string
	place  string
	kv     attribute.KeyValue // for attributes
	text   string             // for names and the status message
	secret string
	keep   []string
}{
	{name: "bearer inside a longer string", place: inAttr, kv: attribute.String("note", "retry with Authorization: Bearer v-bearer-1 after 401"),
		secret: "v-bearer-1", keep: []string{"retry with Authorization: Bearer", "after 401"}},
	{name: "URL with a password", place: inAttr, kv: attribute.String("db.connection_string", "postgres://bob:v-url-2@db.example:5432/app"),
		secret: "v-url-2", keep: []string{"postgres://bob:", "db.example:5432/app"}},
	{name: "pwd key", place: inAttr, kv: attribute.String("db.pwd", "v-pwd-3"), secret: "v-pwd-3", keep: []string{"db.pwd"}},
	{name: "pass key", place: inAttr, kv: attribute.String("user.pass", "v-pass-4"), secret: "v-pass-4", keep: []string{"user.pass"}},
	{name: "auth key", place: inAttr, kv: attribute.String("auth", "v-auth-5"), secret: "v-auth-5"},
	{name: "access_key key", place: inAttr, kv: attribute.String("aws.access_key", "v-ak-6"), secret: "v-ak-6", keep: []string{"aws.access_key"}},
	{name: "client_key key", place: inAttr, kv: attribute.String("tls.client_key", "v-ck-7"), secret: "v-ck-7", keep: []string{"tls.client_key"}},
	{name: "sid key", place: inAttr, kv: attribute.String("user.sid", "v-sid-8"), secret: "v-sid-8"},
	{name: "otp key", place: inAttr, kv: attribute.String("login.otp", "v-otp-9"), secret: "v-otp-9"},
	{name: "signature key", place: inAttr, kv: attribute.String("x-amz-signature", "v-sig-10"), secret: "v-sig-10"},
	{name: "Api.Key key", place: inAttr, kv: attribute.String("Api.Key", "v-apikey-11"), secret: "v-apikey-11", keep: []string{"Api.Key"}},
	{name: "private.key key", place: inAttr, kv: attribute.String("private.key", "v-pk-12"), secret: "v-pk-12"},
	{name: "map with an authorization key", place: inAttr, kv: attribute.Map("rpc.request.metadata",
		attribute.String("authorization", "v-map-13"), attribute.String("x-request-id", "r-13")),
		secret: "v-map-13", keep: []string{"r-13"}},
	{name: "slice holding a bearer token", place: inAttr, kv: attribute.StringSlice("upstream.headers", []string{"accept-json", "Bearer v-slice-14"}),
		secret: "v-slice-14", keep: []string{"accept-json"}},
	{name: "JWT", place: inAttr, kv: attribute.String("id_hint", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.v-jwt-15"), secret: "v-jwt-15"},
	{name: "query token", place: inAttr, kv: attribute.String("url.full", "https://api.example/cb?code=1&access_token=v-query-16"),
		secret: "v-query-16", keep: []string{"https://api.example/cb?code=1"}},
	{name: "harmless attribute", place: inAttr, kv: attribute.String("user.id", "ada-42"), keep: []string{"ada-42"}},
	{name: "status message with a URL password", place: inStatus, text: "dial https://carol:v-status-17@db.example failed",
		secret: "v-status-17", keep: []string{"https://carol:", "@db.example failed"}},
	{name: "event name with a bearer token", place: inEvent, text: "retried with Bearer v-event-18",
		secret: "v-event-18", keep: []string{"retried with Bearer"}},
	{name: "span name with a bearer token", place: inName, text: "a.S/M Bearer v-name-19", secret: "v-name-19", keep: []string{"a.S/M"}},
	{name: "resource URL password", place: inResource, kv: attribute.String("deploy.url", "https://ci:v-res-20@ci.example/app"),
		secret: "v-res-20", keep: []string{"ci.example/app"}},
	{name: "link token key", place: inLink, kv: attribute.String("link.token", "v-link-21"), secret: "v-link-21", keep: []string{"link.token"}},
}

// secretOutputs are the outputs of the handler and what part of a span each
// shows: /api/active, of the in-flight span, its name (as its method); the
// attributes of a running span are never read.
var secretOutputs = []struct {
	path  string // with {span}, {trace} for the finished span
	shows []string
}{
	{path: "/spans/{span}", shows: []string{inAttr, inEvent, inName, inStatus, inResource}},
	{path: "/traces/{trace}", shows: []string{inStatus}},
	{path: "/api/spans", shows: []string{inAttr, inEvent, inName, inStatus}},
	{path: "/api/spans/{span}", shows: []string{inAttr, inEvent, inName, inStatus}},
	{path: "/api/traces/{trace}", shows: []string{inAttr, inEvent, inName, inStatus, inResource, inLink}},
	{path: "/api/active", shows: []string{inName}},
	{path: "/live/spans", shows: []string{inStatus}},
}

// startSecretSpans ends a server span carrying every secret of the table and
// starts one, left in flight until the test ends, with the same name and
// attributes.
func startSecretSpans(t *testing.T, sp *SpanProcessor) (finished trace.SpanContext) {
	t.Helper()
	var attrs, res, links []attribute.KeyValue
	name, status := "a.S/M", ""
	var events []string
	for _, s := range secrets {
		switch s.place {
		case inAttr:
			attrs = append(attrs, s.kv)
		case inResource:
			res = append(res, s.kv)
		case inLink:
			links = append(links, s.kv)
		case inName:
			name = s.text
		case inStatus:
			status = s.text
		case inEvent:
			events = append(events, s.text)
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithResource(resource.NewSchemaless(res...)))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := tp.Tracer(otelgrpcScope)
	grpcAttrs := []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M")}
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})
	_, s := tr.Start(context.Background(), name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(append(grpcAttrs, attrs...)...), trace.WithLinks(trace.Link{SpanContext: linked, Attributes: links}))
	for _, e := range events {
		s.AddEvent(e)
	}
	s.SetAttributes(attribute.String("rpc.response.status_code", "UNAVAILABLE"))
	s.SetStatus(otelcodes.Error, status)
	s.End()

	_, active := tr.Start(context.Background(), name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(append(grpcAttrs, attrs...)...))
	t.Cleanup(func() { active.End() })
	return s.SpanContext()
}

// getOutput reads one output: the first event of a live stream, the whole
// body of anything else.
func getOutput(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	if strings.HasPrefix(path, "/live/") {
		return grpctest.FirstEvent(t, h, path)
	}
	return grpctest.Get(t, h, path)
}

func TestRedactionEverywhere(t *testing.T) {
	sp := NewSpanProcessor()
	sc := startSecretSpans(t, sp)
	for _, hide := range []bool{true, false} {
		var opts []HandlerOption
		if !hide {
			opts = append(opts, WithoutRedaction())
		}
		h := NewHandler(sp, opts...)
		for _, out := range secretOutputs {
			path := strings.NewReplacer("{span}", sc.SpanID().String(), "{trace}", sc.TraceID().String()).Replace(out.path)
			code, body := getOutput(t, h, path)
			if code != http.StatusOK {
				t.Fatalf("GET %s = %d", path, code)
			}
			for _, s := range secrets {
				shown := false
				for _, place := range out.shows {
					shown = shown || place == s.place
				}
				switch {
				case s.secret == "":
				case hide && strings.Contains(body, s.secret):
					t.Errorf("GET %s: %s: shows %q", path, s.name, s.secret)
				case !hide && shown && !strings.Contains(body, s.secret):
					t.Errorf("GET %s with WithoutRedaction: %s: %q not shown; the test does not put it where this output shows it", path, s.name, s.secret)
				}
				if !hide || !shown {
					continue
				}
				for _, k := range s.keep {
					if !strings.Contains(body, k) {
						t.Errorf("GET %s: %s: %q, which is no secret, is gone", path, s.name, k)
					}
				}
			}
			if hide && !strings.Contains(body, "[redacted]") {
				t.Errorf("GET %s: no [redacted] marker", path)
			}
		}
	}
}

func TestWithRedactedKeys(t *testing.T) {
	sp := NewSpanProcessor()
	s := stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Millisecond, attrs: []attribute.KeyValue{
		attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M"),
		attribute.String("user.SSN", "v-ssn-1"), attribute.String("note", "lookup ssn=v-ssn-2 done"),
		attribute.String("lesson", "v-lesson"), attribute.String("db.password", "v-password"),
	}}.snapshot()
	sp.OnEnd(s)
	paths := []string{"/api/spans/" + s.SpanContext().SpanID().String(), "/api/traces/" + s.SpanContext().TraceID().String()}
	tests := []struct {
		name   string
		opts   []HandlerOption
		hidden []string
		shown  []string
	}{
		{"built-in keys only", nil, []string{"v-password"}, []string{"v-ssn-1", "v-ssn-2", "v-lesson"}},
		{"extra key", []HandlerOption{WithRedactedKeys("SSN")}, []string{"v-ssn-1", "v-ssn-2", "v-password"}, []string{"v-lesson", "lookup ssn=", "user.SSN"}},
		{"calls add up", []HandlerOption{WithRedactedKeys("x"), WithRedactedKeys("ssn")}, []string{"v-ssn-1", "v-ssn-2"}, []string{"v-lesson"}},
		{"off with WithoutRedaction", []HandlerOption{WithRedactedKeys("ssn"), WithoutRedaction()}, nil, []string{"v-ssn-1", "v-ssn-2", "v-password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(sp, tt.opts...)
			for _, path := range paths {
				_, body := grpctest.Get(t, h, path)
				for _, v := range tt.hidden {
					if strings.Contains(body, v) {
						t.Errorf("GET %s: shows %q; want it redacted", path, v)
					}
				}
				for _, v := range tt.shown {
					if !strings.Contains(body, v) {
						t.Errorf("GET %s: %q not shown", path, v)
					}
				}
			}
		})
	}
}
