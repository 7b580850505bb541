package grpcstats

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Directions of a message, as seen by the side whose span it is: the index
// of rpcState.dirs.
const (
	sent     = 0
	received = 1
)

// rpcState is what one RPC (one attempt, on a client) has seen so far. It is
// also the RPC's context, the one TagRPC returns, which saves a
// context.WithValue. Fields above the atomics are set in TagRPC and read-only
// afterwards, but for callSpan (set with span) and attempt (set at Begin on
// a client, at the request's header on a server, before grpc reports the
// RPC's end).
type rpcState struct {
	context.Context
	owner       *handler
	tagged      trace.Span // NewHandler's: the span the context held when the RPC began
	start       time.Time
	budget      time.Duration
	hasDeadline bool
	callSpan    bool            // the span is the call's, not the attempt's (find); set before spanKnown turns true
	capture     *capture        // nil unless the method is captured
	method      string          // the full method, "/pkg.Service/Method"
	unlabeled   context.Context // the labels to restore at the end; nil when not labelled
	slowTimer   *time.Timer     // captures the stacks past WithSlowStacks' threshold; nil without
	slowStack   atomic.Pointer[capturedStack]
	attempt     attempt // set at Begin (client) or at the request's header (server), read at End
	// answered is whether a client's attempt got the server's header or
	// trailer: grpc ends an attempt it is about to retry transparently with
	// no error when its stream failed with io.EOF, so that no error is not
	// proof of an answer.
	answered atomic.Bool

	// span is the RPC's span, set once before spanKnown turns true: in
	// TagRPC by WrapHandler, when found in the context by NewHandler (the
	// goroutine that wins finding finds it).
	span      trace.Span
	spanKnown atomic.Bool
	finding   atomic.Bool

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
// The counters are unsigned: they wrap rather than turn negative.
type direction struct {
	count, bytes, wire atomic.Uint64
	slots              atomic.Pointer[slotSet] // nil until Begin, or with no timeline
}

// rpcStateKey finds the state that a handler attached to an RPC's context.
// It names the handler, so that two wrapped handlers on one server (grpc
// calls each with the context all have tagged) keep apart.
type rpcStateKey struct{ h *handler }

// Value returns st itself for the key of the handler that made it, and asks
// the parent otherwise.
func (st *rpcState) Value(key any) any {
	if key == (rpcStateKey{st.owner}) {
		return st
	}
	return st.Context.Value(key)
}

// message counts one message of direction d and keeps it in the timeline
// and the capture. Sizes are grpc's: length uncompressed, compressed without
// framing, wire with it.
func (st *rpcState) message(d int, payload any, length, compressed, wire int, at time.Time) {
	dir := &st.dirs[d]
	id := dir.count.Add(1)
	dir.bytes.Add(uint64(max(length, 0)))
	dir.wire.Add(uint64(max(wire, 0)))
	var ns int64
	if !at.IsZero() {
		ns = at.UnixNano()
	}
	if set := dir.slots.Load(); set != nil {
		set.put(id, length, compressed, ns)
	}
	if st.capture != nil {
		st.capture.add(d, msgEvent{dir: d, id: id, size: int64(length), csize: int64(compressed), at: ns}, payload)
	}
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

// found makes span the RPC's span and hands the RPC's progress to the
// tracker. It is called once, before any other goroutine reads span.
func (st *rpcState) found(span trace.Span) {
	st.span = span
	st.spanKnown.Store(true)
	if p := st.owner.cfg.progress; p != nil && span.IsRecording() {
		p.TrackProgress(span.SpanContext(), st)
	}
}

// rpcSpan returns the RPC's span, and false while it is not known.
func (st *rpcState) rpcSpan() (trace.Span, bool) {
	if !st.spanKnown.Load() {
		return nil, false
	}
	return st.span, true
}

// find looks for the RPC's span in ctx, a context that every stats handler
// has tagged, for NewHandler: the span it holds if it is not the one the
// context held when the RPC began (the caller's, or the instrumentation's
// when NewHandler comes after it), and not an internal span under that one
// (grpc-go's plugin's span of a client attempt, under the call's span: the
// call's span is then the RPC's). On a client, grpc (before v1.65) reports
// Begin with the context tagged so far, so it is looked for again with the
// next event.
func (st *rpcState) find(ctx context.Context) {
	span := trace.SpanFromContext(ctx)
	tagged := st.tagged.SpanContext()
	if span.SpanContext().SpanID() == tagged.SpanID() {
		return
	}
	callSpan := false
	if k, ok := span.(interface{ SpanKind() trace.SpanKind }); ok && k.SpanKind() == trace.SpanKindInternal {
		p, ok := span.(interface{ Parent() trace.SpanContext })
		if !ok || !tagged.IsValid() || p.Parent().SpanID() != tagged.SpanID() {
			return
		}
		span, callSpan = st.tagged, true // the attempt's call
	}
	if st.finding.CompareAndSwap(false, true) {
		st.callSpan = callSpan
		st.found(span)
	}
}
