package debugz_test

import (
	"context"
	"expvar"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/debugz/debugz"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// fakeRPC ends a span shaped like the ones otelgrpc makes.
func fakeRPC(tr trace.Tracer, method string, kind trace.SpanKind, code string) {
	_, s := tr.Start(context.Background(), method, trace.WithSpanKind(kind),
		trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", method)))
	s.SetAttributes(attribute.String("rpc.response.status_code", code))
	s.End()
}

func ExampleNewSpanProcessor() {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer("example")

	fakeRPC(tr, "user.UserService/FetchUser", trace.SpanKindServer, "OK")
	fakeRPC(tr, "user.UserService/FetchUser", trace.SpanKindServer, "NOT_FOUND")
	fakeRPC(tr, "payment.PaymentService/GetBalance", trace.SpanKindClient, "OK")

	for _, m := range sp.Summary().Methods {
		fmt.Printf("%s %s: %d calls, %d errors, OK=%d NOT_FOUND=%d\n",
			m.Kind, m.Method, m.Count, m.Errors, m.Codes[codes.OK], m.Codes[codes.NotFound])
	}
	// Output:
	// client payment.PaymentService/GetBalance: 1 calls, 0 errors, OK=1 NOT_FOUND=0
	// server user.UserService/FetchUser: 2 calls, 1 errors, OK=1 NOT_FOUND=1
}

func ExampleSpanProcessor_Spans() {
	sp := debugz.NewSpanProcessor(debugz.WithMaxSpansPerBucket(5))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer("example")
	for _, code := range []string{"OK", "NOT_FOUND", "OK", "INTERNAL"} {
		fakeRPC(tr, "user.UserService/FetchUser", trace.SpanKindServer, code)
	}

	// The failed calls, newest first, whatever their duration.
	for _, s := range sp.Spans(debugz.Filter{ErrorsOnly: true, Max: time.Minute}) {
		fmt.Println(s.Method, debugz.CodeName(s.Code))
	}
	nf := codes.NotFound
	fmt.Println(len(sp.Spans(debugz.Filter{Code: &nf})), "NOT_FOUND")
	// Output:
	// user.UserService/FetchUser INTERNAL
	// user.UserService/FetchUser NOT_FOUND
	// 1 NOT_FOUND
}

// Mount the pages on a chi router, here beside chi's pprof routes, which
// LocalOnly guards as the pages are.
func ExampleNewHandler_chi() {
	sp := debugz.NewSpanProcessor()
	r := chi.NewRouter()
	r.Mount("/debug/rpcs", debugz.NewHandler(sp))
	r.Mount("/debug", debugz.LocalOnly(middleware.Profiler()))

	// http.ListenAndServe("localhost:6060", r); here, one request:
	req := httptest.NewRequest("GET", "http://localhost:6060/debug/rpcs/api/summary", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 application/json
}

// Guard net/http/pprof and expvar, which check nothing themselves, with the
// checks the debugz pages apply: a page on another site that rebinds its
// name to 127.0.0.1 (Host: evil.example) is refused, as is a remote client.
func ExampleLocalOnly() {
	mux := http.NewServeMux()
	mux.Handle("/debug/pprof/", debugz.LocalOnly(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/vars", debugz.LocalOnly(expvar.Handler()))

	for _, c := range []struct{ remote, host string }{
		{"127.0.0.1:40000", "localhost:6060"}, {"127.0.0.1:40000", "evil.example:6060"}, {"203.0.113.9:40000", "localhost:6060"},
	} {
		req := httptest.NewRequest("GET", "/debug/vars", nil)
		req.RemoteAddr, req.Host = c.remote, c.host
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(c.remote, c.host, rec.Code)
	}
	// Output:
	// 127.0.0.1:40000 localhost:6060 200
	// 127.0.0.1:40000 evil.example:6060 403
	// 203.0.113.9:40000 localhost:6060 403
}

// Mount the pages on the standard library's ServeMux with StripPrefix.
func ExampleNewHandler_serveMux() {
	sp := debugz.NewSpanProcessor()
	mux := http.NewServeMux()
	mux.Handle("/debug/rpcs/", http.StripPrefix("/debug/rpcs", debugz.NewHandler(sp)))

	for _, remote := range []string{"127.0.0.1:40000", "203.0.113.9:40000"} {
		req := httptest.NewRequest("GET", "http://localhost:6060/debug/rpcs/", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(remote, rec.Code)
	}
	// Output:
	// 127.0.0.1:40000 200
	// 203.0.113.9:40000 403
}

// A service keeps the evidence itself: here when it is interrupted (its own
// alert, or a failing test's cleanup, would do the same; a test can write
// into t.ArtifactDir() when t.Failed()). Open the file with
// `go run github.com/debugz/debugz/cmd/debugz view FILE`.
func ExampleWriteSnapshot() {
	sp := debugz.NewSpanProcessor()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	go func() {
		for range sigs {
			f, err := os.Create(filepath.Join(os.TempDir(), "debugz-"+time.Now().UTC().Format("20060102T150405Z")+".tar.gz"))
			if err != nil {
				log.Print(err)
				continue
			}
			if err := debugz.WriteSnapshot(f, sp, debugz.WithSnapshotMaxBytes(64<<20)); err != nil {
				log.Print(err)
			}
			if err := f.Close(); err != nil {
				log.Print(err)
			}
		}
	}()
}
