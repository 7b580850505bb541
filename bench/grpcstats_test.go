package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

// wrapCases are the stats handlers compared, both sides: otelgrpc alone,
// otelgrpc with grpcstats.NewHandler registered before it (beside),
// otelgrpc wrapped in grpcstats.WrapHandler with its defaults, wrapped
// with no message timeline (counts and sums only, no span events), and
// with profiler labels on the server's goroutines (WithProfilerLabels), and
// handing each RPC's progress to the processor (WithProgress).
var wrapCases = []struct {
	name string
	wrap bool
	opts func(sp *debugz.SpanProcessor) []grpcstats.Option
}{
	{"otelgrpc", false, nil},
	{"otelgrpc+newhandler", false, func(*debugz.SpanProcessor) []grpcstats.Option { return nil }},
	{"otelgrpc+grpcstats", true, nil},
	{"otelgrpc+grpcstats_notimeline", true, func(*debugz.SpanProcessor) []grpcstats.Option {
		return []grpcstats.Option{grpcstats.WithMessageTimeline(0)}
	}},
	{"otelgrpc+grpcstats_labels", true, func(*debugz.SpanProcessor) []grpcstats.Option {
		return []grpcstats.Option{grpcstats.WithProfilerLabels()}
	}},
	{"otelgrpc+grpcstats_progress", true, func(sp *debugz.SpanProcessor) []grpcstats.Option {
		return []grpcstats.Option{grpcstats.WithProgress(sp)}
	}},
}

// wrapClient serves grpctest.Service over loopback, spans going to a
// debugz.SpanProcessor, as a user would set it up.
func wrapClient(b *testing.B, wrap bool, opts func(*debugz.SpanProcessor) []grpcstats.Option) testgrpc.TestServiceClient {
	b.Helper()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	b.Cleanup(func() { stopProvider(b, tp) })
	var w grpctest.Wrap
	switch {
	case wrap:
		var o []grpcstats.Option
		if opts != nil {
			o = opts(sp)
		}
		w = func(h stats.Handler) stats.Handler { return grpcstats.WrapHandler(h, o...) }
	case opts != nil: // beside: NewHandler before otelgrpc
		w = func(h stats.Handler) stats.Handler {
			return grpctest.InOrder(false, grpcstats.NewHandler(opts(sp)...), h)
		}
	}
	return grpctest.Start(b, tp, w, nil)
}

// BenchmarkWrapHandlerUnary measures a unary call over loopback with each
// of wrapCases on both sides.
func BenchmarkWrapHandlerUnary(b *testing.B) {
	for _, bc := range wrapCases {
		b.Run(bc.name, func(b *testing.B) {
			c := wrapClient(b, bc.wrap, bc.opts)
			ctx := context.Background()
			req := &testgrpc.SimpleRequest{ResponseSize: 64, Payload: grpctest.Payload(64)}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.UnaryCall(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkWrapHandlerStream100 receives a server stream of 100 messages of
// 64 bytes with each of wrapCases on both sides.
func BenchmarkWrapHandlerStream100(b *testing.B) {
	for _, bc := range wrapCases {
		b.Run(bc.name, func(b *testing.B) {
			c := wrapClient(b, bc.wrap, bc.opts)
			ctx := context.Background()
			req := &testgrpc.StreamingOutputCallRequest{}
			for range 100 {
				req.ResponseParameters = append(req.ResponseParameters, &testgrpc.ResponseParameters{Size: 64})
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := recv100(ctx, c, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func recv100(ctx context.Context, c testgrpc.TestServiceClient, req *testgrpc.StreamingOutputCallRequest) error {
	stream, err := c.StreamingOutputCall(ctx, req)
	if err != nil {
		return err
	}
	for n := 0; ; n++ {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			if n != 100 {
				return fmt.Errorf("received %d; want 100", n)
			}
			return nil
		} else if err != nil {
			return err
		}
	}
}
