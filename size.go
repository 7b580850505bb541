package debugz

import (
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
		if m != nil {
			m.readMessageEvent(e) // otelgrpc's or grpc-go's plugin's; others are skipped by name
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
		if n += attrSize(kv); kv.Value.Type() > attribute.STRING {
			n += compositeSize(kv)
		}
	}
	return n
}

// attrSize is one attribute's share of [attrsSize] but for a slice's or a
// map's [compositeSize]: its key, attrOverhead and a string's bytes. It is
// inlined, so that readAttributes sizes the attributes in the pass that
// reads them (a call per attribute costs OnEnd a tenth of its time).
func attrSize(kv *attribute.KeyValue) int {
	return len(kv.Key) + attrOverhead + len(kv.Value.AsString()) // AsString is "" unless a string
}

// compositeSize is the [valueSize] of a slice or map attribute.
func compositeSize(kv *attribute.KeyValue) int { return valueSize(kv.Value) }

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
