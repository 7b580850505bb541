package grpcstats_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/semconv"

	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestWrapHandlerCountsEveryKind(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		method string
		// call makes one RPC and says the sizes and number of what was sent and received.
		call func(t *testing.T, c testpb.TestServiceClient) (nSent, nRecv, sent, recv int64)
	}{
		{"unary", "UnaryCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			req := &testpb.SimpleRequest{ResponseSize: 33, Payload: grpctest.Payload(12)}
			resp, err := c.UnaryCall(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return 1, 1, int64(proto.Size(req)), int64(proto.Size(resp))
		}},
		{"server stream of 7", "StreamingOutputCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			req := &testpb.StreamingOutputCallRequest{}
			for i := range 7 {
				req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: int32(10 * i)})
			}
			stream, err := c.StreamingOutputCall(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			var got []*testpb.StreamingOutputCallResponse
			for {
				resp, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, resp)
			}
			if len(got) != 7 {
				t.Fatalf("received %d responses; want 7", len(got))
			}
			return 1, 7, int64(proto.Size(req)), sizes(got)
		}},
		{"client stream of 5", "StreamingInputCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			stream, err := c.StreamingInputCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var reqs []*testpb.StreamingInputCallRequest
			for i := range 5 {
				req := &testpb.StreamingInputCallRequest{Payload: grpctest.Payload(int32(100 + i))}
				if err := stream.Send(req); err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, req)
			}
			resp, err := stream.CloseAndRecv()
			if err != nil {
				t.Fatal(err)
			}
			return 5, 1, sizes(reqs), int64(proto.Size(resp))
		}},
		{"bidi of 6 and 12", "FullDuplexCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			stream, err := c.FullDuplexCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var reqs []*testpb.StreamingOutputCallRequest
			var resps []*testpb.StreamingOutputCallResponse
			for i := range 6 {
				req := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(i)}, {Size: int32(50 + i)}}}
				if err := stream.Send(req); err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, req)
				for range 2 {
					resp, err := stream.Recv()
					if err != nil {
						t.Fatal(err)
					}
					resps = append(resps, resp)
				}
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
				t.Fatalf("Recv after CloseSend = %v; want EOF", err)
			}
			return 6, 12, sizes(reqs), sizes(resps)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWrapped(t)
			nSent, nRecv, sent, recv := tt.call(t, w.client)
			client := w.span(t, testSvc+tt.method, trace.SpanKindClient)
			server := w.span(t, testSvc+tt.method, trace.SpanKindServer)
			for _, c := range []struct {
				span sdktrace.ReadOnlySpan
				key  string
				want int64
			}{
				{client, semconv.MessagesSent, nSent},
				{client, semconv.MessagesReceived, nRecv},
				{server, semconv.MessagesSent, nRecv},
				{server, semconv.MessagesReceived, nSent},
				{client, semconv.BytesSent, sent},
				{client, semconv.BytesReceived, recv},
				{server, semconv.BytesSent, recv},
				{server, semconv.BytesReceived, sent},
				// Uncompressed, the wire adds grpc's 5-byte message header.
				{client, semconv.BytesSentWire, sent + 5*nSent},
				{client, semconv.BytesReceivedWire, recv + 5*nRecv},
				{server, semconv.BytesSentWire, recv + 5*nRecv},
				{server, semconv.BytesReceivedWire, sent + 5*nSent},
				{client, "network.peer.port", int64(w.port)},
			} {
				if got := intAttr(t, c.span, c.key); got != c.want {
					t.Errorf("%s span: %s = %d; want %d", c.span.SpanKind(), c.key, got, c.want)
				}
			}
			for _, s := range []sdktrace.ReadOnlySpan{client, server} {
				if v, _ := attr(s, "network.peer.address"); v.AsString() != "127.0.0.1" {
					t.Errorf("%s span: network.peer.address = %q; want 127.0.0.1", s.SpanKind(), v.String())
				}
				for _, key := range []string{semconv.DeadlineBudget, semconv.DeadlineUsed, semconv.Compressor} {
					if v, ok := attr(s, key); ok {
						t.Errorf("%s span: %s = %s; want none", s.SpanKind(), key, v.String())
					}
				}
			}
			if p := intAttr(t, server, "network.peer.port"); p <= 0 || p == int64(w.port) {
				t.Errorf("server span: network.peer.port = %d; want the client's port", p)
			}
		})
	}
}

func TestWrapHandlerDeadlineUsed(t *testing.T) {
	w := startWrapped(t)
	// The server answers when it has used 90% of the deadline it sees, so
	// the fraction is at least that on both sides, and what it is follows
	// from each span's own times, however slow the machine: no timing margin.
	const budget = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if _, err := w.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil && status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("UnaryCall: %v", err)
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		s := w.span(t, testSvc+"UnaryCall", kind)
		b := intAttr(t, s, semconv.DeadlineBudget)
		if b <= 0 || b > int64(budget) {
			t.Errorf("%s span: %s = %v; want in (0, %v]", kind, semconv.DeadlineBudget, time.Duration(b), budget)
		}
		v, _ := attr(s, semconv.DeadlineUsed)
		// The span starts a little before the handler's clock and ends a
		// little after it: the span's duration over the budget bounds the
		// fraction from above.
		bound := float64(s.EndTime().Sub(s.StartTime())) / float64(b)
		if used := v.AsFloat64(); v.Type() != attribute.FLOAT64 || used < 0.9 || used > bound*1.001 {
			t.Errorf("%s span: %s = %v; want in [0.9, %.3f] (the span's duration over the budget)", kind, semconv.DeadlineUsed, v.String(), bound)
		}
	}

	// Without a deadline, neither attribute.
	if _, err := w.client.EmptyCall(context.Background(), &testpb.Empty{}); err == nil {
		t.Fatal("EmptyCall succeeded; want UNIMPLEMENTED")
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		s := w.span(t, testSvc+"EmptyCall", kind)
		for _, key := range []string{semconv.DeadlineBudget, semconv.DeadlineUsed} {
			if v, ok := attr(s, key); ok {
				t.Errorf("%s span without a deadline: %s = %s; want none", kind, key, v.String())
			}
		}
		if got := intAttr(t, s, semconv.MessagesReceived); kind == trace.SpanKindServer && got != 1 {
			t.Errorf("server span of a failed call: %s = %d; want 1", semconv.MessagesReceived, got)
		}
	}
}

func TestWrapHandlerCompression(t *testing.T) {
	w := startWrapped(t)
	stream, err := w.client.StreamingOutputCall(context.Background(),
		&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 4000}, {Size: 8000}}},
		grpc.UseCompressor(gzip.Name))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		s := w.span(t, testSvc+"StreamingOutputCall", kind)
		if v, _ := attr(s, semconv.Compressor); v.AsString() != gzip.Name {
			t.Errorf("%s span: %s = %q; want %q", kind, semconv.Compressor, v.String(), gzip.Name)
		}
		key, wire := semconv.BytesSent, semconv.BytesSentWire
		if kind == trace.SpanKindClient {
			key, wire = semconv.BytesReceived, semconv.BytesReceivedWire
		}
		if b, wb := intAttr(t, s, key), intAttr(t, s, wire); b < 12000 || wb >= b/10 {
			t.Errorf("%s span: %s = %d, %s = %d; want ≥ 12000 and zeros compressed to a tenth", kind, key, b, wire, wb)
		}
		for _, e := range messageEvents(s) {
			if e.size > 1000 && e.comp >= e.size/10 {
				t.Errorf("%s span: event %+v; want a compressed size under a tenth", kind, e)
			}
		}
	}
}

// TestWrapHandlerOtelgrpcMessageEvents: with otelgrpc's own message events
// on and the timeline off, every message has one event where otelgrpc still
// adds them (before v0.67) and none where it no longer does; the counts are
// there either way.
func TestWrapHandlerOtelgrpcMessageEvents(t *testing.T) {
	const n = 10
	w := start(t, setup{
		wrap:       true,
		clientOpts: []otelgrpc.Option{otelgrpc.WithMessageEvents(otelgrpc.ReceivedEvents, otelgrpc.SentEvents)},
		opts:       []grpcstats.Option{grpcstats.WithMessageTimeline(0)},
	})
	bidi(t, w.client, n)
	s := w.span(t, testSvc+"FullDuplexCall", trace.SpanKindClient)
	want := seq(1, n)
	if minor := otelgrpcMinor(t, s); minor >= 67 {
		want = nil
	}
	evs := messageEvents(s)
	for _, typ := range []string{semconv.MessageTypeSent, semconv.MessageTypeReceived} {
		if got := ids(evs, typ); !slices.Equal(got, want) {
			t.Errorf("otelgrpc %s: %s ids = %v; want %v", s.InstrumentationScope().Version, typ, got, want)
		}
	}
	for _, key := range []string{semconv.MessagesSent, semconv.MessagesReceived} {
		if got := intAttr(t, s, key); got != n {
			t.Errorf("%s = %d; want %d", key, got, n)
		}
	}
}

// TestWrapHandlerConcurrentSafe sends and receives on different
// goroutines on several streams at once; run it with -race.
func TestWrapHandlerConcurrentSafe(t *testing.T) {
	w := startWrapped(t, grpcstats.WithMessageCapture(testSvc+"FullDuplexCall"), grpcstats.WithMessageTimeline(3))
	const streams, n = 4, 200
	var wg sync.WaitGroup
	for range streams {
		stream, err := w.client.FullDuplexCall(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := range n {
				if err := stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(i % 50)}}}); err != nil {
					t.Error(err)
					return
				}
			}
			_ = stream.CloseSend()
		})
		wg.Go(func() {
			for i := 0; ; i++ {
				if _, err := stream.Recv(); errors.Is(err, io.EOF) {
					if i != n {
						t.Errorf("received %d; want %d", i, n)
					}
					return
				} else if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var spans []sdktrace.ReadOnlySpan
	grpctest.WaitFor(t, fmt.Sprintf("%d spans", 2*streams), func() bool { spans = w.rec.Ended(); return len(spans) == 2*streams })
	for _, s := range spans {
		for _, key := range []string{semconv.MessagesSent, semconv.MessagesReceived} {
			if got := intAttr(t, s, key); got != n {
				t.Errorf("%s span: %s = %d; want %d", s.SpanKind(), key, got, n)
			}
		}
		for _, typ := range []string{semconv.MessageTypeSent, semconv.MessageTypeReceived} {
			if got, want := ids(messageEvents(s), typ), []int64{1, 2, 3, 198, 199, 200}; !slices.Equal(got, want) {
				t.Errorf("%s span: %s ids = %v; want %v", s.SpanKind(), typ, got, want)
			}
		}
	}
}

// noSpan is a client stats handler that starts no span for any RPC, as
// otelgrpc does for the RPCs its filter leaves out (e2e tests that filter
// itself, on an otelgrpc that has one).
type noSpan struct{ stats.Handler }

func (noSpan) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (noSpan) HandleRPC(context.Context, stats.RPCStats)                       {}

// TestWrapHandlerLeavesCallersSpan: when the wrapped handler starts no span
// for an RPC, the caller's own span must not get the RPC's attributes.
func TestWrapHandlerLeavesCallersSpan(t *testing.T) {
	w := start(t, setup{wrap: true, client: func(h stats.Handler) stats.Handler { return noSpan{h} }})
	ctx, parent := w.tp.Tracer("test").Start(context.Background(), "parent")
	if _, err := w.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	w.span(t, testSvc+"UnaryCall", trace.SpanKindServer)
	s := w.span(t, "parent", trace.SpanKindInternal)
	if len(s.Attributes()) != 0 || len(s.Events()) != 0 {
		t.Errorf("caller's span got attributes %v and %d events; want none", s.Attributes(), len(s.Events()))
	}
}

// TestWrapHandlerNotRecording: spans that are not recording pass through
// untouched, and the RPC still works.
func TestWrapHandlerNotRecording(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	conn, _ := serveStats(t, tp, setup{wrap: true})
	if _, err := testpb.NewTestServiceClient(conn).UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.Ended(); len(got) != 0 {
		t.Errorf("%d spans ended; want none, none being sampled", len(got))
	}
}

// TestWrapHandlerTwice: wrapping a wrapped handler must not count
// every message twice nor add every event twice.
func TestWrapHandlerTwice(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := grpcstats.WrapHandler(grpcstats.WrapHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp))))
	conn := grpctest.Serve(t, h, nil, func(srv *grpc.Server) { testpb.RegisterTestServiceServer(srv, grpctest.Service{}) })
	bidi(t, testpb.NewTestServiceClient(conn), 3)
	s := (&wrappedServer{rec: rec}).span(t, testSvc+"FullDuplexCall", trace.SpanKindServer)
	for _, key := range []string{semconv.MessagesSent, semconv.MessagesReceived} {
		if got := intAttr(t, s, key); got != 3 {
			t.Errorf("%s = %d; want 3", key, got)
		}
	}
	if got := ids(messageEvents(s), semconv.MessageTypeSent); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("SENT ids = %v; want [1 2 3]", got)
	}
}

func TestWrapHandlerNilPanics(t *testing.T) {
	defer func() {
		const want = "grpcstats: WrapHandler called with nil stats.Handler"
		if r := recover(); r != want {
			t.Errorf("WrapHandler(nil) panicked with %v; want %q", r, want)
		}
	}()
	grpcstats.WrapHandler(nil)
}
