package debugz

import (
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Fixed costs, in bytes, that the size estimate charges for each part of a
// span beside the bytes of its strings, so that a span of many empty events
// or links is as bounded as one of long values.
const (
	attrOverhead  = 8
	eventOverhead = 32
	linkOverhead  = 48
)

// spanSize is the one size estimate of a span, which WithMaxSpanBytes
// bounds and truncate meets: the bytes of its name, status message, events
// and links, plus attrSize, the [attrsSize] of its attributes (which
// readAttributes reports). When m is not nil, the same pass over the events
// counts otelgrpc's message events into it (see
// messageStats.readMessageEvent). It does not allocate, unless an attribute
// holds a slice or a map (see [valueSize]).
func spanSize(name, status string, attrSize int, events []sdktrace.Event, links []sdktrace.Link, m *messageStats) int {
	n := len(name) + len(status) + attrSize
	for i := range events {
		e := &events[i]
		n += len(e.Name) + eventOverhead + attrsSize(e.Attributes)
		if m != nil && e.Name == semconv.EventMessage {
			m.readMessageEvent(e)
		}
	}
	for i := range links {
		n += linkOverhead + attrsSize(links[i].Attributes)
	}
	return n
}

// attrsSize is the size of a list of attributes: per attribute, its key,
// attrOverhead and, for a string, its bytes; for a slice or a map, its
// [valueSize].
func attrsSize(kvs []attribute.KeyValue) int {
	n := 0
	for i := range kvs {
		kv := &kvs[i]
		n += len(kv.Key) + attrOverhead + len(kv.Value.AsString()) // AsString is "" unless a string
		if kv.Value.Type() > attribute.STRING {
			n += valueSize(kv.Value)
		}
	}
	return n
}

// valueSize estimates the bytes an attribute value holds.
func valueSize(v attribute.Value) int {
	switch v.Type() {
	case attribute.STRING:
		return len(v.AsString())
	case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.EMPTY:
		return 8
	default: // slices and maps: rare, and worth the allocation to measure
		return len(v.String())
	}
}
