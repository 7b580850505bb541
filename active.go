package debugz

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/grpcstats"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const activeShards = 16

// activeTable tracks in-flight spans by span ID: OnStart adds, OnEnd removes.
// It is sharded so that concurrent RPCs rarely share a lock, and each shard is
// a small open-addressing hash table (linear probing, backward-shift delete)
// preallocated at half load, so adding and removing never allocate and cost
// a few compares. Each shard holds at most its share of cfg.maxActive spans;
// a span started when its shard is full takes the place of the shard's
// oldest, which is counted as evicted: a flood of RPCs that never end (a
// caller's unknown methods) cannot keep new RPCs out. A list threaded
// through the slots keeps each shard's spans in the order they were added,
// so finding the oldest (to evict it, or to age spans out) reads one slot,
// however full the shard.
type activeTable struct {
	perShard int
	evicted  atomic.Uint64 // spans pushed out by newer ones or aged out
	shards   [activeShards]activeShard
}

type activeShard struct {
	mu    sync.Mutex
	n     int
	shift uint // 64 - log2(len(slots))
	slots []activeSlot
	// The slots in the order their spans were added: head is the oldest,
	// tail the newest (slot.prev and slot.next link them, -1 ends the list).
	head, tail int32
	_          [16]byte // keep shards on separate cache lines
}

// activeSlot is one slot of a shard's table, its key, list links and entry
// side by side: one cache line, so that adding or removing a span touches
// one line of the table where parallel arrays of each touched four (a cold
// miss each, on a span's first and last call).
type activeSlot struct {
	key        uint64 // span ID; 0 marks an empty slot (no valid span has ID 0)
	prev, next int32
	activeEntry
}

func (t *activeTable) init(maxActive int) {
	t.perShard = max(1, (maxActive+activeShards-1)/activeShards)
	size := 1 << bits.Len(uint(2*t.perShard-1)) // a power of two ≥ 2·perShard
	for i := range t.shards {
		sh := &t.shards[i]
		sh.shift = uint(64 - bits.TrailingZeros(uint(size)))
		sh.slots = make([]activeSlot, size)
		sh.head, sh.tail = -1, -1
	}
}

// activeKey is the table's key of a span: its span ID as a number.
func activeKey(sc trace.SpanContext) uint64 {
	id := sc.SpanID()
	return binary.LittleEndian.Uint64(id[:])
}

func (t *activeTable) shard(key uint64) *activeShard { return &t.shards[key%activeShards] }

// home is the slot where a key's probe starts (Fibonacci hashing).
func (sh *activeShard) home(key uint64) int { return int((key * 0x9E3779B97F4A7C15) >> sh.shift) }

// add tracks s under key.
func (t *activeTable) add(key uint64, s sdktrace.ReadWriteSpan) {
	if key == 0 {
		return
	}
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.n >= t.perShard && sh.find(key) < 0 {
		sh.delete(int(sh.head))
		t.evicted.Add(1)
	}
	mask := len(sh.slots) - 1
	i := sh.home(key)
	for sh.slots[i].key != 0 && sh.slots[i].key != key {
		i = (i + 1) & mask
	}
	if sh.slots[i].key == 0 {
		sh.n++
		sh.link(int32(i))
	}
	sh.slots[i].key, sh.slots[i].activeEntry = key, activeEntry{span: s}
}

// link puts slot i at the tail of the list; the caller holds sh.mu.
func (sh *activeShard) link(i int32) {
	sh.slots[i].prev, sh.slots[i].next = sh.tail, -1
	if sh.tail >= 0 {
		sh.slots[sh.tail].next = i
	} else {
		sh.head = i
	}
	sh.tail = i
}

// unlink takes slot i out of the list; the caller holds sh.mu.
func (sh *activeShard) unlink(i int32) {
	s := &sh.slots[i]
	sh.splice(s.prev, s.next, s.next, s.prev)
}

// move puts the entry of slot j into the empty slot i, in j's place in the
// list; the caller holds sh.mu.
func (sh *activeShard) move(j, i int32) {
	sh.slots[i] = sh.slots[j]
	sh.splice(sh.slots[i].prev, sh.slots[i].next, i, i)
}

// splice points the slot before, p (or the head where p is -1), at after,
// and the slot after, n (or the tail where n is -1), at before.
func (sh *activeShard) splice(p, n, after, before int32) {
	if p >= 0 {
		sh.slots[p].next = after
	} else {
		sh.head = after
	}
	if n >= 0 {
		sh.slots[n].prev = before
	} else {
		sh.tail = before
	}
}

// remove forgets the tracked span key and returns its entry (zero if it
// was not tracked): what was logged and counted while it ran.
func (t *activeTable) remove(key uint64) activeEntry {
	if key == 0 {
		return activeEntry{}
	}
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var e activeEntry
	if i := sh.find(key); i >= 0 {
		e = sh.slots[i].activeEntry
		sh.delete(i)
	}
	return e
}

// find returns the slot holding key, or -1; the caller holds sh.mu.
func (sh *activeShard) find(key uint64) int {
	mask := len(sh.slots) - 1
	for i := sh.home(key); sh.slots[i].key != 0; i = (i + 1) & mask {
		if sh.slots[i].key == key {
			return i
		}
	}
	return -1
}

// delete empties slot i with backward-shift deletion: later entries of the
// probe run move into the hole unless that would put them before their home
// slot. The caller holds sh.mu.
func (sh *activeShard) delete(i int) {
	sh.unlink(int32(i))
	mask := len(sh.slots) - 1
	for j := i; ; {
		j = (j + 1) & mask
		if sh.slots[j].key == 0 {
			break
		}
		h := sh.home(sh.slots[j].key)
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			sh.move(int32(j), int32(i))
			i = j
		}
	}
	sh.slots[i] = activeSlot{}
	sh.n--
}

// spans returns the tracked in-flight spans, each shard's oldest first,
// first forgetting those that started before ageOut (unix ns; 0 keeps all)
// and counting them as evicted. The shards' locks are held only to copy the
// entries: the spans' start times (which take each span's own lock) are read
// after, and an old span is then removed if it is still tracked.
func (t *activeTable) spans(ageOut int64) []activeEntry {
	var out []activeEntry
	for i := range t.shards {
		out = t.shards[i].appendSpans(out)
	}
	if ageOut == 0 {
		return out
	}
	kept := out[:0]
	for _, e := range out {
		if e.span.StartTime().UnixNano() >= ageOut {
			kept = append(kept, e)
		} else if t.remove(activeKey(e.span.SpanContext())).span != nil { // not ended meanwhile
			t.evicted.Add(1)
		}
	}
	return kept
}

func (sh *activeShard) appendSpans(out []activeEntry) []activeEntry {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i := sh.head; i >= 0; i = sh.slots[i].next {
		out = append(out, sh.slots[i].activeEntry)
	}
	return out
}

// activeEntry is a tracked in-flight span, with what grpcstats.WrapHandler
// says of its progress when it is told to (grpcstats.WithProgress).
type activeEntry struct {
	span     sdktrace.ReadWriteSpan
	progress grpcstats.Progress
	logs     *spanLogs // logged while it ran (SpanProcessor.LogHandler); nil if none
	attempts uint16    // its attempts that ended (grpc-go's plugin: attemptOf)
}

// update calls f with the entry of the tracked span key under its shard's
// lock, and reports whether the span is tracked.
func (t *activeTable) update(key uint64, f func(*activeEntry)) bool {
	if key == 0 {
		return false
	}
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i := sh.find(key)
	if i >= 0 {
		f(&sh.slots[i].activeEntry)
	}
	return i >= 0
}

// addLog has fill write a log line kept with the tracked span key, and
// returns that span, or nil if it is not tracked.
func (t *activeTable) addLog(key uint64, fill func(*LogLine)) sdktrace.ReadWriteSpan {
	var s sdktrace.ReadWriteSpan
	t.update(key, func(e *activeEntry) {
		if e.logs == nil {
			e.logs = &spanLogs{}
		}
		line := e.logs.slot()
		fill(line)
		e.logs.count(line.Level)
		s = e.span
	})
	return s
}

// setProgress attaches p to the tracked span key, if it is tracked.
func (t *activeTable) setProgress(key uint64, p grpcstats.Progress) {
	t.update(key, func(e *activeEntry) { e.progress = p })
}

// clear forgets every tracked span.
func (t *activeTable) clear() {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		clear(sh.slots)
		sh.head, sh.tail, sh.n = -1, -1, 0
		sh.mu.Unlock()
	}
}

// len returns how many spans are tracked.
func (t *activeTable) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += sh.n
		sh.mu.Unlock()
	}
	return n
}

// ActiveRPC is a gRPC call still in flight.
type ActiveRPC struct {
	TraceID trace.TraceID
	SpanID  trace.SpanID
	Parent  trace.SpanID // zero for a root span
	Method  string
	Kind    trace.SpanKind
	Start   time.Time

	// What grpcstats.WrapHandler says of the call so far, when it is given
	// the processor (grpcstats.WithProgress): ProgressKnown is false without.
	ProgressKnown                  bool
	MessagesSent, MessagesReceived uint64
	Deadline                       time.Time // zero without one
	Peer                           string    // the other side's address, "" until known

	// For the RPC page of a running call: whether exporters see the span,
	// and the bytes so far, when the progress says (bytesKnown).
	sampled                  bool
	bytesKnown               bool
	bytesSent, bytesReceived uint64
}

// progressBytes is what grpcstats.WrapHandler's Progress also says: the
// uncompressed bytes of the messages so far. It is not part of
// grpcstats.Progress, which others may implement.
type progressBytes interface {
	Bytes() (sent, received uint64)
}

// progress fills in what p says of the call so far.
func (a *ActiveRPC) progress(p grpcstats.Progress) {
	if p == nil {
		return
	}
	a.ProgressKnown = true
	a.MessagesSent, a.MessagesReceived = p.Messages()
	if d, ok := p.Deadline(); ok {
		a.Deadline = d
	}
	a.Peer = p.Peer()
	if b, ok := p.(progressBytes); ok {
		a.bytesKnown = true
		a.bytesSent, a.bytesReceived = b.Bytes()
	}
}

// TrackProgress implements grpcstats.ProgressTracker: pass the processor to
// grpcstats.WithProgress, and the in-flight view shows each running call's
// messages so far, its deadline and its peer. It is called as each RPC
// starts, and only looks the span up in the in-flight table.
func (sp *SpanProcessor) TrackProgress(span trace.SpanContext, p grpcstats.Progress) {
	sp.active.setProgress(activeKey(span), p)
}

// Active returns the tracked in-flight gRPC calls, oldest first. A starting
// span counts as a gRPC call when it is a server or client span named like
// "pkg.Service/Method" or made by otelgrpc.
func (sp *SpanProcessor) Active() []ActiveRPC {
	var out []ActiveRPC
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress) {
		sc := s.SpanContext()
		a := ActiveRPC{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Parent: s.Parent().SpanID(), Method: method,
			Kind: s.SpanKind(), Start: s.StartTime(), sampled: sc.IsSampled()}
		a.progress(p)
		out = append(out, a)
	})
	slices.SortFunc(out, func(a, b ActiveRPC) int { return a.Start.Compare(b.Start) })
	return out
}

// activeByID returns the tracked in-flight gRPC call whose span ID is id, as
// Active has it: one probe of the in-flight table, where Active reads and
// sorts every call (a running call's page with 10,000 in flight).
func (sp *SpanProcessor) activeByID(id trace.SpanID) (ActiveRPC, bool) {
	var e activeEntry
	if !sp.active.update(activeKey(trace.NewSpanContext(trace.SpanContextConfig{SpanID: id})), func(x *activeEntry) { e = *x }) {
		return ActiveRPC{}, false
	}
	s := e.span
	if s.SpanContext().SpanID() != id || !s.EndTime().IsZero() || s.StartTime().Before(time.Now().Add(-sp.cfg.maxActiveAge)) {
		return ActiveRPC{}, false // ending now, or as good as aged out (eachActive)
	}
	method, ok := rpcSpan(s.SpanKind(), s.Name(), func() string { return s.InstrumentationScope().Name }, "", &sp.names)
	if !ok || sp.cfg.ignores(method) {
		return ActiveRPC{}, false
	}
	sc := s.SpanContext()
	a := ActiveRPC{TraceID: sc.TraceID(), SpanID: id, Parent: s.Parent().SpanID(), Method: cut(method, maxMethodLen),
		Kind: s.SpanKind(), Start: s.StartTime(), sampled: sc.IsSampled()}
	a.progress(e.progress)
	return a, true
}

// activeOf returns the tracked in-flight gRPC calls of trace tid, without
// their attributes: what a trace's waterfall shows of its running spans.
func (sp *SpanProcessor) activeOf(tid trace.TraceID) []ActiveRPC {
	var out []ActiveRPC
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress) {
		if sc := s.SpanContext(); sc.TraceID() == tid {
			out = append(out, ActiveRPC{TraceID: tid, SpanID: sc.SpanID(), Parent: s.Parent().SpanID(), Method: method,
				Kind: s.SpanKind(), Start: s.StartTime()})
		}
	})
	return out
}

// eachActive calls f for each tracked in-flight span that is a gRPC call,
// with its method (cut to the length a row keeps), after forgetting spans
// older than WithMaxActiveAge.
func (sp *SpanProcessor) eachActive(f func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress)) {
	ageOut := time.Now().Add(-sp.cfg.maxActiveAge).UnixNano()
	for _, e := range sp.active.spans(ageOut) {
		s := e.span
		if !s.EndTime().IsZero() {
			continue // ending now: OnEnd has it
		}
		if method, ok := rpcSpan(s.SpanKind(), s.Name(), func() string { return s.InstrumentationScope().Name }, "", &sp.names); ok && !sp.cfg.ignores(method) {
			f(s, cut(method, maxMethodLen), e.progress)
		}
	}
}
