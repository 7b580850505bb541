package debugz

import (
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// childSlots is the size of the child table (96 KiB): a few thousand live
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
// No lock: each slot is a seqlock. A writer takes the slot by moving seq
// from even to odd (CompareAndSwap; one that loses gives up, the table is a
// cache), writes child and rpc, and makes seq even again; a reader accepts
// what it read between two equal even loads of seq.
type childTable struct {
	slots [childSlots]childSlot
}

type childSlot struct {
	seq        atomic.Uint64 // odd while a writer is in the slot
	child, rpc atomic.Uint64 // span keys (activeKey); child 0 is an empty slot
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
		s := &t.slots[i]
		seq := s.seq.Load()
		if seq&1 != 0 || s.child.Load() != child {
			continue
		}
		if rpc := s.rpc.Load(); s.seq.Load() == seq {
			return rpc
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
	i := p
	if t.slots[p].child.Load() != 0 && t.slots[p+1].child.Load() == 0 {
		i = p + 1
	}
	t.write(&t.slots[i], child, rpc)
}

// end forgets the ending span child.
func (t *childTable) end(child uint64) {
	if child == 0 {
		return
	}
	p := t.pair(child)
	for i := p; i < p+2; i++ {
		if t.slots[i].child.Load() == child {
			t.write(&t.slots[i], 0, 0)
		}
	}
}

// write stores child and rpc in s, unless another writer is there.
func (t *childTable) write(s *childSlot, child, rpc uint64) {
	seq := s.seq.Load()
	if seq&1 != 0 || !s.seq.CompareAndSwap(seq, seq+1) {
		return
	}
	s.child.Store(child)
	s.rpc.Store(rpc)
	s.seq.Store(seq + 2)
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
