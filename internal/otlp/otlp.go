// Package otlp encodes spans in the OTLP/JSON encoding (the JSON shape of an
// ExportTraceServiceRequest, {"resourceSpans": …}, with hex trace and span
// IDs), the form in which debugz hands a trace to other tools, and reads it
// back.
package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/debugz/debugz/internal/redact"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Span is what the encoding needs of a span.
type Span struct {
	TraceID    trace.TraceID
	SpanID     trace.SpanID
	TraceFlags trace.TraceFlags  // the span context's W3C flags
	Parent     trace.SpanContext // invalid for a root span; IsRemote is told in the flags
	TraceState trace.TraceState
	Name       string
	Kind       trace.SpanKind
	Start, End time.Time
	Attributes []attribute.KeyValue
	Events     []sdktrace.Event
	Links      []sdktrace.Link
	StatusCode otelcodes.Code
	// StatusMessage is the status's own description, which the SDK keeps
	// only for Error; "" sends none.
	StatusMessage string
	Resource      *resource.Resource // nil for none
	Scope         instrumentation.Scope

	DroppedAttributes, DroppedEvents, DroppedLinks int
}

// JSON renders spans in the OTLP/JSON encoding, credentials redacted by red
// (nil for none): protojson with enums as numbers, then trace and span IDs
// rewritten from base64 (protojson's encoding of bytes) to hex, as the OTLP
// specification requires. Strings that are not valid UTF-8 get U+FFFD in
// place of each bad run.
func JSON(spans []Span, red *redact.Redactor) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(TracesData(spans, red))
	if err != nil {
		return nil, fmt.Errorf("debugz: encode OTLP: %w", err)
	}
	return convertIDs(b, base64ToHex)
}

// ParseJSON reads an OTLP/JSON trace document (hex IDs), such as [JSON]
// writes, back into the protobuf message.
func ParseJSON(b []byte) (*tracepb.TracesData, error) {
	conv, err := convertIDs(b, hexToBase64)
	if err != nil {
		return nil, err
	}
	td := &tracepb.TracesData{}
	if err := protojson.Unmarshal(conv, td); err != nil {
		return nil, fmt.Errorf("debugz: decode OTLP: %w", err)
	}
	return td, nil
}

// TracesData converts spans to OTLP TracesData, grouped by resource and
// instrumentation scope (name, version, schema URL and attributes, as the
// SDK's exporter groups them) in the order they first appear, with
// credentials redacted by red (nil for none).
func TracesData(spans []Span, red *redact.Redactor) *tracepb.TracesData {
	req := &tracepb.TracesData{}
	byRes := map[*resource.Resource]*tracepb.ResourceSpans{}
	type scopeKey struct {
		res   *resource.Resource
		scope instrumentation.Scope
	}
	byScope := map[scopeKey]*tracepb.ScopeSpans{}
	for i := range spans {
		s := &spans[i]
		rs := byRes[s.Resource]
		if rs == nil {
			rs = &tracepb.ResourceSpans{Resource: &resourcepb.Resource{}}
			if s.Resource != nil {
				rs.Resource.Attributes = attrs(s.Resource.Attributes(), red)
				rs.SchemaUrl = s.Resource.SchemaURL()
			}
			byRes[s.Resource] = rs
			req.ResourceSpans = append(req.ResourceSpans, rs)
		}
		key := scopeKey{s.Resource, s.Scope}
		ss := byScope[key]
		if ss == nil {
			ss = &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: utf8Valid(s.Scope.Name), Version: utf8Valid(s.Scope.Version),
				Attributes: attrs(s.Scope.Attributes.ToSlice(), red)}, SchemaUrl: s.Scope.SchemaURL}
			byScope[key] = ss
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		ss.Spans = append(ss.Spans, span(s, red))
	}
	return req
}

func span(s *Span, red *redact.Redactor) *tracepb.Span {
	ps := &tracepb.Span{
		TraceId:                s.TraceID[:],
		SpanId:                 s.SpanID[:],
		TraceState:             s.TraceState.String(),
		Flags:                  flags(s.TraceFlags, s.Parent),
		Name:                   utf8Valid(red.String(s.Name)),
		Kind:                   tracepb.Span_SpanKind(s.Kind),
		StartTimeUnixNano:      uint64(s.Start.UnixNano()),
		EndTimeUnixNano:        uint64(s.End.UnixNano()),
		Attributes:             attrs(s.Attributes, red),
		DroppedAttributesCount: uint32(s.DroppedAttributes),
		DroppedEventsCount:     uint32(s.DroppedEvents),
		DroppedLinksCount:      uint32(s.DroppedLinks),
		Status:                 &tracepb.Status{Message: utf8Valid(red.String(s.StatusMessage))},
	}
	if id := s.Parent.SpanID(); id.IsValid() {
		ps.ParentSpanId = id[:]
	}
	switch s.StatusCode {
	case otelcodes.Error:
		ps.Status.Code = tracepb.Status_STATUS_CODE_ERROR
	case otelcodes.Ok:
		ps.Status.Code = tracepb.Status_STATUS_CODE_OK
	}
	for _, e := range s.Events {
		ps.Events = append(ps.Events, &tracepb.Span_Event{TimeUnixNano: uint64(e.Time.UnixNano()), Name: utf8Valid(red.String(e.Name)),
			Attributes: attrs(e.Attributes, red), DroppedAttributesCount: uint32(e.DroppedAttributeCount)})
	}
	for _, l := range s.Links {
		tid, sid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		ps.Links = append(ps.Links, &tracepb.Span_Link{TraceId: tid[:], SpanId: sid[:],
			TraceState: l.SpanContext.TraceState().String(), Flags: flags(l.SpanContext.TraceFlags(), l.SpanContext),
			Attributes: attrs(l.Attributes, red), DroppedAttributesCount: uint32(l.DroppedAttributeCount)})
	}
	return ps
}

// flags is the OTLP flags field of a span or link: the W3C trace flags in
// the low byte, then the bit that says whether the parent (of a link: the
// linked span) is remote is known, and that bit, as the SDK's exporter sends
// them (0x101 for a sampled span with a local parent, 0x301 with a remote
// one).
func flags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	if parent.IsRemote() {
		f |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	return f
}

func attrs(kvs []attribute.KeyValue, red *redact.Redactor) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, &commonpb.KeyValue{Key: utf8Valid(string(kv.Key)), Value: value(red.KeyValue(kv).Value)})
	}
	return out
}

func value(v attribute.Value) *commonpb.AnyValue {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: utf8Valid(s)}}
	}
	i64 := func(n int64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}
	}
	f64 := func(f float64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
	}
	boo := func(b bool) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
	}
	arr := func(vs []*commonpb.AnyValue) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
	}
	switch v.Type() {
	case attribute.BOOL:
		return boo(v.AsBool())
	case attribute.INT64:
		return i64(v.AsInt64())
	case attribute.FLOAT64:
		return f64(v.AsFloat64())
	case attribute.STRING:
		return str(v.AsString())
	case attribute.BOOLSLICE:
		return arr(mapSlice(v.AsBoolSlice(), boo))
	case attribute.INT64SLICE:
		return arr(mapSlice(v.AsInt64Slice(), i64))
	case attribute.FLOAT64SLICE:
		return arr(mapSlice(v.AsFloat64Slice(), f64))
	case attribute.STRINGSLICE:
		return arr(mapSlice(v.AsStringSlice(), str))
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.SLICE:
		return arr(mapSlice(v.AsSlice(), value))
	case attribute.MAP:
		kvs := v.AsMap()
		out := &commonpb.KeyValueList{}
		for _, kv := range kvs {
			out.Values = append(out.Values, &commonpb.KeyValue{Key: utf8Valid(string(kv.Key)), Value: value(kv.Value)})
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: out}}
	}
	return &commonpb.AnyValue{}
}

func mapSlice[T any](in []T, f func(T) *commonpb.AnyValue) []*commonpb.AnyValue {
	out := make([]*commonpb.AnyValue, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

// convertIDs rewrites the traceId, spanId and parentSpanId strings of an
// OTLP JSON document with conv.
func convertIDs(b []byte, conv func(string) (string, error)) ([]byte, error) {
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("debugz: decode OTLP: %w", err)
	}
	var walkErr error
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
					if c, err := conv(s); err != nil {
						walkErr = fmt.Errorf("debugz: %s %q: %w", k, s, err)
					} else {
						v[k] = c
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if walkErr != nil {
		return nil, walkErr
	}
	return json.MarshalIndent(doc, "", "  ")
}

func base64ToHex(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return hex.EncodeToString(b), err
}

func hexToBase64(s string) (string, error) {
	b, err := hex.DecodeString(s)
	return base64.StdEncoding.EncodeToString(b), err
}

// utf8Valid replaces each run of invalid UTF-8 in s by U+FFFD: OTLP/JSON,
// like protobuf strings, must be valid UTF-8, and one bad byte in one
// attribute must not make the whole trace unreadable.
func utf8Valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
