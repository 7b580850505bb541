package grpcstats_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// benchCases are the handlers compared, both sides: otelgrpc alone,
// otelgrpc with grpcstats.NewHandler registered before it, otelgrpc wrapped in grpcstats.WrapHandler with its defaults, wrapped
// with no message timeline (counts and sums only, no span events), and
// with profiler labels on the server's goroutines (WithProfilerLabels), and
// handing each RPC's progress to the processor (WithProgress).
var benchCases = []struct {
	name string
	wrap bool
	opts func(sp *debugz.SpanProcessor) []grpcstats.Option
	// beside registers grpcstats.NewHandler before otelgrpc instead of wrapping it
	beside bool
}{
	{"otelgrpc", false, nil, false},
	{"otelgrpc+grpcstats", true, nil, false},
	{"otelgrpc+newhandler", false, nil, true},
	{"otelgrpc+grpcstats_notimeline", true, func(*debugz.SpanProcessor) []grpcstats.Option {
		return []grpcstats.Option{grpcstats.WithMessageTimeline(0)}
	}, false},
	{"otelgrpc+grpcstats_labels", true, func(*debugz.SpanProcessor) []grpcstats.Option {
		return []grpcstats.Option{grpcstats.WithProfilerLabels()}
	}, false},
	{"otelgrpc+grpcstats_progress", true, func(sp *debugz.SpanProcessor) []grpcstats.Option {
		return []grpcstats.Option{grpcstats.WithProgress(sp)}
	}, false},
}

// benchClient serves statsService over loopback, spans going to a
// debugz.SpanProcessor, as a user would set it up.
func benchClient(b *testing.B, wrap, beside bool, opts func(*debugz.SpanProcessor) []grpcstats.Option) testpb.TestServiceClient {
	b.Helper()
	sp := debugz.NewSpanProcessor()
	var o []grpcstats.Option
	if opts != nil {
		o = opts(sp)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	conn, _ := serveStats(b, tp, setup{wrap: wrap, beside: beside, opts: o})
	return testpb.NewTestServiceClient(conn)
}

func BenchmarkUnaryCall(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			c := benchClient(b, bc.wrap, bc.beside, bc.opts)
			ctx := context.Background()
			req := &testpb.SimpleRequest{ResponseSize: 64, Payload: body(64)}
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

// BenchmarkStream100 receives a server stream of 100 messages of 64 bytes.
func BenchmarkStream100(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			c := benchClient(b, bc.wrap, bc.beside, bc.opts)
			ctx := context.Background()
			req := &testpb.StreamingOutputCallRequest{}
			for range 100 {
				req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: 64})
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

func recv100(ctx context.Context, c testpb.TestServiceClient, req *testpb.StreamingOutputCallRequest) error {
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
