package grpcstats

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// TestCallTableBounded: the table holds at most maxCalls calls; once full,
// an insert first forgets the calls that ended (their context is done), and
// a call that does not fit is not kept.
func TestCallTableBounded(t *testing.T) {
	var tab callTable
	chans := make([]chan struct{}, maxCalls+1)
	for i := range chans {
		chans[i] = make(chan struct{})
		tab.failed(chans[i], callEntry{attempts: 1})
	}
	if n := tab.len(); n != maxCalls {
		t.Fatalf("after %d calls the table holds %d; want %d", len(chans), n, maxCalls)
	}
	if _, ok := tab.lookup(doneCtx(chans[maxCalls])); ok {
		t.Errorf("the call past the bound is kept")
	}
	for _, c := range chans[:maxCalls/2] {
		close(c) // those calls ended
	}
	extra := make(chan struct{})
	tab.failed(extra, callEntry{attempts: 1})
	if n := tab.len(); n != maxCalls/2+1 {
		t.Errorf("after half the calls ended and one more failed, the table holds %d; want %d", n, maxCalls/2+1)
	}
	if _, ok := tab.lookup(doneCtx(extra)); !ok {
		t.Errorf("the new call is not kept though the ended ones made room")
	}
	if _, ok := tab.lookup(doneCtx(chans[0])); ok {
		t.Errorf("an ended call is still kept")
	}
}

// TestCallTableSweepsEndedCalls: calls whose last attempt failed and that
// then ended (no retry followed) are forgotten by a later insert, so the
// table does not grow with calls that fail for good.
func TestCallTableSweepsEndedCalls(t *testing.T) {
	var tab callTable
	for range 100 * minSweep {
		c := make(chan struct{})
		tab.failed(c, callEntry{attempts: 1})
		close(c)
	}
	if n := tab.len(); n > minSweep {
		t.Errorf("after %d failed calls that all ended the table holds %d; want at most %d", 100*minSweep, n, minSweep)
	}
}

// TestCallTableForgetsOnSuccess: a call whose attempt succeeded is gone.
func TestCallTableForgetsOnSuccess(t *testing.T) {
	var tab callTable
	c := make(chan struct{})
	tab.failed(c, callEntry{attempts: 2})
	if e, ok := tab.lookup(doneCtx(c)); !ok || e.attempts != 2 {
		t.Fatalf("lookup = %+v, %v; want 2 attempts", e, ok)
	}
	tab.forget(doneCtx(c))
	if _, ok := tab.lookup(doneCtx(c)); ok || tab.len() != 0 {
		t.Errorf("after success the table holds %d calls; want none", tab.len())
	}
	tab.failed(nil, callEntry{}) // a context that is never done: nothing to key on
	if tab.len() != 0 {
		t.Errorf("a call without a Done channel is kept")
	}
}

// doneCtx is a context whose Done channel is done.
type doneCtx chan struct{}

func (c doneCtx) Done() <-chan struct{}                 { return c }
func (doneCtx) Deadline() (deadline time.Time, ok bool) { return time.Time{}, false }
func (doneCtx) Err() error                              { return nil }
func (doneCtx) Value(any) any                           { return nil }

// spanPerAttempt is an instrumentation like otelgrpc: a client span per
// TagRPC, ended at End.
type spanPerAttempt struct{ tr trace.Tracer }

func (s spanPerAttempt) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (s spanPerAttempt) HandleConn(context.Context, stats.ConnStats) {}
func (s spanPerAttempt) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	ctx, _ = s.tr.Start(ctx, info.FullMethodName, trace.WithSpanKind(trace.SpanKindClient))
	return ctx
}
func (s spanPerAttempt) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if _, ok := rs.(*stats.End); ok {
		trace.SpanFromContext(ctx).End()
	}
}

// TestAttemptsOfOneCall drives the stats events grpc gives a client call
// that it retries (one TagRPC … End per attempt, each with a context derived
// from the call's), the second attempt a transparent retry: each failed or
// later attempt is numbered, points at the one before and says how long
// after the call's start it began; a call that succeeds at once gets
// nothing; the table ends empty.
func TestAttemptsOfOneCall(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := WrapHandler(spanPerAttempt{tp.Tracer("t")}).(*wrapper)

	// answered: the server's trailer came (grpc sends InTrailer, or
	// InHeader then InTrailer, for every stream the server answered).
	attempt := func(ctx context.Context, transparent bool, err error, answered bool) {
		ctx = context.WithValue(ctx, struct{ int }{1}, 1) // as grpc derives each attempt's
		ctx = h.TagRPC(ctx, &stats.RPCTagInfo{FullMethodName: "/a.S/M"})
		h.HandleRPC(ctx, &stats.Begin{Client: true, IsTransparentRetryAttempt: transparent})
		if answered {
			h.HandleRPC(ctx, &stats.InTrailer{Client: true})
		}
		h.HandleRPC(ctx, &stats.End{Client: true, Error: err})
	}
	unavailable := status.Error(codes.Unavailable, "not yet")
	call, cancel := context.WithCancel(context.Background())
	attempt(call, false, unavailable, true)
	attempt(call, true, unavailable, false)
	attempt(call, false, nil, true)
	cancel()
	plain, cancel := context.WithCancel(context.Background())
	attempt(plain, false, nil, true)
	cancel()
	// grpc ends an attempt whose stream failed with io.EOF with no error
	// before it retries it transparently: no answer, so it failed.
	eof, cancel := context.WithCancel(context.Background())
	attempt(eof, false, nil, false)
	attempt(eof, true, nil, true)
	cancel()

	spans := rec.Ended()
	if len(spans) != 6 {
		t.Fatalf("%d spans; want 6", len(spans))
	}
	for i, want := range []struct {
		number      int64
		transparent bool
	}{{1, false}, {2, true}, {3, false}, {0, false}, {1, false}, {2, true}} {
		attrs := attrMap(spans[i].Attributes())
		if got := attrs[semconv.AttemptNumber].AsInt64(); got != want.number {
			t.Errorf("span %d: %s = %d; want %d", i, semconv.AttemptNumber, got, want.number)
		}
		if got := attrs[semconv.AttemptTransparent].AsBool(); got != want.transparent {
			t.Errorf("span %d: %s = %v; want %v", i, semconv.AttemptTransparent, got, want.transparent)
		}
		prev, hasPrev := attrs[semconv.AttemptPrevious]
		offset, hasOffset := attrs[semconv.AttemptOffset]
		if want.number < 2 {
			if hasPrev || hasOffset {
				t.Errorf("span %d (attempt %d): has %s or %s", i, want.number, semconv.AttemptPrevious, semconv.AttemptOffset)
			}
			continue
		}
		if p := spans[i-1].SpanContext().SpanID(); prev.AsString() != hex.EncodeToString(p[:]) {
			t.Errorf("span %d: %s = %q; want the previous attempt's %s", i, semconv.AttemptPrevious, prev.AsString(), p)
		}
		if o, want := offset.AsInt64(), spans[i].StartTime().Sub(spans[i-int(want.number)+1].StartTime()).Nanoseconds(); o != want {
			t.Errorf("span %d: %s = %d; want %d, its start's distance from the first attempt's", i, semconv.AttemptOffset, o, want)
		}
	}
	if n := h.calls.len(); n != 0 {
		t.Errorf("the calls table holds %d calls after they succeeded; want none", n)
	}
}

// TestServerAttemptOfRetriedCall: a server call whose request says the
// client made attempts before it is marked with how many.
func TestServerAttemptOfRetriedCall(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := WrapHandler(spanPerAttempt{tp.Tracer("t")})
	for _, md := range []metadata.MD{{}, {previousAttemptsHeader: {"3"}}} {
		ctx := h.TagRPC(context.Background(), &stats.RPCTagInfo{FullMethodName: "/a.S/M"})
		h.HandleRPC(ctx, &stats.Begin{})
		h.HandleRPC(ctx, &stats.InHeader{Header: md})
		h.HandleRPC(ctx, &stats.End{})
	}
	spans := rec.Ended()
	if v, ok := attrMap(spans[0].Attributes())[semconv.AttemptPreviousAttempts]; ok {
		t.Errorf("first attempt: %s = %v; want none", semconv.AttemptPreviousAttempts, v.AsInt64())
	}
	if v := attrMap(spans[1].Attributes())[semconv.AttemptPreviousAttempts]; v.AsInt64() != 3 {
		t.Errorf("fourth attempt: %s = %v; want 3", semconv.AttemptPreviousAttempts, v.AsInt64())
	}
}

func attrMap(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := make(map[string]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}
