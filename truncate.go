package debugz

import (
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// eventsSize estimates the bytes of a span's events and links.
func eventsSize(events []sdktrace.Event, links []sdktrace.Link) int {
	n := 0
	for _, e := range events {
		n += len(e.Name) + 8
		for _, kv := range e.Attributes {
			n += len(kv.Key) + valueSize(kv.Value)
		}
	}
	for _, l := range links {
		n += 16
		for _, kv := range l.Attributes {
			n += len(kv.Key) + valueSize(kv.Value)
		}
	}
	return n
}

// truncate returns a copy of s whose attribute, event and link data fit in
// about maxBytes: no value keeps more than maxBytes/8 bytes, and attributes past
// the budget are dropped (and counted as dropped). It runs only for spans over
// the cap, so the common path never copies.
func truncate(s sdktrace.ReadOnlySpan, maxBytes int) sdktrace.ReadOnlySpan {
	stub := tracetest.SpanStubFromReadOnlySpan(s)
	t := truncator{budget: maxBytes, perValue: max(maxBytes/8, 64)}
	stub.Status.Description = cut(stub.Status.Description, t.perValue)
	t.budget -= len(stub.Status.Description)
	stub.Attributes = t.attrs(stub.Attributes, &stub.DroppedAttributes)
	for i := range stub.Events {
		e := &stub.Events[i]
		t.budget -= len(e.Name) + 8
		e.Attributes = t.attrs(e.Attributes, &e.DroppedAttributeCount)
	}
	for i := range stub.Links {
		l := &stub.Links[i]
		t.budget -= 16
		l.Attributes = t.attrs(l.Attributes, &l.DroppedAttributeCount)
	}
	return stub.Snapshot()
}

type truncator struct{ budget, perValue int }

const truncatedMark = "…[truncated "

func (t *truncator) attrs(in []attribute.KeyValue, dropped *int) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(in))
	for _, kv := range in {
		size := valueSize(kv.Value)
		if size > t.perValue {
			kv = attribute.String(string(kv.Key), cut(kv.Value.String(), t.perValue))
			size = len(kv.Value.AsString())
		}
		if cost := len(kv.Key) + size; cost <= t.budget {
			t.budget -= cost
			out = append(out, kv)
		} else {
			*dropped++
		}
	}
	return out
}

// cut shortens s to at most n bytes on a rune boundary and says how much went.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + truncatedMark + strconv.Itoa(len(s)-i) + " bytes]"
}
