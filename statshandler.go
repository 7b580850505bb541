package debugz

import (
	"cmp"
	"context"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// Span attributes that [WrapStatsHandler] sets on every recording gRPC span
// when the RPC ends. The engine and the dashboard read them; prefer
// AttrMessagesSent and AttrMessagesReceived over counting [EventMessage]
// events, which are only a sample of the messages.
const (
	// AttrMessagesSent is the number of messages this side sent (int64).
	AttrMessagesSent = "debugz.messages.sent"
	// AttrMessagesReceived is the number of messages this side received (int64).
	AttrMessagesReceived = "debugz.messages.received"
	// AttrBytesSent is the sum of the uncompressed sizes of the messages sent
	// (int64), without any framing.
	AttrBytesSent = "debugz.bytes.sent"
	// AttrBytesReceived is the sum of the uncompressed sizes of the messages
	// received (int64), without any framing.
	AttrBytesReceived = "debugz.bytes.received"
	// AttrBytesSentWire is the sum of the wire lengths of the messages sent
	// (int64): compressed payload plus the 5-byte gRPC message header, as grpc
	// reports it in [stats.OutPayload.WireLength]; HTTP/2 framing is not counted.
	AttrBytesSentWire = "debugz.bytes.sent.wire"
	// AttrBytesReceivedWire is the sum of the wire lengths of the messages
	// received (int64), as grpc reports it in [stats.InPayload.WireLength].
	AttrBytesReceivedWire = "debugz.bytes.received.wire"
	// AttrDeadlineBudget is the time from the start of the RPC to its deadline,
	// in nanoseconds (int64). It is set only when the RPC had a deadline.
	AttrDeadlineBudget = "debugz.deadline.budget_ns"
	// AttrDeadlineUsed is the duration of the RPC divided by its deadline budget
	// (float64): 0.5 means it took half the time it was given, 1 or more that it
	// ran out. It is set only when the RPC had a deadline still ahead at its start.
	AttrDeadlineUsed = "debugz.deadline.used"
	// AttrCompressor is the name of the compressor the RPC used ("gzip"). It is
	// set only when one other than identity was used.
	AttrCompressor = "debugz.compressor"

	// EventMessage is the name of the span events of the message timeline, in
	// the shape otelgrpc gave them up to v0.64.
	EventMessage = "message"
	// AttrMessageType is "SENT" or "RECEIVED" on an [EventMessage] event.
	AttrMessageType = "message.type"
	// AttrMessageID is the 1-based number of the message in its direction (int64).
	AttrMessageID = "message.id"
	// AttrMessageUncompressedSize is the message's uncompressed size in bytes (int64).
	AttrMessageUncompressedSize = "message.uncompressed_size"
	// AttrMessageCompressedSize is the message's compressed size in bytes,
	// without framing (int64); equal to the uncompressed size without compression.
	AttrMessageCompressedSize = "message.compressed_size"
	// AttrMessageText is the captured text of a message ([WithMessageCapture]):
	// its prototext, credential-like fields redacted, at most 1 KiB.
	AttrMessageText = "message.text"
)

// Attribute keys of the peer address (OpenTelemetry semantic conventions).
const (
	keyPeerAddress = "network.peer.address"
	keyPeerPort    = "network.peer.port"
)

// DefaultMessageTimeline is how many of the first and of the last messages of
// each direction of an RPC [WrapStatsHandler] records as [EventMessage] events
// unless [WithMessageTimeline] says otherwise.
const DefaultMessageTimeline = 8

const (
	captureEach     = 2       // first and last messages captured per direction
	captureMaxBytes = 1 << 10 // per captured message text
	ellipsis        = "…"
)

type statsConfig struct {
	timeline int
	capture  []string
}

// StatsOption configures [WrapStatsHandler]. A StatsOption is immutable: one
// may be reused for several handlers, from any goroutine.
type StatsOption interface{ applyStats(*statsConfig) }

type statsOptionFunc func(*statsConfig)

func (f statsOptionFunc) applyStats(c *statsConfig) { f(c) }

// WithMessageTimeline sets how many of the first and of the last messages of
// each direction of an RPC are recorded as [EventMessage] span events: with
// n = 8, a stream of 30 messages each way gets events for messages 1–8 and
// 23–30 of each direction. Zero records no events (the counts and byte sums
// are still set); use it when the wrapped handler already emits message events
// itself, as otelgrpc up to v0.64 does with WithMessageEvents. A negative n
// keeps the default, 8 ([DefaultMessageTimeline]).
//
// Memory: a streaming direction of an in-flight RPC holds 2n slots of 24
// bytes (768 bytes for a bidi stream at the default); a unary direction holds
// one, inside the per-RPC state.
func WithMessageTimeline(n int) StatsOption {
	return statsOptionFunc(func(c *statsConfig) {
		if n >= 0 {
			c.timeline = n
		}
	})
}

// WithMessageCapture records, for the listed methods, the text of the first
// and the last 2 messages of each direction of an RPC as the [AttrMessageText]
// attribute of their [EventMessage] events (added even when the timeline is
// shorter or off). An entry is a full method ("pkg.Service/Method") or a whole
// service ("pkg.Service/*"). The text is the prototext of the message (other
// payloads are not captured), with the value of every field whose name looks
// like a credential (password, token, secret, authorization, …; a map entry
// whose key does, too) replaced by "[redacted]", cut to 1 KiB. Calling it with
// no entries captures nothing, the default.
//
// Memory and cost: an in-flight captured RPC holds up to 8 texts of at most
// 1 KiB; every message of a captured method is formatted as it passes, since
// any could turn out to be one of the last two. Leave capture off for hot or
// large-message methods.
func WithMessageCapture(methods ...string) StatsOption {
	return statsOptionFunc(func(c *statsConfig) { c.capture = slices.Clone(methods) })
}

// statsHandler is the [stats.Handler] that [WrapStatsHandler] returns.
type statsHandler struct {
	next stats.Handler
	cfg  statsConfig

	// peerState says whether next puts a peer address on its spans: once one
	// span has been looked at (peerUnknown → peerSet or peerUnset), the
	// answer holds for all, since a handler does not change its ways; looking
	// costs a copy of the span's attributes.
	peerState atomic.Int32
}

const (
	peerUnknown = iota
	peerSet
	peerUnset
)

var _ stats.Handler = (*statsHandler)(nil)

// WrapStatsHandler returns a [stats.Handler] that wraps h, normally otelgrpc's
// server or client handler, and adds to each RPC's span what otelgrpc ≥ v0.67
// no longer records: message counts and byte sums each way, how much of its
// deadline the call used, its compressor, its peer's address,
// and, for streaming calls, a timeline of their first and last messages as
// [EventMessage] events (a unary call's counts say all, so it gets none).
// Use [WithMessageTimeline](0) if h emits message events itself (otelgrpc up
// to v0.64 with WithMessageEvents), so that they are not there twice.
//
//	srv := grpc.NewServer(grpc.StatsHandler(debugz.WrapStatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp)))))
//	conn, err := grpc.NewClient(target, grpc.WithStatsHandler(debugz.WrapStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp)))), …)
//
// It works for unary and streaming RPCs on both sides; a client RPC that grpc
// retries gets the figures of each attempt on that attempt's span. The
// attributes ([AttrMessagesSent] and the others) are set when grpc reports the
// end of the RPC, just before h ends the span; the deadline ones only when the
// RPC had a deadline, [AttrCompressor] only with compression, and
// network.peer.address and network.peer.port only when h puts no peer address
// on its spans (otelgrpc v0.72 puts none, on either side; whether h does is
// learnt from the first span that has a peer, and holds for the rest). RPCs
// whose span is not recording, or for which h started no span, are passed
// through untouched.
//
// Memory and cost: a state of about 350 bytes per in-flight RPC, plus, for a
// streaming RPC, its timeline slots: 2n small structs per streaming direction
// ([WithMessageTimeline]), O(2n) per RPC. Nothing is allocated per message
// unless [WithMessageCapture] lists the method. Counters are atomic and no
// lock is taken per message, so a stream may send and receive on different
// goroutines. The events are added when the RPC ends.
//
// Wrapping a handler that WrapStatsHandler returned wraps the one inside it
// instead, with the new options, so nothing is counted twice.
// WrapStatsHandler panics if h is nil. The returned handler is safe for
// concurrent use, as grpc requires.
func WrapStatsHandler(h stats.Handler, opts ...StatsOption) stats.Handler {
	if h == nil {
		panic("debugz: WrapStatsHandler called with nil stats.Handler")
	}
	if w, ok := h.(*statsHandler); ok {
		h = w.next // wrap once, with these options
	}
	cfg := statsConfig{timeline: DefaultMessageTimeline}
	for _, o := range opts {
		if o != nil {
			o.applyStats(&cfg)
		}
	}
	return &statsHandler{next: h, cfg: cfg}
}

// TagConn delegates to the wrapped handler.
func (h *statsHandler) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return h.next.TagConn(ctx, info)
}

// HandleConn delegates to the wrapped handler.
func (h *statsHandler) HandleConn(ctx context.Context, s stats.ConnStats) {
	h.next.HandleConn(ctx, s)
}

// rpcStateKey finds the state that a handler attached to an RPC's context.
// It names the handler, so that two wrapped handlers on one server (grpc
// calls each with the context all have tagged) keep apart.
type rpcStateKey struct{ h *statsHandler }

// Value returns st itself for the key of the handler that made it, and asks
// the parent otherwise.
func (st *rpcState) Value(key any) any {
	if key == (rpcStateKey{st.owner}) {
		return st
	}
	return st.Context.Value(key)
}

// TagRPC lets the wrapped handler start the span, then attaches the RPC's
// state to the context it returned.
func (h *statsHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	parent := trace.SpanContextFromContext(ctx).SpanID()
	ctx = h.next.TagRPC(ctx, info)
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() || span.SpanContext().SpanID() == parent {
		return ctx // no span of this RPC to write to: never touch the caller's
	}
	st := &rpcState{Context: ctx, owner: h, span: span, start: time.Now()}
	if dl, ok := ctx.Deadline(); ok {
		st.budget, st.hasDeadline = dl.Sub(st.start), true
	}
	if len(h.cfg.capture) > 0 && info != nil && methodMatches(h.cfg.capture, strings.TrimPrefix(info.FullMethodName, "/")) {
		st.capture = new(capture)
	}
	return st
}

// HandleRPC updates the RPC's counters and, at its end, writes them to the
// span before the wrapped handler ends it. Every event is passed on.
func (h *statsHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if st, ok := ctx.Value(rpcStateKey{h}).(*rpcState); ok {
		switch rs := rs.(type) {
		case *stats.OutPayload:
			st.message(sent, rs.Payload, rs.Length, rs.CompressedLength, rs.WireLength, rs.SentTime)
		case *stats.InPayload:
			st.message(received, rs.Payload, rs.Length, rs.CompressedLength, rs.WireLength, rs.RecvTime)
		case *stats.Begin:
			st.begin(h.cfg.timeline, rs)
		case *stats.InHeader: // its RemoteAddr is set on a server only
			st.header(rs.Compression, rs.RemoteAddr, !rs.Client)
		case *stats.OutHeader: // its RemoteAddr is set on a client only
			st.header(rs.Compression, rs.RemoteAddr, rs.Client)
		case *stats.End:
			if st.ended.CompareAndSwap(false, true) {
				h.end(st, st.span, rs.EndTime)
			}
		}
	}
	h.next.HandleRPC(ctx, rs)
}

const (
	sent     = 0
	received = 1
)

var messageTypes = [2]attribute.KeyValue{
	attribute.String(AttrMessageType, "SENT"),
	attribute.String(AttrMessageType, "RECEIVED"),
}

// rpcState is what one RPC (one attempt, on a client) has seen so far. It is
// also the RPC's context, the one TagRPC returns, which saves a
// context.WithValue. Fields above the atomics are set in TagRPC and read-only
// afterwards.
type rpcState struct {
	context.Context
	owner       *statsHandler
	span        trace.Span // the one h.next started for this RPC
	start       time.Time
	budget      time.Duration
	hasDeadline bool
	capture     *capture // nil unless the method is captured

	dirs       [2]direction
	ended      atomic.Bool
	compressor atomic.Pointer[string]
	remote     atomic.Value // net.Addr

	// Timeline slots of unary directions and the slot sets of both
	// directions, inside the state so that a unary RPC allocates none.
	inline [2]slot
	sets   [2]slotSet
}

// direction counts the messages of one direction. Message ids come from
// count, so the id of a message is its 1-based number in its direction.
type direction struct {
	count, bytes, wire atomic.Int64
	slots              atomic.Pointer[slotSet] // nil until Begin, or with no timeline
}

// slotSet holds the timeline of one direction: the first len(first) messages
// in order, and the latest ones after those in the ring.
type slotSet struct {
	first, ring []slot
}

// slot is one message of the timeline. A writer clears id, writes the rest and
// then sets id, so a reader that sees the same id before and after reading the
// rest has read one message, never a mix of two.
type slot struct {
	id   atomic.Int64
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

// message counts one message and keeps it in the timeline and the capture.
func (st *rpcState) message(d int, payload any, length, compressed, wire int, at time.Time) {
	dir := &st.dirs[d]
	id := dir.count.Add(1)
	dir.bytes.Add(int64(length))
	dir.wire.Add(int64(wire))
	var ns int64
	if !at.IsZero() {
		ns = at.UnixNano()
	}
	if set := dir.slots.Load(); set != nil {
		var s *slot
		if i := int(id - 1); i < len(set.first) {
			s = &set.first[i]
		} else if len(set.ring) > 0 {
			s = &set.ring[(i-len(set.first))%len(set.ring)]
		}
		if s != nil {
			s.id.Store(0)
			s.size.Store(packSizes(length, compressed))
			s.at.Store(ns)
			s.id.Store(id)
		}
	}
	if st.capture != nil {
		st.capture.add(d, msgEvent{dir: int64(d), id: id, size: length, csize: compressed, at: ns}, payload)
	}
}

func packSizes(length, compressed int) uint64 {
	c32 := func(n int) uint64 { return uint64(min(max(n, 0), math.MaxUint32)) }
	return c32(length)<<32 | c32(compressed)
}

// header remembers the compressor and, from the one header that carries it,
// the peer address of the RPC.
func (st *rpcState) header(compression string, remote net.Addr, hasRemote bool) {
	if compression != "" && compression != "identity" && st.compressor.Load() == nil {
		c := compression // escapes only here, not on every header
		st.compressor.CompareAndSwap(nil, &c)
	}
	if hasRemote && remote != nil && st.remote.Load() == nil {
		st.remote.Store(remote)
	}
}

// endBuffers are end's buffers, allocated at once. The span's attributes and
// the events' options are read (and copied) by the span, so one attribute
// and one option buffer serve every event.
type endBuffers struct {
	attrs [12]attribute.KeyValue
	kvs   [5]attribute.KeyValue
	opts  [2]trace.EventOption
}

// end writes the RPC's attributes and message events to span.
func (h *statsHandler) end(st *rpcState, span trace.Span, end time.Time) {
	if !span.IsRecording() {
		return
	}
	if end.IsZero() {
		end = time.Now()
	}
	buf := new(endBuffers)
	attrs := append(buf.attrs[:0],
		attribute.Int64(AttrMessagesSent, st.dirs[sent].count.Load()),
		attribute.Int64(AttrMessagesReceived, st.dirs[received].count.Load()),
		attribute.Int64(AttrBytesSent, st.dirs[sent].bytes.Load()),
		attribute.Int64(AttrBytesReceived, st.dirs[received].bytes.Load()),
		attribute.Int64(AttrBytesSentWire, st.dirs[sent].wire.Load()),
		attribute.Int64(AttrBytesReceivedWire, st.dirs[received].wire.Load()),
	)
	if st.hasDeadline {
		attrs = append(attrs, attribute.Int64(AttrDeadlineBudget, int64(st.budget)))
		if st.budget > 0 {
			attrs = append(attrs, attribute.Float64(AttrDeadlineUsed, float64(end.Sub(st.start))/float64(st.budget)))
		}
	}
	if c := st.compressor.Load(); c != nil {
		attrs = append(attrs, attribute.String(AttrCompressor, *c))
	}
	if remote, _ := st.remote.Load().(net.Addr); remote != nil {
		ps := h.peerState.Load()
		if ps == peerUnknown {
			ps = peerUnset
			if hasPeerAddress(span) {
				ps = peerSet
			}
			h.peerState.Store(ps)
		}
		if ps == peerUnset {
			attrs = appendPeer(attrs, remote)
		}
	}
	span.SetAttributes(attrs...)
	st.addEvents(span, buf)
}

// hasPeerAddress reports whether span already says its peer's address, in the
// key of any semantic conventions generation. Spans that cannot tell (not the
// SDK's) are taken to have none.
func hasPeerAddress(span trace.Span) bool {
	ro, ok := span.(interface{ Attributes() []attribute.KeyValue })
	if !ok {
		return false
	}
	for _, kv := range ro.Attributes() {
		switch kv.Key {
		case keyPeerAddress, "net.sock.peer.addr", "net.peer.ip":
			return true
		}
	}
	return false
}

func appendPeer(attrs []attribute.KeyValue, a net.Addr) []attribute.KeyValue {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP != nil {
		return append(attrs, attribute.String(keyPeerAddress, tcp.IP.String()), attribute.Int(keyPeerPort, tcp.Port))
	}
	s := a.String()
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return append(attrs, attribute.String(keyPeerAddress, s))
	}
	attrs = append(attrs, attribute.String(keyPeerAddress, host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int(keyPeerPort, p))
	}
	return attrs
}

// msgEvent is one message of the timeline as read at the end.
type msgEvent struct {
	dir, id     int64 // dir is sent or received
	size, csize int
	at          int64 // unix ns, 0 if unknown
	text        string
	hasText     bool
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
			evs = set.read(evs, int64(d), n)
		}
		if st.capture != nil {
			evs = st.capture.merge(evs, from, d)
		}
	}
	slices.SortStableFunc(evs, func(a, b msgEvent) int { return cmp.Compare(a.at, b.at) })
	if len(evs) == 0 {
		return
	}
	// AddEvent reads its options through trace.NewEventConfig, which copies
	// the attributes: the buffers are free again when it returns.
	kvs, opts := buf.kvs[:], buf.opts[:]
	for i := range evs {
		e := &evs[i]
		kvs[0] = messageTypes[e.dir]
		kvs[1] = attribute.Int64(AttrMessageID, e.id)
		kvs[2] = attribute.Int(AttrMessageUncompressedSize, e.size)
		kvs[3] = attribute.Int(AttrMessageCompressedSize, e.csize)
		n := 4
		if e.hasText {
			kvs[4], n = attribute.String(AttrMessageText, e.text), 5
		}
		opts[0] = trace.WithAttributes(kvs[:n]...)
		o := opts[:1]
		if e.at != 0 {
			opts[1], o = trace.WithTimestamp(time.Unix(0, e.at)), opts[:2]
		}
		span.AddEvent(EventMessage, o...)
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
		n += int(min(dir.count.Load(), int64(held)))
	}
	return n
}

// read appends the messages of the timeline, in id order, of a direction
// that has seen n messages. A slot being overwritten is skipped.
func (set *slotSet) read(evs []msgEvent, d, n int64) []msgEvent {
	get := func(s *slot, id int64) {
		if s.id.Load() != id {
			return
		}
		size, at := s.size.Load(), s.at.Load()
		if s.id.Load() != id {
			return
		}
		evs = append(evs, msgEvent{dir: d, id: id, size: int(size >> 32), csize: int(size & math.MaxUint32), at: at})
	}
	nf := int64(len(set.first))
	for id := int64(1); id <= min(n, nf); id++ {
		get(&set.first[id-1], id)
	}
	if nr := int64(len(set.ring)); nr > 0 {
		for id := max(nf+1, n-nr+1); id <= n; id++ {
			get(&set.ring[(id-nf-1)%nr], id)
		}
	}
	return evs
}

// capture keeps the text of the first and last [captureEach] messages of each
// direction of a captured RPC. Its lock is taken once per message, after the
// message has been formatted, and only for captured methods.
type capture struct {
	mu   sync.Mutex
	dirs [2]struct{ first, last [captureEach]msgEvent }
}

func (c *capture) add(d int, e msgEvent, payload any) {
	m, ok := payload.(proto.Message)
	if !ok {
		return
	}
	e.text, e.hasText = captureText(m), true
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := int(e.id - 1); i < captureEach {
		c.dirs[d].first[i] = e
	} else {
		c.dirs[d].last[i%captureEach] = e
	}
}

// merge gives the events evs[from:] of direction d their captured text, and
// appends the captured messages that the timeline does not hold.
func (c *capture) merge(evs []msgEvent, from, d int) []msgEvent {
	var all [2 * captureEach]msgEvent
	c.mu.Lock()
	copy(all[:], c.dirs[d].first[:])
	copy(all[captureEach:], c.dirs[d].last[:])
	c.mu.Unlock()
	own := len(evs)
next:
	for _, e := range all {
		if !e.hasText {
			continue
		}
		for i := from; i < own; i++ {
			if evs[i].id == e.id {
				evs[i].text, evs[i].hasText = e.text, true
				continue next
			}
		}
		for i := own; i < len(evs); i++ {
			if evs[i].id == e.id {
				continue next // first and last overlap in a short stream
			}
		}
		evs = append(evs, e)
	}
	slices.SortFunc(evs[from:], func(a, b msgEvent) int { return cmp.Compare(a.id, b.id) })
	return evs
}

// captureText formats m for [AttrMessageText]: multi-line prototext with
// credential-like fields redacted, cut to [captureMaxBytes].
func captureText(m proto.Message) string {
	s := redactText(prototext.MarshalOptions{Multiline: true, Indent: "  "}.Format(m))
	if len(s) <= captureMaxBytes {
		return s
	}
	i := captureMaxBytes - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
}

// redactText replaces, in a multi-line prototext rendering, the value of every
// field whose name looks like a credential ([sensitive]) with [redacted], a
// whole sub-message included, and the value of a map entry whose key looks
// like one.
func redactText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	depth := 0     // of the line being read
	skip := 0      // > 0 inside a redacted sub-message
	keyDepth := -1 // depth of the map entry whose key is sensitive
	for line := range strings.Lines(s) {
		t := strings.TrimSpace(line)
		opens, closes := strings.HasSuffix(t, "{") || strings.HasSuffix(t, "<"), t == "}" || t == ">"
		if skip > 0 {
			if opens {
				skip++
			} else if closes {
				skip--
			}
			continue
		}
		if closes {
			if keyDepth == depth {
				keyDepth = -1
			}
			depth--
			b.WriteString(line)
			continue
		}
		name, value, ok := fieldOf(t)
		if ok && (sensitive(name) || (name == "value" && keyDepth == depth)) {
			indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
			b.WriteString(indent + name + ": " + redacted + line[len(strings.TrimRight(line, "\r\n")):])
			if opens {
				skip = 1
			}
			continue
		}
		if ok && name == "key" && sensitive(value) {
			keyDepth = depth
		}
		if opens {
			depth++
		}
		b.WriteString(line)
	}
	return b.String()
}

// fieldOf splits a trimmed prototext line, `name: value`, `name: {` or
// `[ext.name]: value`, into its field name and value.
func fieldOf(t string) (name, value string, ok bool) {
	var i int
	if strings.HasPrefix(t, "[") {
		i = strings.IndexByte(t, ']') + 1
	} else {
		i = strings.IndexAny(t, ": {<")
	}
	if i <= 0 {
		return "", "", false
	}
	value = strings.TrimSpace(t[i:])
	value = strings.TrimSpace(strings.TrimPrefix(value, ":"))
	return t[:i], value, true
}
