package debugz

import (
	"github.com/debugz/debugz/internal/otlp"
	"github.com/debugz/debugz/internal/redact"
	otelcodes "go.opentelemetry.io/otel/codes"
)

// otlpJSON renders spans in the OTLP/JSON encoding (see [otlp.JSON]), with
// credentials redacted by red (nil for none). It says what the SDK's OTLP
// exporter says of each span: its status message is the status's own
// description (the SDK keeps one only for Error), not the attribute that
// [Span.StatusMessage] falls back to for the pages.
func otlpJSON(spans []Span, red *redact.Redactor) ([]byte, error) {
	out := make([]otlp.Span, len(spans))
	for i := range spans {
		out[i] = otlpSpan(&spans[i])
	}
	return otlp.JSON(out, red)
}

// otlpSpan is what the OTLP encoding needs of s.
func otlpSpan(s *Span) otlp.Span {
	return otlp.Span{
		TraceID: s.TraceID, SpanID: s.SpanID, TraceFlags: s.traceFlags, Parent: s.Parent, TraceState: s.TraceState,
		Name: s.Name, Kind: s.Kind, Start: s.Start, End: s.End,
		Attributes: s.Attributes, Events: s.Events, Links: s.Links,
		StatusCode: statusCode(s.StatusCode), StatusMessage: s.statusDescription,
		Resource: s.Resource, Scope: s.Scope,
		DroppedAttributes: s.DroppedAttributes, DroppedEvents: s.DroppedEvents, DroppedLinks: s.DroppedLinks,
	}
}

// statusCode reads back the OTel status code that [Span.StatusCode] spells.
func statusCode(s string) otelcodes.Code {
	switch s {
	case otelcodes.Error.String():
		return otelcodes.Error
	case otelcodes.Ok.String():
		return otelcodes.Ok
	}
	return otelcodes.Unset
}
