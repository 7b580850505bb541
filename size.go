package debugz

import (
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// What a retained span really holds for each part of it, beside the bytes of
// its strings: the SDK's structs, measured, so that the byte cap bounds the
// heap and not a guess at it. An attribute holds its key and value inline
// (64 bytes on 64-bit platforms), an event its name, time and attribute
// slice (72), a link its span context and attribute slice (96).
const (
	attrOverhead  = int(unsafe.Sizeof(attribute.KeyValue{}))
	eventOverhead = int(unsafe.Sizeof(sdktrace.Event{}))
	linkOverhead  = int(unsafe.Sizeof(sdktrace.Link{}))
)

// spanSize is the one size estimate of a span, which WithMaxSpanBytes
// bounds and truncate meets: the bytes of its name, status message, events
// and links (their arrays' capacity, as for attributes), plus attrSize, the [attrsSize] of its attributes (which
// readAttributes reports). When m is not nil, the same pass over the events
// counts otelgrpc's message events into it (see [messageStats.sizeEvent]),
// reading each attribute once. It does not allocate, unless an attribute
// holds a slice or a map (see [valueSize]).
func spanSize(name, status string, attrSize int, events []sdktrace.Event, links []sdktrace.Link, m *messageStats) int {
	n := len(name) + len(status) + attrSize + cap(events)*eventOverhead + cap(links)*linkOverhead
	for i := range events {
		e := &events[i]
		if m != nil {
			n += m.sizeEvent(e)
		} else {
			n += len(e.Name) + attrsSize(e.Attributes)
		}
	}
	for i := range links {
		n += attrsSize(links[i].Attributes)
	}
	return n
}

// attrsSize is the size of a list of attributes: attrOverhead for each
// attribute its array holds room for (the SDK's arrays, grown by appending,
// have spare capacity, which a retained span keeps), and each attribute's key
// and its value's [valueSize].
func attrsSize(kvs []attribute.KeyValue) int {
	n := (cap(kvs) - len(kvs)) * attrOverhead
	for i := range kvs {
		kv := &kvs[i]
		if n += attrSize(kv); kv.Value.Type() > attribute.STRING {
			n += compositeSize(kv)
		}
	}
	return n
}

// attrSize is one attribute's share of [attrsSize] but for a slice's or a
// map's [compositeSize]: attrOverhead, its key and a string's bytes. It is
// inlined, so that readAttributes sizes the attributes in the pass that
// reads them (a call per attribute costs OnEnd a tenth of its time).
func attrSize(kv *attribute.KeyValue) int {
	return len(kv.Key) + attrOverhead + len(kv.Value.AsString()) // AsString is "" unless a string
}

// compositeSize is the [valueSize] of a slice or map attribute.
func compositeSize(kv *attribute.KeyValue) int { return valueSize(kv.Value) }

// valueSize is what an attribute value holds outside its KeyValue: nothing
// for a number or a bool (they are inline), a string's bytes, a slice's
// array (and its strings' bytes).
func valueSize(v attribute.Value) int {
	switch v.Type() {
	case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.EMPTY:
		return 0
	case attribute.STRING:
		return len(v.AsString())
	// Slices and maps: rare, and worth the allocation to measure.
	case attribute.BOOLSLICE:
		return len(v.AsBoolSlice())
	case attribute.INT64SLICE:
		return 8 * len(v.AsInt64Slice())
	case attribute.FLOAT64SLICE:
		return 8 * len(v.AsFloat64Slice())
	case attribute.STRINGSLICE:
		n := 0
		for _, s := range v.AsStringSlice() {
			n += int(unsafe.Sizeof(s)) + len(s)
		}
		return n
	default: // byte slices, maps: their text, twice over for the structure
		return 2 * len(v.String())
	}
}
