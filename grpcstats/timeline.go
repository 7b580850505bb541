package grpcstats

import (
	"cmp"
	"github.com/debugz/debugz/internal/semconv"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
)

// maxTimeline bounds WithMessageTimeline's n, so that the slots of an RPC
// are counted in an int on every platform.
const maxTimeline = 1 << 16

// slotSet holds the timeline of one direction: the first len(first) messages
// in order, and the latest ones after those in the ring.
type slotSet struct {
	first, ring []slot
}

// slot is one message of the timeline. A writer clears id, writes the rest and
// then sets id, so a reader that sees the same id before and after reading the
// rest has read one message, never a mix of two.
type slot struct {
	id   atomic.Uint64
	size atomic.Uint64 // uncompressed << 32 | compressed, each capped at 2^32-1
	at   atomic.Int64  // unix ns; 0 if grpc gave no time
}

// begin sets up the timeline of both directions: one inline slot for a
// direction that carries one message, 2n for a streaming one. A unary call
// gets no timeline: its counts say all, and two events per call would cost
// more than the rest of the wrapper (BenchmarkUnaryCall).
func (st *rpcState) begin(n int, b *stats.Begin) {
	if n <= 0 || !b.IsClientStream && !b.IsServerStream || st.dirs[sent].slots.Load() != nil {
		return
	}
	n = min(n, maxTimeline)
	streams := [2]bool{b.IsClientStream, b.IsServerStream} // sent, received, as a client
	if !b.Client {
		streams[sent], streams[received] = streams[received], streams[sent]
	}
	var buf []slot
	if k := 2 * n * (b2i(streams[sent]) + b2i(streams[received])); k > 0 {
		buf = make([]slot, k)
	}
	for d := range st.dirs {
		set := &st.sets[d]
		if streams[d] {
			set.first, set.ring, buf = buf[:n:n], buf[n:2*n:2*n], buf[2*n:]
		} else {
			set.first = st.inline[d : d+1 : d+1]
		}
		st.dirs[d].slots.Store(set)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// put keeps message id in its slot, if the timeline has one for it: the first
// len(set.first) messages have theirs, the later ones take turns in the ring.
func (set *slotSet) put(id uint64, length, compressed int, at int64) {
	var s *slot
	nf := uint64(len(set.first))
	if i := id - 1; i < nf {
		s = &set.first[i]
	} else if nr := uint64(len(set.ring)); nr > 0 {
		s = &set.ring[(i-nf)%nr]
	} else {
		return
	}
	s.id.Store(0)
	s.size.Store(packSizes(length, compressed))
	s.at.Store(at)
	s.id.Store(id)
}

// packSizes packs two sizes into a slot's size word.
func packSizes(length, compressed int) uint64 {
	return clamp32(length)<<32 | clamp32(compressed)
}

// clamp32 is n limited to 0…2^32-1.
func clamp32(n int) uint64 {
	if n <= 0 {
		return 0
	}
	return min(uint64(n), math.MaxUint32)
}

// read appends the messages of the timeline, in id order, of direction d,
// which has seen n messages. A slot being overwritten is skipped.
func (set *slotSet) read(evs []msgEvent, d int, n uint64) []msgEvent {
	get := func(s *slot, id uint64) {
		if s.id.Load() != id {
			return
		}
		size, at := s.size.Load(), s.at.Load()
		if s.id.Load() != id {
			return
		}
		evs = append(evs, msgEvent{dir: d, id: id, size: int64(size >> 32), csize: int64(size & math.MaxUint32), at: at})
	}
	nf := uint64(len(set.first))
	for id := uint64(1); id <= min(n, nf); id++ {
		get(&set.first[id-1], id)
	}
	if nr := uint64(len(set.ring)); nr > 0 && n > nf {
		from := max(nf, n-min(n, nr)) + 1 // the oldest message the ring still holds
		for id := from; id <= n; id++ {
			get(&set.ring[(id-nf-1)%nr], id)
		}
	}
	return evs
}

// msgEvent is one message of the timeline as read at the end.
type msgEvent struct {
	dir         int // sent or received
	id          uint64
	size, csize int64
	at          int64 // unix ns, 0 if unknown
	text        string
	hasText     bool
}

var messageTypes = [2]attribute.KeyValue{
	sent:     attribute.String(semconv.MessageType, semconv.MessageTypeSent),
	received: attribute.String(semconv.MessageType, semconv.MessageTypeReceived),
}

// addEvents adds the timeline and the captured messages as events, in time
// order (message id order within a direction).
func (st *rpcState) addEvents(span trace.Span, buf *endBuffers) {
	var small [4]msgEvent // enough for a unary RPC
	evs := small[:0]
	if size := st.eventsCap(); size > len(small) {
		evs = make([]msgEvent, 0, size)
	}
	for d := range st.dirs {
		dir := &st.dirs[d]
		set := dir.slots.Load()
		if set == nil && st.capture == nil {
			continue
		}
		n := dir.count.Load()
		from := len(evs)
		if set != nil {
			evs = set.read(evs, d, n)
		}
		if st.capture != nil {
			evs = st.capture.merge(evs, from, d)
		}
	}
	if len(evs) == 0 {
		return
	}
	slices.SortStableFunc(evs, func(a, b msgEvent) int { return cmp.Compare(a.at, b.at) })
	// AddEvent reads its options through trace.NewEventConfig, which copies
	// the attributes: the buffers are free again when it returns.
	kvs, opts := buf.kvs[:], buf.opts[:]
	for i := range evs {
		e := &evs[i]
		kvs[0] = messageTypes[e.dir]
		kvs[1] = attribute.Int64(semconv.MessageID, int64(e.id))
		kvs[2] = attribute.Int64(semconv.MessageUncompressedSize, e.size)
		kvs[3] = attribute.Int64(semconv.MessageCompressedSize, e.csize)
		n := 4
		if e.hasText {
			kvs[4], n = attribute.String(semconv.MessageText, e.text), 5
		}
		opts[0] = trace.WithAttributes(kvs[:n]...)
		o := opts[:1]
		if e.at != 0 {
			opts[1], o = trace.WithTimestamp(time.Unix(0, e.at)), opts[:2]
		}
		span.AddEvent(semconv.EventMessage, o...)
	}
}

// eventsCap bounds the number of events addEvents will add.
func (st *rpcState) eventsCap() (n int) {
	for d := range st.dirs {
		dir := &st.dirs[d]
		held := 0
		if set := dir.slots.Load(); set != nil {
			held = len(set.first) + len(set.ring)
		}
		if st.capture != nil {
			held += 2 * captureEach
		}
		n += int(min(dir.count.Load(), uint64(held)))
	}
	return n
}
