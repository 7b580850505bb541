package grpcstats_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/debugz/debugz/grpcstats"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// ExampleWrapHandler wraps otelgrpc's handlers on both sides of a health
// check and prints what the client's span learnt about the call's messages.
func ExampleWrapHandler() {
	rec := tracetest.NewSpanRecorder() // in a service: debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	srv := grpc.NewServer(grpc.StatsHandler(grpcstats.WrapHandler(
		otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp)))))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(grpcstats.WrapHandler(
			otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp)))))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		log.Fatal(err)
	}

	for _, s := range rec.Ended() { // the client's span has ended when Check returns
		if s.SpanKind() != trace.SpanKindClient {
			continue
		}
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case "debugz.messages.sent", "debugz.messages.received", "debugz.bytes.sent", "debugz.bytes.received":
				fmt.Printf("%s = %s\n", kv.Key, kv.Value.String())
			}
		}
	}
	// Output:
	// debugz.messages.sent = 1
	// debugz.messages.received = 1
	// debugz.bytes.sent = 0
	// debugz.bytes.received = 2
}
