// Command quickstart is the README's quick start, kept identical to it by
// TestReadmeQuickStart: a gRPC server and client instrumented with otelgrpc,
// and the debugz dashboard at http://localhost:6060/debug/rpcs/.
package main

import (
	"log"
	"net"
	"net/http"

	"github.com/debugz/debugz"
	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(sp), // beside any exporter
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "quickstart"))),
	)
	otelOpts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}

	srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelOpts...)))
	// Register your services on srv here.
	lis, err := net.Listen("tcp", "localhost:50051")
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(srv.Serve(lis)) }()

	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()), // TLS in production
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelOpts...)))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close() // make your calls on conn

	r := chi.NewRouter()
	r.Mount("/debug/rpcs", debugz.NewHandler(sp))
	// With the standard library instead:
	// mux.Handle("/debug/rpcs/", http.StripPrefix("/debug/rpcs", debugz.NewHandler(sp)))
	log.Println("dashboard at http://localhost:6060/debug/rpcs/")
	log.Fatal(http.ListenAndServe("localhost:6060", r))
}
