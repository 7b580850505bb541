package debugz

import (
	"strconv"
	"time"

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
// keeps, so nothing of s stays reachable from it. It runs only for spans over
// the cap; the common path keeps the SDK's snapshot without a copy.
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
	c.events = make([]sdktrace.Event, 0, t.fit(len(events), eventOverhead))
	for _, e := range events {
		name := cut(e.Name, t.perValue)
		if cost := len(name) + eventOverhead; len(c.events) < cap(c.events) && cost <= t.budget {
			t.budget -= cost
			c.events = append(c.events, sdktrace.Event{Name: name, Time: e.Time,
				DroppedAttributeCount: e.DroppedAttributeCount})
			last := &c.events[len(c.events)-1]
			last.Attributes = t.attrs(e.Attributes, &last.DroppedAttributeCount)
		} else {
			c.droppedEvents++
		}
	}
	links := s.Links()
	c.links = make([]sdktrace.Link, 0, t.fit(len(links), linkOverhead))
	for _, l := range links {
		if len(c.links) < cap(c.links) && linkOverhead <= t.budget {
			t.budget -= linkOverhead
			c.links = append(c.links, sdktrace.Link{SpanContext: l.SpanContext, DroppedAttributeCount: l.DroppedAttributeCount})
			last := &c.links[len(c.links)-1]
			last.Attributes = t.attrs(l.Attributes, &last.DroppedAttributeCount)
		} else {
			c.droppedLinks++
		}
	}
	return c
}

type truncator struct{ budget, perValue int }

// fit is how many of n items of the given fixed cost the budget can hold.
func (t *truncator) fit(n, cost int) int { return min(n, max(t.budget, 0)/cost) }

// str cuts s to the per-value limit and charges it to the budget.
func (t *truncator) str(s string) string {
	s = cut(s, t.perValue)
	t.budget -= len(s)
	return s
}

const truncatedMark = "…[truncated "

// attrs returns the attributes of in that fit the budget, each cut to the
// per-value limit, in a new slice of their exact length.
func (t *truncator) attrs(in []attribute.KeyValue, dropped *int) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, t.fit(len(in), attrOverhead))
	for _, kv := range in {
		key := attribute.Key(cut(string(kv.Key), t.perValue))
		v := kv.Value
		if valueSize(v) > t.perValue {
			v = attribute.StringValue(cut(v.String(), t.perValue))
		}
		if cost := len(key) + attrOverhead + valueSize(v); len(out) < cap(out) && cost <= t.budget {
			t.budget -= cost
			out = append(out, attribute.KeyValue{Key: key, Value: v})
		} else {
			*dropped++
		}
	}
	return out
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
