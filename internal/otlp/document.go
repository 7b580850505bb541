package otlp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/debugz/debugz/internal/redact"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// A large document span by span, for a snapshot: each span is encoded on
// its own, so that its size is known before it is kept, and the document
// is put together from the kept ones without encoding them again.

// Encode renders OTLP trace data as [JSON] does.
func Encode(td *tracepb.TracesData) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(td)
	if err != nil {
		return nil, fmt.Errorf("debugz: encode OTLP: %w", err)
	}
	return convertIDs(b, base64ToHex)
}

// SelectTrace returns the spans of td in the trace with hex ID id, in their
// resources and scopes; nil when it has none.
func SelectTrace(td *tracepb.TracesData, id string) *tracepb.TracesData {
	tid, err := hex.DecodeString(id)
	if err != nil {
		return nil
	}
	out := &tracepb.TracesData{}
	for _, rs := range td.ResourceSpans {
		var nrs *tracepb.ResourceSpans
		for _, ss := range rs.ScopeSpans {
			var nss *tracepb.ScopeSpans
			for _, s := range ss.Spans {
				if !bytes.Equal(s.TraceId, tid) {
					continue
				}
				if nrs == nil {
					nrs = &tracepb.ResourceSpans{Resource: rs.Resource, SchemaUrl: rs.SchemaUrl}
					out.ResourceSpans = append(out.ResourceSpans, nrs)
				}
				if nss == nil {
					nss = &tracepb.ScopeSpans{Scope: ss.Scope, SchemaUrl: ss.SchemaUrl}
					nrs.ScopeSpans = append(nrs.ScopeSpans, nss)
				}
				nss.Spans = append(nss.Spans, s)
			}
		}
	}
	if len(out.ResourceSpans) == 0 {
		return nil
	}
	return out
}

// EncodedSpan is one span in OTLP/JSON with hex IDs, and the resource and
// scope it goes under.
type EncodedSpan struct {
	JSON     []byte
	resource *resource.Resource
	scope    instrumentation.Scope
}

// EncodeSpan renders one span as the object it is in a [JSON] document.
func EncodeSpan(s *Span, red *redact.Redactor) (EncodedSpan, error) {
	ps := span(s, red)
	out := EncodedSpan{resource: s.Resource, scope: s.Scope}
	if len(ps.Links) > 0 { // their IDs are deeper in: the slow way
		b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(ps)
		if err == nil {
			b, err = convertIDs(b, base64ToHex)
		}
		if err != nil {
			return out, fmt.Errorf("debugz: encode OTLP: %w", err)
		}
		out.JSON, err = compact(b)
		return out, err
	}
	// Without its IDs, protojson writes none of them; they go first, in hex.
	ps.TraceId, ps.SpanId, ps.ParentSpanId = nil, nil, nil
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(ps)
	if err != nil {
		return out, fmt.Errorf("debugz: encode OTLP: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(b) + 100)
	buf.WriteString(`{"traceId":"`)
	buf.WriteString(hex.EncodeToString(s.TraceID[:]))
	buf.WriteString(`","spanId":"`)
	buf.WriteString(hex.EncodeToString(s.SpanID[:]))
	buf.WriteByte('"')
	if id := s.Parent.SpanID(); id.IsValid() {
		buf.WriteString(`,"parentSpanId":"`)
		buf.WriteString(hex.EncodeToString(id[:]))
		buf.WriteByte('"')
	}
	rest := bytes.TrimSpace(b[1:]) // after protojson's "{"
	if !bytes.HasPrefix(rest, []byte("}")) {
		buf.WriteByte(',')
	}
	buf.Write(rest)
	out.JSON = buf.Bytes()
	return out, nil
}

// compact removes the insignificant white space of a JSON document.
func compact(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("debugz: encode OTLP: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteDocument writes encoded spans as one [JSON] document, grouped by
// resource and scope in the order they first appear, with the resources'
// and scopes' attributes redacted by red.
func WriteDocument(w *bytes.Buffer, spans []EncodedSpan, red *redact.Redactor) error {
	type group struct {
		res   *resource.Resource
		scope instrumentation.Scope
		spans [][]byte
	}
	var resources []*resource.Resource
	groups := map[*resource.Resource][]*group{}
	for i := range spans {
		s := &spans[i]
		gs, seen := groups[s.resource]
		if !seen {
			resources = append(resources, s.resource)
		}
		var g *group
		for _, x := range gs {
			if x.scope == s.scope {
				g = x
			}
		}
		if g == nil {
			g = &group{res: s.resource, scope: s.scope}
			groups[s.resource] = append(gs, g)
		}
		g.spans = append(g.spans, s.JSON)
	}
	m := protojson.MarshalOptions{UseEnumNumbers: true}
	w.WriteString(`{"resourceSpans":[`)
	for i, res := range resources {
		if i > 0 {
			w.WriteByte(',')
		}
		rs := &tracepb.ResourceSpans{Resource: &resourcepb.Resource{}}
		if res != nil {
			rs.Resource.Attributes = attrs(res.Attributes(), red)
			rs.SchemaUrl = res.SchemaURL()
		}
		if err := writeField(w, m, `{"resource":`, rs.Resource); err != nil {
			return err
		}
		if rs.SchemaUrl != "" {
			writeString(w, `,"schemaUrl":`, rs.SchemaUrl)
		}
		w.WriteString(`,"scopeSpans":[`)
		for j, g := range groups[res] {
			if j > 0 {
				w.WriteByte(',')
			}
			scope := &commonpb.InstrumentationScope{Name: utf8Valid(g.scope.Name), Version: utf8Valid(g.scope.Version),
				Attributes: attrs(g.scope.Attributes.ToSlice(), red)}
			if err := writeField(w, m, `{"scope":`, scope); err != nil {
				return err
			}
			if g.scope.SchemaURL != "" {
				writeString(w, `,"schemaUrl":`, utf8Valid(g.scope.SchemaURL))
			}
			w.WriteString(`,"spans":[`)
			for k, b := range g.spans {
				if k > 0 {
					w.WriteByte(',')
				}
				w.Write(b)
			}
			w.WriteString("]}")
		}
		w.WriteString("]}")
	}
	w.WriteString("]}")
	return nil
}

func writeField(w *bytes.Buffer, m protojson.MarshalOptions, prefix string, msg proto.Message) error {
	b, err := m.Marshal(msg)
	if err != nil {
		return fmt.Errorf("debugz: encode OTLP: %w", err)
	}
	w.WriteString(prefix)
	w.Write(b)
	return nil
}

// writeString writes prefix and s as a JSON string.
func writeString(w *bytes.Buffer, prefix, s string) {
	b, _ := json.Marshal(s) // a string always encodes
	w.WriteString(prefix)
	w.Write(b)
}
