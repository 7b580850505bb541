package grpcstats

import (
	"net"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Progress is what [WrapHandler] knows of an RPC while it runs. Its methods
// may be called at any time, from any goroutine, until and after the RPC
// ends; they read counters and never block the RPC.
type Progress interface {
	// Messages returns how many messages the RPC has sent and received so far.
	Messages() (sent, received uint64)
	// Deadline returns the RPC's deadline, and false when it has none.
	Deadline() (time.Time, bool)
	// Peer returns the address of the other side, "" until it is known.
	Peer() string
}

// A ProgressTracker is handed the [Progress] of each RPC as it starts, with
// the span context of the RPC's span. debugz.SpanProcessor is one: its
// in-flight view then shows each running RPC's messages so far, its
// deadline and its peer.
type ProgressTracker interface {
	TrackProgress(span trace.SpanContext, p Progress)
}

// WithProgress hands the progress of every RPC to t as it starts (see
// [ProgressTracker]). It costs an RPC one call of t.TrackProgress, no
// allocation (BenchmarkUnaryCall, otelgrpc+grpcstats_progress).
func WithProgress(t ProgressTracker) Option {
	return optionFunc(func(c *config) { c.progress = t })
}

// Messages implements Progress.
func (st *rpcState) Messages() (nSent, nReceived uint64) {
	return st.dirs[sent].count.Load(), st.dirs[received].count.Load()
}

// Bytes returns the uncompressed bytes of the messages sent and received so
// far. It is not part of Progress (which others may implement): the
// processor asks for it where it is there.
func (st *rpcState) Bytes() (nSent, nReceived uint64) {
	return st.dirs[sent].bytes.Load(), st.dirs[received].bytes.Load()
}

// Deadline implements Progress.
func (st *rpcState) Deadline() (time.Time, bool) {
	return st.start.Add(st.budget), st.hasDeadline
}

// Peer implements Progress.
func (st *rpcState) Peer() string {
	if remote, _ := st.remote.Load().(net.Addr); remote != nil {
		return remote.String()
	}
	return ""
}
