package debugz

import (
	"encoding/binary"
	"iter"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// recordRing is the ring of retained records (the recent gRPC spans, the
// other spans): [ringbuffer.Ring]'s design (a claimed push number, a lock
// per slot) with what its readers need to skip the scan of every slot. Each
// push is threaded on three chains, newest first, through the records
// themselves: its span ID's and its trace ID's (by hash bucket, shared by
// the IDs that collide) and, in the recent ring, its row's. A chain's head
// is an atomic swapped by the push (a row body's, a field under its lock,
// which OnEnd holds anyway), so threading costs no lock of its own and no
// allocation, and nothing is removed: a chain ends at its first record the
// ring has overwritten, all older ones being overwritten too. Span(id) and
// Trace(id) read a chain or two, Spans of a method that method's records.
type recordRing struct {
	next    atomic.Uint64 // number of pushes claimed so far
	slots   []recordSlot
	bySpan  chainHeads
	byTrace chainHeads
}

// recordSlot is two cache lines: the record's push number is its seq (0
// when empty).
type recordSlot struct {
	mu sync.Mutex
	v  record
}

// chainHeads holds the newest push of each hash bucket of IDs.
type chainHeads struct {
	heads []atomic.Uint64
	shift uint // 64 - log2(len(heads))
}

func (h *chainHeads) init(capacity int) {
	size := 1 << bits.Len(uint(capacity-1)) // a power of two ≥ capacity: chains of ≤ 1 held record on average
	h.heads = make([]atomic.Uint64, size)
	h.shift = uint(64 - bits.TrailingZeros(uint(size)))
}

func (h *chainHeads) head(key uint64) *atomic.Uint64 {
	return &h.heads[(key*0x9E3779B97F4A7C15)>>h.shift] // Fibonacci hashing
}

func spanKey(id trace.SpanID) uint64 { return binary.LittleEndian.Uint64(id[:]) }

func traceKey(id trace.TraceID) uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
}

func newRecordRing(capacity int) *recordRing {
	r := &recordRing{slots: make([]recordSlot, capacity)}
	r.bySpan.init(capacity)
	r.byTrace.init(capacity)
	return r
}

// push stores rec with its push number and threads it on its span ID's and
// trace ID's chains: claim, then store.
func (r *recordRing) push(rec *record) {
	r.claim(rec)
	r.store(rec)
}

// claim gives rec its push number (rec.seq, from 1) and threads it on its
// span ID's and its trace ID's chains; store then stores it. In between,
// OnEnd threads it on its row body's chain under the body's lock
// (rowBody.thread), which it takes anyway. The newest record of a chain may be a push not yet
// stored; a reader that meets it retries (see chain).
func (r *recordRing) claim(rec *record) {
	seq := r.next.Add(1)
	rec.seq = seq
	rec.prevSpan = back(seq, r.bySpan.head(spanKey(rec.spanID)).Swap(seq))
	rec.prevTrace = back(seq, r.byTrace.head(traceKey(rec.traceID)).Swap(seq))
}

// store stores a claimed record in its slot.
func (r *recordRing) store(rec *record) {
	s := &r.slots[(rec.seq-1)%uint64(len(r.slots))]
	s.mu.Lock()
	defer s.mu.Unlock()
	// A slow push may reach its slot after a newer one has claimed it; the
	// newer record wins and this one counts as already overwritten.
	if s.v.seq < rec.seq {
		s.v = *rec
	}
}

// thread puts rec, claimed in the recent ring, at the head of the body's
// chain. The caller holds b.mu.
func (b *rowBody) thread(rec *record) {
	rec.prevRow = back(rec.seq, b.last)
	b.last = rec.seq
}

// newest is the head of the body's chain.
func (b *rowBody) newest() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// back is how far back push prev is from push seq, 0 for none (or one
// that far away, long overwritten). It may be negative: a push claims its
// number before it swaps a chain's head (or takes its row body's lock), and a
// concurrent one may do both in between, so a chain is in swap order, which
// is push order but for such neighbours.
func back(seq, prev uint64) int32 {
	d := int64(seq - prev)
	if prev == 0 || d > math.MaxInt32 || d < math.MinInt32 {
		return 0
	}
	return int32(d)
}

// at returns push seq if the ring still holds it; stored is false while
// that push is in progress (its slot holds an older record).
func (r *recordRing) at(seq uint64) (rec record, ok, stored bool) {
	s := &r.slots[(seq-1)%uint64(len(r.slots))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v.seq == seq {
		return s.v, true, true
	}
	return rec, false, s.v.seq > seq
}

// chain calls f with each record of the chain that starts at push seq,
// newest first, following prev, until f returns false or the chain leaves
// the ring. It returns false if it could not follow the chain: a push in
// progress for longer than a few yields (its thread descheduled); the
// caller then reads the ring through Newest.
func (r *recordRing) chain(seq uint64, prev func(*record) int32, f func(*record) bool) bool {
	for seq != 0 && seq > r.overwritten() {
		rec, ok, stored := r.at(seq)
		for try := 0; !stored && try < 8; try++ {
			runtime.Gosched()
			rec, ok, stored = r.at(seq)
		}
		if !stored {
			return false
		}
		if !ok || !f(&rec) {
			return true // overwritten: so is the rest of the chain
		}
		if d := prev(&rec); d != 0 {
			seq = uint64(int64(seq) - int64(d))
		} else {
			seq = 0
		}
	}
	return true
}

func prevSpan(r *record) int32  { return r.prevSpan }
func prevTrace(r *record) int32 { return r.prevTrace }
func prevRow(r *record) int32   { return r.prevRow }

// Newest yields the records held with their push numbers, newest first,
// copying each out of its slot, as [ringbuffer.Ring.Newest] does.
func (r *recordRing) Newest() iter.Seq2[uint64, record] {
	return func(yield func(uint64, record) bool) {
		next := r.next.Load()
		for i := next; i > next-min(next, uint64(len(r.slots))); i-- {
			if v, ok, _ := r.at(i); ok && !yield(i, v) {
				return
			}
		}
	}
}

// Pushed is the number of pushes so far, Cap the ring's capacity, Len the
// records held: min(Pushed, Cap).
func (r *recordRing) Pushed() uint64 { return r.next.Load() }
func (r *recordRing) Cap() int       { return len(r.slots) }
func (r *recordRing) Len() int       { return int(min(r.Pushed(), uint64(len(r.slots)))) }

// Overwritten is how many records the ring has overwritten: push numbers
// up to it are gone.
func (r *recordRing) Overwritten() uint64 { return r.overwritten() }

func (r *recordRing) overwritten() uint64 {
	next := r.next.Load()
	return next - min(next, uint64(len(r.slots)))
}
