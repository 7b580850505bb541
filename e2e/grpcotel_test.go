package e2e_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/rowtest"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	expotel "google.golang.org/grpc/experimental/opentelemetry"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats/opentelemetry"
	"google.golang.org/grpc/status"
)

// startPlugin serves srv on 127.0.0.1 with grpc-go's own OpenTelemetry
// plugin on both sides (tracing only), its spans going to a new debugz
// processor, and returns the processor and a client dialled with opts.
func startPlugin(t *testing.T, srv testpb.TestServiceServer, opts ...grpc.DialOption) (*debugz.SpanProcessor, testpb.TestServiceClient) {
	sp, _, client := startPluginBeside(t, srv, false, opts...)
	return sp, client
}

// startPluginBeside is startPlugin, with grpcstats.NewHandler registered
// before the plugin on both sides if beside, and the tracer provider too.
func startPluginBeside(t *testing.T, srv testpb.TestServiceServer, beside bool, opts ...grpc.DialOption) (*debugz.SpanProcessor, *sdktrace.TracerProvider, testpb.TestServiceClient) {
	t.Helper()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	o := opentelemetry.Options{TraceOptions: expotel.TraceOptions{TracerProvider: tp, TextMapPropagator: propagation.TraceContext{}}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serverOpts []grpc.ServerOption
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if beside { // first: the plugin's span must be in the context it sees
		serverOpts = append(serverOpts, grpc.StatsHandler(grpcstats.NewHandler()))
		dialOpts = append(dialOpts, grpc.WithStatsHandler(grpcstats.NewHandler()))
	}
	gs := grpc.NewServer(append(serverOpts, opentelemetry.ServerOption(o))...)
	testpb.RegisterTestServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), append(append(dialOpts, opentelemetry.DialOption(o)), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return sp, tp, testpb.NewTestServiceClient(conn)
}

// TestGRPCPluginRows: grpc-go's plugin records no status code, only the
// span status, so debugz counts its failed calls as errors with code
// UNKNOWN (the calls and their errors exactly, OK exactly); a
// DEADLINE_EXCEEDED call is one of them on both sides.
func TestGRPCPluginRows(t *testing.T) {
	sp, client := startPlugin(t, grpctest.Service{})
	grpctest.DriveCodes(t, client)

	failed := map[string]uint64{"OK": 10, "UNKNOWN": 9}
	rowtest.Wait(t, sp, rowtest.DrivenCodes(grpctest.Method, failed, failed))
}

// flaky fails its first fails UnaryCalls with UNAVAILABLE.
type flaky struct {
	grpctest.Service
	fails int32
	calls atomic.Int32
}

func (f *flaky) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if f.calls.Add(1) <= f.fails {
		return nil, status.Error(codes.Unavailable, "not yet")
	}
	return f.Service.UnaryCall(ctx, req)
}

// TestGRPCPluginRetry: a call the retry policy makes four attempts of is
// one client call, not an error, Retried, with Attempts 4 on its span; the
// server saw four calls, three of them failed.
func TestGRPCPluginRetry(t *testing.T) {
	const cfg = `{"methodConfig":[{"name":[{"service":"grpc.testing.TestService"}],
		"retryPolicy":{"maxAttempts":4,"initialBackoff":"0.01s","maxBackoff":"0.05s",
		"backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]}`
	srv := &flaky{fails: 3}
	sp, client := startPlugin(t, srv, grpc.WithDefaultServiceConfig(cfg))
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("UnaryCall = %v; want it to succeed on the fourth attempt", err)
	}
	if n := srv.calls.Load(); n != 4 {
		t.Fatalf("server saw %d attempts; want 4", n)
	}
	method := grpctest.Method + "UnaryCall"
	rowtest.Wait(t, sp, map[rowtest.Key]rowtest.Row{
		rowtest.Server(method): {Count: 4, Errors: 3, Codes: map[string]uint64{"OK": 1, "UNKNOWN": 3}},
		rowtest.Client(method): {Count: 1, Retried: 1, Codes: map[string]uint64{"OK": 1}},
	})
	spans := sp.Spans(debugz.Filter{Method: method, Kind: trace.SpanKindClient})
	if len(spans) != 1 {
		t.Fatalf("Spans(client %s) = %d spans; want 1", method, len(spans))
	}
	if s := spans[0]; s.Attempts != 4 || s.Code != codes.OK || s.Name != "Sent.grpc.testing.TestService.UnaryCall" {
		t.Errorf("client span = %q attempts %d code %v; want %q attempts 4 code OK", s.Name, s.Attempts, s.Code, "Sent.grpc.testing.TestService.UnaryCall")
	}
	for _, s := range sp.Spans(debugz.Filter{Method: method, Kind: trace.SpanKindServer}) {
		if s.Attempts != 0 {
			t.Errorf("server span %s has Attempts %d; want 0 (attempts are the client's)", s.SpanID, s.Attempts)
		}
	}
}

// slow holds each UnaryCall until released, saying when one has arrived.
type slow struct {
	grpctest.Service
	arrived, release chan struct{}
}

func (s *slow) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.arrived <- struct{}{}
	<-s.release
	return s.Service.UnaryCall(ctx, req)
}

// TestGRPCPluginInFlight: while a call runs, Active lists it on both sides
// with its method (not the plugin's attempt span) and the rows say one in
// flight; once it ends, Active is empty and the rows count it.
func TestGRPCPluginInFlight(t *testing.T) {
	srv := &slow{arrived: make(chan struct{}), release: make(chan struct{})}
	sp, client := startPlugin(t, srv)
	done := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		done <- err
	}()
	<-srv.arrived
	method := grpctest.Method + "UnaryCall"

	active := sp.Active()
	kinds := map[trace.SpanKind]int{}
	for _, a := range active {
		if a.Method != method {
			t.Errorf("Active() has %s %s; want only %s", a.Kind, a.Method, method)
		}
		kinds[a.Kind]++
	}
	if len(active) != 2 || kinds[trace.SpanKindServer] != 1 || kinds[trace.SpanKindClient] != 1 {
		t.Errorf("Active() = %d calls %v; want one server and one client", len(active), kinds)
	}
	rows := sp.Summary().Methods
	if len(rows) != 2 {
		t.Errorf("Summary() in flight has %d rows; want 2 (server and client)", len(rows))
	}
	for _, m := range rows {
		if m.Active != 1 || m.Count != 0 || m.Method != method {
			t.Errorf("row %s %s in flight: active %d count %d; want %s active 1 count 0", m.Method, m.Kind, m.Active, m.Count, method)
		}
	}

	close(srv.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rowtest.Wait(t, sp, map[rowtest.Key]rowtest.Row{
		rowtest.Server(method): {Count: 1, Codes: map[string]uint64{"OK": 1}},
		rowtest.Client(method): {Count: 1, Codes: map[string]uint64{"OK": 1}},
	})
	if a := sp.Active(); len(a) != 0 {
		t.Errorf("Active() after the call = %d calls; want none", len(a))
	}
}

// TestOtelgrpcRows: the same calls through otelgrpc (the newest, whose
// codes are canonical names in rpc.response.status_code) are counted with
// their codes exactly; the server answers the call past its deadline
// CANCELLED (see grpctest.Service).
func TestOtelgrpcRows(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := grpctest.Start(t, tp, nil, nil)
	grpctest.DriveCodes(t, client)

	rowtest.Wait(t, sp, rowtest.DrivenCodes(grpctest.Method,
		map[string]uint64{"OK": 10, "NOT_FOUND": 5, "INTERNAL": 3, "CANCELLED": 1},
		map[string]uint64{"OK": 10, "NOT_FOUND": 5, "INTERNAL": 3, "DEADLINE_EXCEEDED": 1}))
}
