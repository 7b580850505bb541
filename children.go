package debugz

import (
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// childSlots is the size of the child table (64 KiB): a few thousand live
// spans under RPCs with few collisions (two slots per key).
const (
	childBits  = 12
	childSlots = 1 << childBits
)

// childTable remembers, for the spans running under an RPC (a handler's
// own spans, at any depth), which RPC they run under: the key of the
// nearest server or client span above them. A log line written in such a
// span is kept with that RPC (LogHandler), although a span only knows its
// immediate parent.
//
// OnStart fills it: a span that is neither server nor client maps to what
// its parent maps to, or, when its parent is not in the table, to its
// parent itself, which is then the RPC (the in-flight table holds it) or a
// span under no RPC. So each entry names its RPC directly, however deep the
// span, and a lookup is one probe. OnEnd forgets the span again.
//
// It is a fixed array made by LogHandler's first call (a processor whose
// user logs nothing has none and does nothing more per span): memory is
// bounded whatever the spans do. A key may live in either of two adjacent
// slots; a new span takes an empty one, else it replaces the first, so a
// flood of spans that never end costs the oldest their entries, never new
// spans theirs. A line logged in a span that lost its entry falls back to
// the span itself and its parent, as for spans started before LogHandler.
//
// No lock, and as few locked instructions as can be (BenchmarkChildTable):
// starting a span stores two words, ending it is one CompareAndSwap. A slot
// holds the child's key and link, its RPC's key XOR the child's, written
// link first. A reader that finds its key takes link XOR key: should a
// writer have replaced the slot between its two loads, that is a mix of two
// random 64-bit keys, which names no span in flight (the line is then only
// on the logs page), never another RPC.
type childTable struct {
	slots [childSlots]childSlot
}

type childSlot struct {
	child atomic.Uint64 // a span key (activeKey); 0 is an empty slot
	link  atomic.Uint64 // its RPC's key ^ child
}

// pair is the first of the two slots where key may be.
func (t *childTable) pair(key uint64) int {
	return int((key*0x9E3779B97F4A7C15)>>(64-childBits)) &^ 1 // Fibonacci hashing, as activeShard.home
}

// rpcOf returns what child maps to, or 0.
func (t *childTable) rpcOf(child uint64) uint64 {
	if t == nil || child == 0 {
		return 0
	}
	p := t.pair(child)
	for i := p; i < p+2; i++ {
		if s := &t.slots[i]; s.child.Load() == child {
			return s.link.Load() ^ child
		}
	}
	return 0
}

// start maps the starting span child, whose parent is parent, to its RPC.
func (t *childTable) start(child, parent uint64) {
	if child == 0 || parent == 0 {
		return
	}
	rpc := t.rpcOf(parent)
	if rpc == 0 {
		rpc = parent
	}
	p := t.pair(child)
	s := &t.slots[p]
	if s.child.Load() != 0 && t.slots[p+1].child.Load() == 0 {
		s = &t.slots[p+1]
	}
	s.link.Store(rpc ^ child)
	s.child.Store(child)
}

// end forgets the ending span child.
func (t *childTable) end(child uint64) {
	if child == 0 {
		return
	}
	p := t.pair(child)
	for i := p; i < p+2; i++ {
		if s := &t.slots[i]; s.child.Load() == child {
			s.child.CompareAndSwap(child, 0)
		}
	}
}

// startChild records a starting span that is neither server nor client
// under its RPC, once LogHandler has made the table. The parent is read
// from the span (its own lock, not ours); a remote parent is no local span.
func (sp *SpanProcessor) startChild(s sdktrace.ReadWriteSpan) {
	t := sp.children.Load()
	if t == nil {
		return
	}
	if p := s.Parent(); p.IsValid() && !p.IsRemote() {
		t.start(activeKey(s.SpanContext()), activeKey(p))
	}
}
