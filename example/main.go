// Command example is a small gRPC service wired to the debugz dashboard, the
// way you would wire it into your own service:
//
//  1. one OpenTelemetry TracerProvider with a [debugz.SpanProcessor] (and, if
//     OTEL_EXPORTER_OTLP_ENDPOINT is set, an OTLP exporter beside it);
//  2. otelgrpc stats handlers on the gRPC server and on every client;
//  3. [debugz.NewHandler] mounted on a localhost-only debug HTTP server.
//
// It runs two services in one process, UserService (unary and all three
// streaming kinds) and PaymentService (which calls UserService over gRPC, so a
// trace crosses services); an HTTP gateway in front of them, instrumented with
// otelhttp, so that a trace starts with an HTTP request; and a load generator
// that keeps calling them, directly and through the gateway, with a realistic
// mix of successes and failures.
//
//	go run ./example
//	curl -s localhost:8080/api/user/42
//
// then open the printed dashboard URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/channelz"
	paymentpb "github.com/debugz/debugz/example/proto/payment"
	userpb "github.com/debugz/debugz/example/proto/user"
	"github.com/debugz/debugz/grpcstats"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:50051", "gRPC listen address")
	flag.StringVar(&cfg.HTTPAddr, "http-addr", "localhost:6060", "debug HTTP listen address (dashboard and pprof)")
	flag.StringVar(&cfg.GatewayAddr, "gateway-addr", "localhost:8080", "HTTP gateway listen address (JSON API in front of the gRPC services)")
	flag.Float64Var(&cfg.Rate, "rate", 2, "load generator: calls per second per method")
	flag.BoolVar(&cfg.Load, "load", true, "run the load generator")
	flag.StringVar(&cfg.TraceURL, "trace-url", "", "link trace IDs to a tracing backend, e.g. http://localhost:16686/trace/{traceID}")
	flag.Parse()

	// Stop on Ctrl-C or SIGTERM; run then shuts everything down gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, cfg); err != nil {
		log.Fatal(err)
	}
}

// config is what main reads from its flags. Tests fill it in directly, and
// may pass listeners they opened themselves (on 127.0.0.1:0) instead of
// addresses.
type config struct {
	GRPCAddr    string  // used when GRPCListener is nil
	HTTPAddr    string  // used when HTTPListener is nil
	GatewayAddr string  // used when GatewayListener is nil
	Rate        float64 // load generator calls per second per method
	Load        bool    // whether to run the load generator
	TraceURL    string  // tracing backend's trace page with {traceID}; "" for none

	GRPCListener    net.Listener
	HTTPListener    net.Listener
	GatewayListener net.Listener
}

// run starts the app, prints where to find it, and serves until ctx is done.
func run(ctx context.Context, cfg config) error {
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("debugz dashboard: http://%s/debug/rpcs/\n", displayAddr(cfg.HTTPAddr, a.httpLis))
	fmt.Printf("gRPC server (UserService, PaymentService): %s\n", a.grpcLis.Addr())
	fmt.Printf("HTTP gateway (GET /api/user/{id}, POST /api/pay): %s\n", a.gatewayURL)
	return a.serve(ctx)
}

// app is the whole example: tracing, both gRPC services, their clients, the
// HTTP gateway, the debug HTTP server and the load generator.
type app struct {
	cfg config
	sp  *debugz.SpanProcessor
	cz  *channelz.Reader // grpc-go's channelz, for the dashboard's connections pages
	tp  *sdktrace.TracerProvider

	grpcLis    net.Listener
	grpcServer *grpc.Server

	// paymentConn is PaymentService's own connection to UserService;
	// clientConn is the load generator's (and the tests') connection to both
	// services, as an external caller would have; gatewayConn is the HTTP
	// gateway's.
	paymentConn *grpc.ClientConn
	clientConn  *grpc.ClientConn
	gatewayConn *grpc.ClientConn
	users       userpb.UserServiceClient
	payments    paymentpb.PaymentServiceClient

	gatewayLis    net.Listener
	gatewayServer *http.Server
	gatewayURL    string       // "http://localhost:8080"
	gatewayClient *http.Client // the load generator's, with otelhttp's transport

	httpLis    net.Listener
	httpServer *http.Server
}

// newApp builds everything and opens the listeners, but serves nothing yet.
func newApp(ctx context.Context, cfg config) (a *app, err error) {
	a = &app{cfg: cfg}
	// On failure, release whatever was already opened.
	defer func() {
		if err != nil {
			a.close()
		}
	}()

	// Tracing. The debugz processor keeps recent spans in memory for the
	// dashboard; it sits beside any exporter, it never replaces one.
	a.sp = debugz.NewSpanProcessor()
	a.tp, err = newTracerProvider(ctx, a.sp)
	if err != nil {
		return a, err
	}
	// channelz, before any server or client: it tracks only what is made
	// after it is on.
	if a.cz, err = channelz.New(); err != nil {
		return a, err
	}
	// W3C trace context links a client span to the server span of the same
	// call; without a propagator every call would start a new trace. It is set
	// globally (for any other instrumentation) and passed to otelgrpc
	// explicitly below, which makes the wiring visible.
	prop := propagation.TraceContext{}
	otel.SetTextMapPropagator(prop)

	// Listeners first, so that the clients know the real address (tests use
	// port 0).
	if a.grpcLis, err = listen(cfg.GRPCListener, cfg.GRPCAddr); err != nil {
		return a, err
	}
	if a.httpLis, err = listen(cfg.HTTPListener, cfg.HTTPAddr); err != nil {
		return a, err
	}
	if a.gatewayLis, err = listen(cfg.GatewayListener, cfg.GatewayAddr); err != nil {
		return a, err
	}
	a.gatewayURL = "http://" + displayAddr(cfg.GatewayAddr, a.gatewayLis)

	// Clients. Every client gets an otelgrpc client stats handler, so
	// outgoing calls get client spans and carry the trace context;
	// grpcstats.WrapHandler adds message counts, bytes, the share of the
	// deadline used and a message timeline to those spans.
	dial := func() (*grpc.ClientConn, error) {
		return grpc.NewClient(a.grpcLis.Addr().String(),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithStatsHandler(grpcstats.WrapHandler(otelgrpc.NewClientHandler(
				otelgrpc.WithTracerProvider(a.tp),
				otelgrpc.WithPropagators(prop),
			), grpcstats.WithProgress(a.sp))),
		)
	}
	if a.paymentConn, err = dial(); err != nil {
		return a, fmt.Errorf("payment service client: %w", err)
	}
	if a.clientConn, err = dial(); err != nil {
		return a, fmt.Errorf("client: %w", err)
	}
	if a.gatewayConn, err = dial(); err != nil {
		return a, fmt.Errorf("gateway client: %w", err)
	}
	a.users = userpb.NewUserServiceClient(a.clientConn)
	a.payments = paymentpb.NewPaymentServiceClient(a.clientConn)
	// The load generator's HTTP client for the gateway: otelhttp's transport
	// makes a client span for every request and sends the trace context, so
	// the gateway's server span continues the caller's trace.
	a.gatewayClient = &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport.(*http.Transport).Clone(), // its own connections
		otelhttp.WithTracerProvider(a.tp),
		otelhttp.WithPropagators(prop),
	)}

	// The gRPC server. The otelgrpc server stats handler makes a server span
	// for every call, which is what the dashboard shows; the grpcstats wrapper
	// adds what the gRPC layer knows about its messages, tells the dashboard
	// how each running call is doing (WithProgress) and labels the handlers'
	// goroutines, so that a running call's page shows where it is now and a
	// CPU profile splits by method (WithProfilerLabels).
	a.grpcServer = grpc.NewServer(grpc.StatsHandler(grpcstats.WrapHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(a.tp),
		otelgrpc.WithPropagators(prop),
	), grpcstats.WithProgress(a.sp), grpcstats.WithProfilerLabels())))
	// The handlers log with slog and each request's context, as a real
	// service does. The terminal gets errors only (the load generator fails
	// calls on purpose); debugz's log handler keeps each call's lines from
	// Info up, for its RPC page.
	log := slog.New(a.sp.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	userpb.RegisterUserServiceServer(a.grpcServer, newUserServer(log))
	paymentpb.RegisterPaymentServiceServer(a.grpcServer, newPaymentServer(
		a.tp.Tracer("github.com/debugz/debugz/example"),
		userpb.NewUserServiceClient(a.paymentConn),
		log,
	))

	// The HTTP gateway, in front of both services. Its otelhttp handler uses
	// the same TracerProvider and propagator as the gRPC clients, so that the
	// gRPC calls of a request are children of its HTTP server span.
	a.gatewayServer = &http.Server{
		Handler: newGatewayHandler(
			userpb.NewUserServiceClient(a.gatewayConn),
			paymentpb.NewPaymentServiceClient(a.gatewayConn),
			a.tp, prop,
		),
		ReadHeaderTimeout: 5 * time.Second,
	}

	// The debug HTTP server: the dashboard and pprof. Keep it on a loopback
	// address; the debugz handler also refuses non-loopback clients by
	// default.
	// WithServices lists every registered method, even one never called.
	opts := []debugz.HandlerOption{debugz.WithServices(a.grpcServer.GetServiceInfo()), a.cz.Option()}
	if cfg.TraceURL != "" {
		opts = append(opts, debugz.WithTraceURL(cfg.TraceURL))
	}
	r := chi.NewRouter()
	r.Mount("/debug/rpcs", debugz.NewHandler(a.sp, opts...))
	// pprof and expvar check nothing themselves: LocalOnly applies the
	// dashboard's checks to them, so that a page on another site that
	// rebinds its name to 127.0.0.1 cannot read goroutine dumps, the
	// command line or the variables through a visitor's browser.
	r.Mount("/debug", debugz.LocalOnly(middleware.Profiler()))
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/debug/rpcs/", http.StatusFound)
	})
	// The dashboard's live views are long-lived streams; requests get a
	// context that is cancelled when Shutdown starts, so those streams end
	// instead of holding Shutdown up until its timeout.
	httpCtx, cancelHTTP := context.WithCancel(context.Background())
	a.httpServer = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return httpCtx },
	}
	a.httpServer.RegisterOnShutdown(cancelHTTP)
	return a, nil
}

// newTracerProvider returns the process's one TracerProvider: the debugz
// processor always, plus a batching OTLP exporter when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads the standard OTEL_
// variables itself).
func newTracerProvider(ctx context.Context, sp *debugz.SpanProcessor) (*sdktrace.TracerProvider, error) {
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the default service name.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("debugz-example")),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(sp),
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// displayAddr is the address to print for a listener opened on addr: the
// host as configured (so "localhost:6060" stays readable, and a wildcard
// host becomes localhost), with the port actually bound.
func displayAddr(addr string, lis net.Listener) string {
	host, _, err := net.SplitHostPort(addr)
	_, port, perr := net.SplitHostPort(lis.Addr().String())
	if err != nil || perr != nil {
		return lis.Addr().String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func listen(lis net.Listener, addr string) (net.Listener, error) {
	if lis != nil {
		return lis, nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return lis, nil
}

// serve runs the servers and the load generator until ctx is done or a
// server fails, then shuts everything down in order: load first (so nothing
// new arrives), then the gateway (whose requests are gRPC callers), then
// gRPC, then HTTP, then tracing (which flushes the exporter, if any).
func (a *app) serve(ctx context.Context) error {
	errc := make(chan error, 3)
	go func() { errc <- a.grpcServer.Serve(a.grpcLis) }()
	go func() { errc <- a.gatewayServer.Serve(a.gatewayLis) }()
	go func() { errc <- a.httpServer.Serve(a.httpLis) }()

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var load sync.WaitGroup
	if a.cfg.Load {
		g := newLoadGen(a.users, a.payments, a.gatewayClient, a.gatewayURL, a.cfg.Rate)
		load.Go(func() {
			g.run(loadCtx)
			log.Printf("load generator stopped: %d calls, %d failed (most on purpose)", g.calls.Load(), g.failed.Load())
		})
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("server stopped: %w", err)
	}
	stopLoad()
	load.Wait()
	a.gatewayClient.CloseIdleConnections()
	return errors.Join(err, a.shutdown())
}

// shutdownTimeout bounds each step of the shutdown. It is longer than the 5
// seconds net/http gives a connection that has not sent its first request
// before Shutdown counts it idle (one the load generator opened as it
// stopped), so such a connection never fails the shutdown.
const shutdownTimeout = 10 * time.Second

func (a *app) shutdown() error {
	// The gateway first: the requests in flight finish their gRPC calls.
	err := shutdownHTTP("gateway", a.gatewayServer)
	// The load generator's and the gateway's connections have no more
	// callers.
	err = errors.Join(err, a.clientConn.Close(), a.gatewayConn.Close())

	// GracefulStop waits for the calls in flight; Stop cuts them if they take
	// too long.
	stopped := make(chan struct{})
	go func() {
		a.grpcServer.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(shutdownTimeout):
		a.grpcServer.Stop()
		<-stopped
	}
	// PaymentService is done calling UserService.
	err = errors.Join(err, a.paymentConn.Close(), shutdownHTTP("http", a.httpServer))

	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if terr := a.tp.Shutdown(ctx); terr != nil {
		err = errors.Join(err, fmt.Errorf("tracer provider shutdown: %w", terr))
	}
	return errors.Join(err, a.cz.Close())
}

// shutdownHTTP stops srv gracefully, waiting up to shutdownTimeout for the
// requests in flight, and closes it if they take longer.
func shutdownHTTP(name string, srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return errors.Join(fmt.Errorf("%s shutdown: %w", name, err), srv.Close())
	}
	return nil
}

// close releases what newApp opened before it failed.
func (a *app) close() {
	for _, c := range []*grpc.ClientConn{a.clientConn, a.gatewayConn, a.paymentConn} {
		if c != nil {
			c.Close()
		}
	}
	for _, l := range []net.Listener{a.grpcLis, a.httpLis, a.gatewayLis} {
		if l != nil {
			l.Close()
		}
	}
	if a.cz != nil {
		a.cz.Close()
	}
	if a.tp != nil {
		a.tp.Shutdown(context.Background())
	}
}
