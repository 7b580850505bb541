package otlp

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/redact"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var traceID = trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// testSpans is a trace of three spans: one with a remote parent and every
// kind of attribute, an event, a remote link, invalid UTF-8 and credentials;
// one on the same resource in a scope of the same name and version with
// attributes; one with no resource.
func testSpans(t *testing.T) []Span {
	t.Helper()
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "user"), attribute.String("token", "s3cret"))
	ts, err := trace.ParseTraceState("k=v")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1700000000, 123456789)
	link := sdktrace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0xff}, SpanID: trace.SpanID{0xee},
		TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true}),
		Attributes: []attribute.KeyValue{attribute.String("l", "x")}, DroppedAttributeCount: 2}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{9, 9, 9, 9, 9, 9, 9, 9},
		TraceFlags: trace.FlagsSampled, Remote: true})
	return []Span{
		{TraceID: traceID, SpanID: trace.SpanID{1, 1, 1, 1, 1, 1, 1, 1}, TraceFlags: trace.FlagsSampled, Parent: parent, TraceState: ts,
			Name: "user.UserService/Get\xff", Kind: trace.SpanKindServer, StatusCode: otelcodes.Error, StatusMessage: "Bearer abc.def.ghi failed",
			Start: start, End: start.Add(time.Millisecond),
			Attributes: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.Int64("n", 7), attribute.Float64("f", 1.5),
				attribute.Bool("b", true), attribute.StringSlice("ss", []string{"a", "\xfe"}), attribute.Int64Slice("is", []int64{1, 2}),
				attribute.Float64Slice("fs", []float64{0.5}), attribute.BoolSlice("bs", []bool{true, false}), attribute.String("password", "hunter2"),
				attribute.String("url", "https://u:p@host/x")},
			Events: []sdktrace.Event{{Name: "message", Time: start.Add(time.Microsecond),
				Attributes: []attribute.KeyValue{attribute.String("message.type", "SENT")}, DroppedAttributeCount: 1}},
			Links: []sdktrace.Link{link}, Resource: res, Scope: instrumentation.Scope{Name: "otelgrpc", Version: "v1", SchemaURL: "s"},
			DroppedAttributes: 1, DroppedEvents: 2, DroppedLinks: 3},
		{TraceID: traceID, SpanID: trace.SpanID{2, 2, 2, 2, 2, 2, 2, 2}, TraceFlags: trace.FlagsSampled, Name: "root", Kind: trace.SpanKindClient,
			StatusCode: otelcodes.Ok, Start: start, End: start.Add(time.Second), Resource: res,
			Scope: instrumentation.Scope{Name: "otelgrpc", Version: "v1", SchemaURL: "s", Attributes: attribute.NewSet(attribute.String("scope.key", "v"), attribute.String("token", "s3cret"))}},
		{TraceID: traceID, SpanID: trace.SpanID{3, 3, 3, 3, 3, 3, 3, 3}, Name: "no resource", Kind: trace.SpanKindInternal,
			Start: start, End: start},
	}
}

// TestJSONGolden: the encoding of a fixed trace, without and with
// redaction, is byte for byte the one in testdata (rewritten with -update;
// on a mismatch the actual output is written beside it).
func TestJSONGolden(t *testing.T) {
	tests := []struct {
		name string
		red  *redact.Redactor
	}{
		{"trace", nil},
		{"trace_redacted", redact.New()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JSON(testSpans(t), tt.red)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				actual := filepath.Join("testdata", tt.name+".actual.json")
				_ = os.WriteFile(actual, got, 0o644)
				t.Errorf("JSON(%s) differs from %s; see %s", tt.name, golden, actual)
			}
		})
	}
}

// TestJSONRoundTrip: ParseJSON reads back what JSON wrote: hex IDs become
// bytes again, values keep their types, bad UTF-8 is U+FFFD, credentials
// stay redacted.
func TestJSONRoundTrip(t *testing.T) {
	b, err := JSON(testSpans(t), redact.New())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"traceId": "0102030405060708090a0b0c0d0e0f10"`)) {
		t.Errorf("JSON holds no hex traceId:\n%s", b)
	}
	td, err := ParseJSON(b)
	if err != nil {
		t.Fatalf("ParseJSON: %v", err)
	}
	rss := td.GetResourceSpans()
	if len(rss) != 2 || len(rss[0].GetScopeSpans()) != 2 || len(rss[1].GetScopeSpans()) != 1 {
		t.Fatalf("ParseJSON grouped %v; want two resources, the first with two scopes", rss)
	}
	s := rss[0].GetScopeSpans()[0].GetSpans()[0]
	if !bytes.Equal(s.GetTraceId(), traceID[:]) || !bytes.Equal(s.GetParentSpanId(), []byte{9, 9, 9, 9, 9, 9, 9, 9}) {
		t.Errorf("IDs = %x, parent %x; want %x, 0909090909090909", s.GetTraceId(), s.GetParentSpanId(), traceID)
	}
	if s.GetName() != "user.UserService/Get\uFFFD" {
		t.Errorf("name = %q; want the bad byte as U+FFFD", s.GetName())
	}
	if s.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || strings.Contains(s.GetStatus().GetMessage(), "abc.def.ghi") {
		t.Errorf("status = %v; want ERROR with the bearer token redacted", s.GetStatus())
	}
	if s.GetKind() != tracepb.Span_SPAN_KIND_SERVER || s.GetDroppedLinksCount() != 3 || len(s.GetLinks()) != 1 || len(s.GetEvents()) != 1 {
		t.Errorf("span = %v; want a server span with a link, an event and 3 links dropped", s)
	}
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == "password" && kv.GetValue().GetStringValue() != redact.Marker {
			t.Errorf("password = %v; want %q", kv.GetValue(), redact.Marker)
		}
		if kv.GetKey() == "is" && len(kv.GetValue().GetArrayValue().GetValues()) != 2 {
			t.Errorf("is = %v; want an array of two", kv.GetValue())
		}
	}
	if s.GetFlags() != 0x301 || s.GetLinks()[0].GetFlags() != 0x301 {
		t.Errorf("flags = %#x, link's %#x; want 0x301 (sampled, remote) for both", s.GetFlags(), s.GetLinks()[0].GetFlags())
	}
	if root := rss[0].GetScopeSpans()[1].GetSpans()[0]; len(root.GetParentSpanId()) != 0 || root.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_OK ||
		root.GetFlags() != 0x101 {
		t.Errorf("root span = %v; want no parent, status OK and flags 0x101", root)
	}
	if scope := rss[0].GetScopeSpans()[1].GetScope(); len(scope.GetAttributes()) != 2 || scope.GetAttributes()[1].GetValue().GetStringValue() != redact.Marker {
		t.Errorf("scope = %v; want its two attributes, the token redacted", scope)
	}
}

// TestFlags: the OTLP flags of a span or link are its W3C trace flags, the
// bit that says the remote bit is known, and the remote bit, as the SDK's
// exporter sends them.
func TestFlags(t *testing.T) {
	local := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{1}})
	remote := local.WithRemote(true)
	tests := []struct {
		name   string
		tf     trace.TraceFlags
		parent trace.SpanContext
		want   uint32
	}{
		{"root, not sampled", 0, trace.SpanContext{}, 0x100},
		{"root, sampled", trace.FlagsSampled, trace.SpanContext{}, 0x101},
		{"local parent", trace.FlagsSampled, local, 0x101},
		{"remote parent", trace.FlagsSampled, remote, 0x301},
		{"remote parent, random trace ID", trace.FlagsSampled | trace.FlagsRandom, remote, 0x303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flags(tt.tf, tt.parent); got != tt.want {
				t.Errorf("flags(%v, remote %v) = %#x; want %#x", tt.tf, tt.parent.IsRemote(), got, tt.want)
			}
		})
	}
}

// TestValueKinds: every attribute type becomes the OTLP value of its kind.
func TestValueKinds(t *testing.T) {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	tests := []struct {
		name string
		v    attribute.Value
		want *commonpb.AnyValue
	}{
		{"bool", attribute.BoolValue(true), &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
		{"int", attribute.Int64Value(-3), &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -3}}},
		{"float", attribute.Float64Value(0.25), &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.25}}},
		{"string", attribute.StringValue("a\xffb"), str("a\uFFFDb")},
		{"string slice", attribute.StringSliceValue([]string{"x", ""}),
			&commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{str("x"), str("")}}}}},
		{"empty", attribute.Value{}, &commonpb.AnyValue{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value(tt.v); !proto.Equal(got, tt.want) {
				t.Errorf("value(%v) = %v; want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestParseJSONRejectsGarbage(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"not JSON", "{"},
		{"ID not hex", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}`},
		{"not OTLP", `{"resourceSpans": 3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if td, err := ParseJSON([]byte(tt.in)); err == nil {
				t.Errorf("ParseJSON(%q) = %v; want an error", tt.in, td)
			}
		})
	}
}
