package bench

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// grpcCase is one way of tracing the calls of the gRPC benchmarks.
type grpcCase struct {
	name string
	sp   func() sdktrace.SpanProcessor // with otelgrpc on both sides; nil for none
	xnet bool                          // gRPC's own x/net/trace tracing
}

// grpcCases: no tracing; otelgrpc's stats handlers on client and server with
// each processor on the TracerProvider; and x/net/trace through gRPC's
// EnableTracing, which grpc-go still has (a package variable, read per call).
var grpcCases = []grpcCase{
	{name: "none"},
	{name: "debugz", sp: newDebugz},
	{name: "zpages", sp: newZpages},
	{name: "batch", sp: newBatch},
	{name: "xnettrace", xnet: true},
}

// startGRPC serves grpctest.Service on a loopback port traced as c says and
// returns a client of it, and a function that stops both (and the tracing).
// The processor is warmed up before any call, so that its rings are full.
func startGRPC(b *testing.B, c grpcCase) (testgrpc.TestServiceClient, func()) {
	b.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var srvOpts []grpc.ServerOption
	cliOpts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	var tp *sdktrace.TracerProvider
	if c.sp != nil {
		sp := c.sp()
		warm(sp, makePairs(b, pairsPerSet, fetchUser))
		tp = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(sp))
		opts := []otelgrpc.Option{
			otelgrpc.WithTracerProvider(tp),
			otelgrpc.WithPropagators(propagation.TraceContext{}),
			otelgrpc.WithMeterProvider(noop.NewMeterProvider()),
		}
		srvOpts = append(srvOpts, grpc.StatsHandler(otelgrpc.NewServerHandler(opts...)))
		cliOpts = append(cliOpts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(opts...)))
	}
	wasTracing := grpc.EnableTracing
	grpc.EnableTracing = c.xnet // read by NewServer and by every call
	srv := grpc.NewServer(srvOpts...)
	testgrpc.RegisterTestServiceServer(srv, grpctest.Service{})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), cliOpts...)
	stop := func() {
		if conn != nil {
			_ = conn.Close()
		}
		srv.Stop()
		grpc.EnableTracing = wasTracing
		if tp != nil {
			stopProvider(b, tp)
		}
	}
	if err != nil {
		stop()
		b.Fatal(err)
	}
	client := testgrpc.NewTestServiceClient(conn)
	for i := range 100 { // connect, and warm up gRPC
		if err := unaryCall(context.Background(), client, i); err != nil {
			stop()
			b.Fatal(err)
		}
	}
	return client, stop
}

var (
	okRequest = &testgrpc.SimpleRequest{
		ResponseSize: 256,
		Payload:      &testgrpc.Payload{Body: make([]byte, 64)},
	}
	notFoundRequest = &testgrpc.SimpleRequest{
		ResponseSize:   256,
		Payload:        &testgrpc.Payload{Body: make([]byte, 64)},
		ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.NotFound), Message: "no such user"},
	}
)

// unaryCall makes call i, which fails with NOT_FOUND as statusCode says.
func unaryCall(ctx context.Context, c testgrpc.TestServiceClient, i int) error {
	req, want := okRequest, statusCode(i)
	if want != codes.OK {
		req = notFoundRequest
	}
	if _, err := c.UnaryCall(ctx, req); status.Code(err) != want {
		return fmt.Errorf("UnaryCall(%d) = %v; want code %v", i, err, want)
	}
	return nil
}

// BenchmarkGRPCUnary measures a unary call over loopback, one at a time.
// With otelgrpc, every call ends two spans: the client's and the server's.
func BenchmarkGRPCUnary(b *testing.B) {
	ctx := context.Background()
	for _, c := range grpcCases {
		b.Run(c.name, func(b *testing.B) {
			client, stop := startGRPC(b, c)
			defer stop()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := unaryCall(ctx, client, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkGRPCUnaryParallel is BenchmarkGRPCUnary with calls made from every
// CPU at once, over one connection.
func BenchmarkGRPCUnaryParallel(b *testing.B) {
	ctx := context.Background()
	for _, c := range grpcCases {
		b.Run(c.name, func(b *testing.B) {
			client, stop := startGRPC(b, c)
			defer stop()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := unaryCall(ctx, client, i); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
