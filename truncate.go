package debugz

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/debugz/debugz/internal/textcut"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// truncate returns a copy of s that fits in maxBytes as [spanSize] counts
// them: no name, key or value keeps more than maxBytes/8 bytes (at least 64),
// and attributes, events and links past the budget are dropped and counted as
// dropped. Every slice of the copy is new and exactly as long as what it
// keeps (it grows by appending and is copied to its length at the end, never
// preallocated for what the budget might hold), so the copy holds about
// maxBytes and nothing of s stays reachable from it. It runs only for spans
// over the cap; the common path keeps the SDK's snapshot without a copy.
func truncate(s sdktrace.ReadOnlySpan, maxBytes int) sdktrace.ReadOnlySpan {
	t := truncator{budget: maxBytes, perValue: max(maxBytes/8, 64)}
	st := s.Status()
	c := &spanCopy{
		name: t.str(s.Name()), sc: s.SpanContext(), parent: s.Parent(), kind: s.SpanKind(),
		start: s.StartTime(), end: s.EndTime(), status: sdktrace.Status{Code: st.Code},
		res: s.Resource(), scope: s.InstrumentationScope(),
		droppedAttrs: s.DroppedAttributes(), droppedEvents: s.DroppedEvents(),
		droppedLinks: s.DroppedLinks(), children: s.ChildSpanCount(),
	}
	c.status.Description = t.str(st.Description)
	c.attrs = t.attrs(s.Attributes(), &c.droppedAttrs)
	events := s.Events()
	for _, e := range events {
		name := cut(e.Name, t.perValue)
		if cost := len(name) + eventOverhead; cost <= t.budget {
			t.budget -= cost
			c.events = append(c.events, sdktrace.Event{Name: name, Time: e.Time,
				DroppedAttributeCount: e.DroppedAttributeCount})
			last := &c.events[len(c.events)-1]
			last.Attributes = t.attrs(e.Attributes, &last.DroppedAttributeCount)
		} else {
			c.droppedEvents++
		}
	}
	c.events = exact(c.events)
	for _, l := range s.Links() {
		if linkOverhead <= t.budget {
			t.budget -= linkOverhead
			c.links = append(c.links, sdktrace.Link{SpanContext: l.SpanContext, DroppedAttributeCount: l.DroppedAttributeCount})
			last := &c.links[len(c.links)-1]
			last.Attributes = t.attrs(l.Attributes, &last.DroppedAttributeCount)
		} else {
			c.droppedLinks++
		}
	}
	c.links = exact(c.links)
	c.compact()
	return c
}

// compact moves what the copy keeps into two allocations of their exact
// length, one for every attribute (the span's, its events' and its links'),
// one for every string: many small allocations made among the thousands of
// the original dropped would keep the pages those share from being freed.
func (c *spanCopy) compact() {
	lists := []*[]attribute.KeyValue{&c.attrs}
	for i := range c.events {
		lists = append(lists, &c.events[i].Attributes)
	}
	for i := range c.links {
		lists = append(lists, &c.links[i].Attributes)
	}
	kvs, bytes := 0, len(c.name)+len(c.status.Description)
	for _, l := range lists {
		kvs += len(*l)
		for _, kv := range *l {
			bytes += len(kv.Key) + len(kv.Value.AsString())
		}
	}
	for i := range c.events {
		bytes += len(c.events[i].Name)
	}
	buf := make([]byte, 0, bytes)
	own := func(s string) string {
		if s == "" {
			return ""
		}
		buf = append(buf, s...)
		return unsafe.String(&buf[len(buf)-len(s)], len(s)) // buf is never written again
	}
	c.name, c.status.Description = own(c.name), own(c.status.Description)
	for i := range c.events {
		c.events[i].Name = own(c.events[i].Name)
	}
	slab := make([]attribute.KeyValue, 0, kvs)
	for _, l := range lists {
		from := len(slab)
		for _, kv := range *l {
			if kv.Value.Type() == attribute.STRING {
				kv.Value = attribute.StringValue(own(kv.Value.AsString()))
			}
			slab = append(slab, attribute.KeyValue{Key: attribute.Key(own(string(kv.Key))), Value: kv.Value})
		}
		if len(*l) > 0 {
			*l = slab[from:len(slab):len(slab)]
		}
	}
}

type truncator struct{ budget, perValue int }

// str cuts s to the per-value limit and charges it to the budget.
func (t *truncator) str(s string) string {
	s = cut(s, t.perValue)
	t.budget -= len(s)
	return s
}

const truncatedMark = "…[truncated "

// attrs returns the attributes of in that fit the budget, each cut to the
// per-value limit, in a new slice.
func (t *truncator) attrs(in []attribute.KeyValue, dropped *int) []attribute.KeyValue {
	var out []attribute.KeyValue
	for _, kv := range in {
		key := attribute.Key(cut(string(kv.Key), t.perValue))
		v := kv.Value
		if valueSize(v) > t.perValue {
			v = attribute.StringValue(cut(v.String(), t.perValue))
		}
		if cost := len(key) + attrOverhead + valueSize(v); cost <= t.budget {
			t.budget -= cost
			out = append(out, attribute.KeyValue{Key: key, Value: v})
		} else {
			*dropped++
		}
	}
	return out // compact copies it to its length
}

// cut shortens s to at most n bytes on a rune boundary and says how much
// went. The result is a new string when s was cut, so that a cut string does
// not keep the original's bytes alive.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	p := textcut.Prefix(s, n)
	return p + truncatedMark + strconv.Itoa(len(s)-len(p)) + " bytes]"
}

// spanCopy is a read-only span that debugz built itself: the truncated copy
// of a span over the byte cap. The embedded interface is nil; it is there
// only for ReadOnlySpan's unexported method, which nothing calls.
type spanCopy struct {
	sdktrace.ReadOnlySpan

	name                                                string
	sc, parent                                          trace.SpanContext
	kind                                                trace.SpanKind
	start, end                                          time.Time
	attrs                                               []attribute.KeyValue
	events                                              []sdktrace.Event
	links                                               []sdktrace.Link
	status                                              sdktrace.Status
	res                                                 *resource.Resource
	scope                                               instrumentation.Scope
	droppedAttrs, droppedEvents, droppedLinks, children int
}

func (c *spanCopy) Name() string                                { return c.name }
func (c *spanCopy) SpanContext() trace.SpanContext              { return c.sc }
func (c *spanCopy) Parent() trace.SpanContext                   { return c.parent }
func (c *spanCopy) SpanKind() trace.SpanKind                    { return c.kind }
func (c *spanCopy) StartTime() time.Time                        { return c.start }
func (c *spanCopy) EndTime() time.Time                          { return c.end }
func (c *spanCopy) Attributes() []attribute.KeyValue            { return c.attrs }
func (c *spanCopy) Links() []sdktrace.Link                      { return c.links }
func (c *spanCopy) Events() []sdktrace.Event                    { return c.events }
func (c *spanCopy) Status() sdktrace.Status                     { return c.status }
func (c *spanCopy) InstrumentationScope() instrumentation.Scope { return c.scope }
func (c *spanCopy) Resource() *resource.Resource                { return c.res }
func (c *spanCopy) DroppedAttributes() int                      { return c.droppedAttrs }
func (c *spanCopy) DroppedLinks() int                           { return c.droppedLinks }
func (c *spanCopy) DroppedEvents() int                          { return c.droppedEvents }
func (c *spanCopy) ChildSpanCount() int                         { return c.children }

//lint:ignore SA1019 part of the ReadOnlySpan interface
func (c *spanCopy) InstrumentationLibrary() instrumentation.Library { return c.scope }

// exact returns s in a slice of its own length: the spare capacity that
// appending left would otherwise stay reachable from the copy.
func exact[T any](s []T) []T {
	if len(s) == cap(s) {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}
