package grpcstats

import (
	"context"
	"github.com/debugz/debugz/internal/semconv"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/rpcmethod"
	"github.com/debugz/debugz/internal/textcut"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// handler is the [stats.Handler] that [WrapHandler] returns.
type handler struct {
	next stats.Handler
	cfg  config

	lastDump atomic.Int64 // unix ns of the last goroutine dump for WithSlowStacks

	// peerState says whether next puts a peer address on its spans (see
	// peer.go).
	peerState atomic.Int32
}

var _ stats.Handler = (*handler)(nil)

// WrapHandler returns a [stats.Handler] that wraps h, normally otelgrpc's
// server or client handler, and adds to each RPC's span what otelgrpc ≥ v0.67
// no longer records: message counts and byte sums each way, how much of its
// deadline the call used, its compressor, its peer's address, and, for
// streaming calls, a timeline of their first and last messages as
// "message" events (a unary call's counts say all, so it gets none).
// Use [WithMessageTimeline](0) if h emits message events itself (otelgrpc
// before v0.67 with WithMessageEvents), so that they are not there twice.
//
//	srv := grpc.NewServer(grpc.StatsHandler(grpcstats.WrapHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp)))))
//	conn, err := grpc.NewClient(target, grpc.WithStatsHandler(grpcstats.WrapHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp)))), …)
//
// It works for unary and streaming RPCs on both sides; a client RPC that grpc
// retries gets the figures of each attempt on that attempt's span. The
// attributes (debugz.messages.sent and the others) are set when grpc reports the
// end of the RPC, just before h ends the span; the deadline ones only when the
// RPC had a deadline, debugz.compressor only with compression, and
// network.peer.address and network.peer.port only when h puts no peer address
// on its spans (otelgrpc v0.72 puts none, on either side; whether h does is
// learnt from the first span that has a peer, and holds for the rest). RPCs
// whose span is not recording, or for which h started no span, are passed
// through untouched.
//
// Memory and cost: a state of about 350 bytes per in-flight RPC, plus, for a
// streaming RPC, its timeline slots: 2n small structs per streaming direction
// ([WithMessageTimeline]). Nothing is allocated per message unless
// [WithMessageCapture] lists the method. Counters are atomic and no lock is
// taken per message, so a stream may send and receive on different
// goroutines. The events are added when the RPC ends.
//
// Wrapping a handler that WrapHandler returned wraps the one inside it
// instead, with the new options, so nothing is counted twice. WrapHandler
// panics if h is nil. The returned handler is safe for concurrent use, as
// grpc requires.
func WrapHandler(h stats.Handler, opts ...Option) stats.Handler {
	if h == nil {
		panic("grpcstats: WrapHandler called with nil stats.Handler")
	}
	if w, ok := h.(*handler); ok {
		h = w.next // wrap once, with these options
	}
	return &handler{next: h, cfg: newConfig(opts)}
}

// TagConn delegates to the wrapped handler.
func (h *handler) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return h.next.TagConn(ctx, info)
}

// HandleConn delegates to the wrapped handler.
func (h *handler) HandleConn(ctx context.Context, s stats.ConnStats) {
	h.next.HandleConn(ctx, s)
}

// TagRPC lets the wrapped handler start the span, then attaches the RPC's
// state to the context it returned.
func (h *handler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	parent := trace.SpanContextFromContext(ctx).SpanID()
	ctx = h.next.TagRPC(ctx, info)
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() || span.SpanContext().SpanID() == parent {
		return ctx // no span of this RPC to write to: never touch the caller's
	}
	st := &rpcState{Context: ctx, owner: h, span: span, start: time.Now()}
	if h.cfg.labels && info != nil {
		st.method = info.FullMethodName
	}
	if dl, ok := ctx.Deadline(); ok {
		st.budget, st.hasDeadline = dl.Sub(st.start), true
	}
	if len(h.cfg.capture) > 0 && info != nil && rpcmethod.Match(h.cfg.capture, strings.TrimPrefix(info.FullMethodName, "/")) {
		st.capture = new(capture)
	}
	if h.cfg.progress != nil { // st is whole: from here it is read from other goroutines
		h.cfg.progress.TrackProgress(span.SpanContext(), st)
	}
	return st
}

// HandleRPC updates the RPC's counters and, at its end, writes them to the
// span before the wrapped handler ends it. Every event is passed on.
func (h *handler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if st, ok := ctx.Value(rpcStateKey{h}).(*rpcState); ok {
		switch rs := rs.(type) {
		case *stats.OutPayload:
			st.message(sent, rs.Payload, rs.Length, rs.CompressedLength, rs.WireLength, rs.SentTime)
		case *stats.InPayload:
			st.message(received, rs.Payload, rs.Length, rs.CompressedLength, rs.WireLength, rs.RecvTime)
		case *stats.Begin:
			st.begin(h.cfg.timeline, rs)
			st.label(rs, st.method)
		case *stats.InHeader: // its RemoteAddr is set on a server only
			st.header(rs.Compression, rs.RemoteAddr, !rs.Client)
		case *stats.OutHeader: // its RemoteAddr is set on a client only
			st.header(rs.Compression, rs.RemoteAddr, rs.Client)
		case *stats.End:
			if st.ended.CompareAndSwap(false, true) {
				h.end(st, rs.EndTime, rs.Error)
				st.unlabel()
			}
		}
	}
	h.next.HandleRPC(ctx, rs)
}

// endBuffers are end's buffers, allocated at once. The span's attributes and
// the events' options are read (and copied) by the span, so one attribute
// and one option buffer serve every event.
type endBuffers struct {
	attrs [14]attribute.KeyValue
	kvs   [5]attribute.KeyValue
	opts  [2]trace.EventOption
}

// maxStatusMessage caps the bytes of AttrStatusMessage.
const maxStatusMessage = 1 << 10

// end writes the RPC's attributes and message events to its span; err is
// the error the RPC ended with.
func (h *handler) end(st *rpcState, end time.Time, err error) {
	span := st.span
	if !span.IsRecording() {
		return
	}
	if end.IsZero() {
		end = time.Now()
	}
	buf := new(endBuffers)
	snd, rcv := &st.dirs[sent], &st.dirs[received]
	attrs := append(buf.attrs[:0],
		attribute.Int64(semconv.MessagesSent, int64(snd.count.Load())),
		attribute.Int64(semconv.MessagesReceived, int64(rcv.count.Load())),
		attribute.Int64(semconv.BytesSent, int64(snd.bytes.Load())),
		attribute.Int64(semconv.BytesReceived, int64(rcv.bytes.Load())),
		attribute.Int64(semconv.BytesSentWire, int64(snd.wire.Load())),
		attribute.Int64(semconv.BytesReceivedWire, int64(rcv.wire.Load())),
	)
	if st.hasDeadline {
		attrs = append(attrs, attribute.Int64(semconv.DeadlineBudget, int64(st.budget)))
		if st.budget > 0 {
			attrs = append(attrs, attribute.Float64(semconv.DeadlineUsed, float64(end.Sub(st.start))/float64(st.budget)))
		}
	}
	if c := st.compressor.Load(); c != nil {
		attrs = append(attrs, attribute.String(semconv.Compressor, *c))
	}
	if s, ok := status.FromError(err); err != nil && ok && s.Code() != codes.OK && s.Message() != "" {
		attrs = append(attrs, attribute.String(semconv.StatusMessage, textcut.Ellipsis(s.Message(), maxStatusMessage)))
	}
	if remote, _ := st.remote.Load().(net.Addr); remote != nil && h.addsPeer(span) {
		attrs = appendPeer(attrs, remote)
	}
	span.SetAttributes(attrs...)
	st.addEvents(span, buf)
	st.slowEvent(span)
}
