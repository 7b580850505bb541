package grpcstats

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/rpcmethod"
	"github.com/debugz/debugz/internal/semconv"
	"github.com/debugz/debugz/internal/textcut"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// handler is the debugz part of both stats handlers: [NewHandler] returns
// it as it is, and [WrapHandler] returns it inside a [wrapper] that also
// calls the instrumentation's handler.
type handler struct {
	cfg config

	// beside is true for NewHandler's handler: it finds each RPC's span in
	// the context the other handlers have tagged (see rpcState.find) and
	// names the RPC's system, method and code on it.
	beside bool

	lastDump atomic.Int64 // unix ns of the last goroutine dump for WithSlowStacks

	// peerState says whether the instrumentation puts a peer address on its
	// spans (see peer.go).
	peerState atomic.Int32

	// calls remembers, on a client, the calls whose last attempt failed,
	// to number their next attempt (attempts.go).
	calls callTable
}

// wrapper is the [stats.Handler] that [WrapHandler] returns: the debugz
// part, then the wrapped handler.
type wrapper struct {
	handler
	next stats.Handler
}

var (
	_ stats.Handler = (*handler)(nil)
	_ stats.Handler = (*wrapper)(nil)
)

// NewHandler returns a [stats.Handler] that adds debugz's figures to the
// span of each RPC that an OpenTelemetry instrumentation installed beside it
// starts: grpc-go's own plugin (google.golang.org/grpc/stats/opentelemetry),
// otelgrpc, or any handler that puts its span in the RPC's context. It adds
// what [WrapHandler] adds and, since grpc-go's plugin records no status code,
// the standard rpc.system.name ("grpc"), rpc.method ("pkg.Service/Method")
// and rpc.response.status_code ("NOT_FOUND") attributes.
//
// Register it before the instrumentation, on the server and on every client:
// grpc calls the stats handlers in the order they were given, and the
// instrumentation ends its span when it learns of the end of the call, after
// which nothing can be added to it.
//
//	srv := grpc.NewServer(
//		grpc.StatsHandler(grpcstats.NewHandler()),
//		opentelemetry.ServerOption(opentelemetry.Options{TraceOptions: traceOpts}))
//	conn, err := grpc.NewClient(target,
//		grpc.WithStatsHandler(grpcstats.NewHandler()),
//		opentelemetry.DialOption(opentelemetry.Options{TraceOptions: traceOpts}), …)
//
// The RPC's span is the one the context holds when grpc reports the RPC's
// events, if it is not the one the context held when the RPC began (the
// caller's span, on a client): registered after the instrumentation,
// NewHandler finds no span of the RPC's own and changes nothing. On a
// client of grpc-go's plugin, whose context then holds an internal span per
// attempt, the figures go on the call's span ("Sent.pkg.Service.Method"),
// the one the context held when the RPC began; with retries, those of the
// last attempt.
//
// Memory and cost are those of WrapHandler. The returned handler is safe for
// concurrent use, as grpc requires.
func NewHandler(opts ...Option) stats.Handler {
	return &handler{cfg: newConfig(opts), beside: true}
}

// WrapHandler returns a [stats.Handler] that wraps h, normally otelgrpc's
// server or client handler, and adds to each RPC's span what otelgrpc ≥ v0.67
// no longer records: message counts and byte sums each way, how much of its
// deadline the call used, its compressor, its peer's address, the details of
// an error status, and, for streaming calls, a timeline of their first and
// last messages as "message" events (a unary call's counts say all, so it
// gets none). Use [WithMessageTimeline](0) if h emits message events itself
// (otelgrpc before v0.67 with WithMessageEvents), so that they are not there
// twice. [NewHandler] adds the same beside an instrumentation instead of
// around it.
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
// Memory and cost: a state of about 400 bytes per in-flight RPC, plus, for a
// streaming RPC, its timeline slots: 2n small structs per streaming direction
// ([WithMessageTimeline]). Nothing is allocated per message unless
// [WithMessageCapture] lists the method. Counters are atomic and no lock is
// taken per message, so a stream may send and receive on different
// goroutines. The events are added when the RPC ends.
//
// Wrapping a handler that WrapHandler returned wraps the one inside it
// instead, with the new options, so nothing is counted twice; wrapping one
// that NewHandler returned returns NewHandler's with the new options.
// WrapHandler panics if h is nil. The returned handler is safe for
// concurrent use, as grpc requires.
func WrapHandler(h stats.Handler, opts ...Option) stats.Handler {
	switch w := h.(type) {
	case nil:
		panic("grpcstats: WrapHandler called with nil stats.Handler")
	case *wrapper:
		h = w.next // wrap once, with these options
	case *handler:
		return NewHandler(opts...)
	}
	return &wrapper{handler: handler{cfg: newConfig(opts)}, next: h}
}

// TagConn returns ctx: NewHandler keeps nothing per connection.
func (h *handler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

// HandleConn does nothing: NewHandler keeps nothing per connection.
func (h *handler) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC attaches the RPC's state to its context; the RPC's span is found
// later, in the context that every handler has tagged (rpcState.find).
func (h *handler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	st := h.newState(ctx, info)
	st.tagged = trace.SpanFromContext(ctx)
	return st
}

// HandleRPC updates the RPC's counters and, at its end, writes them to the
// span.
func (h *handler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if st, ok := ctx.Value(rpcStateKey{h}).(*rpcState); ok {
		h.handle(ctx, st, rs)
	}
}

// TagConn delegates to the wrapped handler.
func (w *wrapper) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return w.next.TagConn(ctx, info)
}

// HandleConn delegates to the wrapped handler.
func (w *wrapper) HandleConn(ctx context.Context, s stats.ConnStats) {
	w.next.HandleConn(ctx, s)
}

// TagRPC lets the wrapped handler start the span, then attaches the RPC's
// state to the context it returned.
func (w *wrapper) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	parent := trace.SpanContextFromContext(ctx).SpanID()
	ctx = w.next.TagRPC(ctx, info)
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() || span.SpanContext().SpanID() == parent {
		return ctx // no span of this RPC to write to: never touch the caller's
	}
	st := w.newState(ctx, info)
	st.found(span)
	return st
}

// HandleRPC updates the RPC's counters and, at its end, writes them to the
// span before the wrapped handler ends it. Every event is passed on.
func (w *wrapper) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	w.handler.HandleRPC(ctx, rs)
	w.next.HandleRPC(ctx, rs)
}

// newState starts the state of an RPC.
func (h *handler) newState(ctx context.Context, info *stats.RPCTagInfo) *rpcState {
	st := &rpcState{Context: ctx, owner: h, start: time.Now()}
	if info != nil {
		st.method = info.FullMethodName
	}
	if dl, ok := ctx.Deadline(); ok {
		st.budget, st.hasDeadline = dl.Sub(st.start), true
	}
	if len(h.cfg.capture) > 0 && info != nil && rpcmethod.Match(h.cfg.capture, strings.TrimPrefix(info.FullMethodName, "/")) {
		st.capture = new(capture)
	}
	return st
}

// handle is HandleRPC for the RPC of state st.
func (h *handler) handle(ctx context.Context, st *rpcState, rs stats.RPCStats) {
	if h.beside && !st.spanKnown.Load() {
		st.find(ctx)
	}
	switch rs := rs.(type) {
	case *stats.OutPayload:
		st.message(sent, rs.Payload, rs.Length, rs.CompressedLength, rs.WireLength, rs.SentTime)
	case *stats.InPayload:
		st.message(received, rs.Payload, rs.Length, rs.CompressedLength, rs.WireLength, rs.RecvTime)
	case *stats.Begin:
		st.begin(h.cfg.timeline, rs)
		if rs.Client {
			h.beginAttempt(st, rs)
		}
		if span, ok := st.rpcSpan(); ok && h.cfg.labels {
			st.label(rs, span)
		}
	case *stats.InHeader: // its RemoteAddr is set on a server only
		st.header(rs.Compression, rs.RemoteAddr, !rs.Client)
		if !rs.Client {
			st.previousAttempts(rs)
		} else {
			st.answered.Store(true)
		}
	case *stats.InTrailer:
		st.answered.Store(true)
	case *stats.OutHeader: // its RemoteAddr is set on a client only
		st.header(rs.Compression, rs.RemoteAddr, rs.Client)
	case *stats.End:
		if st.ended.CompareAndSwap(false, true) {
			for h.beside && st.finding.Load() && !st.spanKnown.Load() {
				runtime.Gosched() // another goroutine is storing the span it found
			}
			if span, ok := st.rpcSpan(); ok {
				h.end(st, span, rs.EndTime, rs.Error)
			}
			st.unlabel()
		}
	}
}

// endBuffers are end's buffers, allocated at once. The span's attributes and
// the events' options are read (and copied) by the span, so one attribute
// and one option buffer serve every event.
type endBuffers struct {
	attrs [17]attribute.KeyValue // enough for every call but a retried one with every figure
	kvs   [5]attribute.KeyValue
	opts  [2]trace.EventOption
}

// maxStatusMessage caps the bytes of AttrStatusMessage.
const maxStatusMessage = 1 << 10

// rpcSystemGRPC is the rpc.system.name attribute that NewHandler sets.
var rpcSystemGRPC = attribute.String(semconv.RPCSystemName, "grpc")

// end writes the RPC's attributes and events to its span; err is the error
// the RPC ended with.
func (h *handler) end(st *rpcState, span trace.Span, end time.Time, err error) {
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
	var s *status.Status // nil for OK
	if err != nil {
		var ok bool
		if s, ok = status.FromError(err); ok && s.Code() != codes.OK && s.Message() != "" {
			attrs = append(attrs, attribute.String(semconv.StatusMessage, textcut.Ellipsis(s.Message(), maxStatusMessage)))
		}
	}
	if h.beside {
		attrs = append(attrs, rpcSystemGRPC,
			attribute.String(semconv.RPCMethod, strings.TrimPrefix(st.method, "/")),
			attribute.String(semconv.RPCResponseStatusCode, rpccode.Name(int(s.Code()))))
	}
	if remote, _ := st.remote.Load().(net.Addr); remote != nil && h.addsPeer(span) {
		attrs = appendPeer(attrs, remote)
	}
	// An attempt the server never answered failed, whatever the error.
	attrs = h.endAttempt(attrs, st, span, s != nil && s.Code() != codes.OK || st.attempt.client && !st.answered.Load())
	span.SetAttributes(attrs...)
	st.addEvents(span, buf)
	addDetails(span, s, end, buf)
	st.slowEvent(span)
}
