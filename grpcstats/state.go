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
// afterwards.
type rpcState struct {
	context.Context
	owner       *handler
	span        trace.Span // the one owner.next started for this RPC
	start       time.Time
	budget      time.Duration
	hasDeadline bool
	capture     *capture        // nil unless the method is captured
	method      string          // the full method, for the profiler labels
	unlabeled   context.Context // the labels to restore at the end; nil when not labelled
	slowTimer   *time.Timer     // captures the stacks past WithSlowStacks' threshold; nil without
	slowStack   atomic.Pointer[capturedStack]

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
