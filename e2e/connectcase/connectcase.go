// Package connectcase holds the tests of debugz's rows against real
// connect-go servers and clients instrumented with otelconnect, over gRPC,
// gRPC-Web and Connect, shared by e2e/connect (the newest otelconnect) and
// e2e/connect07 (otelconnect v0.7): each module's tests call these
// functions with the attributes its generation writes. Its go.mod requires
// the oldest versions; each module's own go.mod picks its generation.
package connectcase

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/rowtest"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The service, written with connect's generic API (no generated code): Get
// answers with the code its request names, Watch sends two messages and
// then ends with that code.
const (
	service = "debugz.e2e.v1.EchoService"
	get     = service + "/Get"
	watch   = service + "/Watch"
)

// errFor returns the error a request asks for: "ok" none, else the Connect
// code it names.
func errFor(req *wrapperspb.StringValue) error {
	switch req.GetValue() {
	case "ok":
		return nil
	case "not_found":
		return connect.NewError(connect.CodeNotFound, errors.New("no such thing"))
	case "internal":
		return connect.NewError(connect.CodeInternal, errors.New("boom"))
	}
	return connect.NewError(connect.CodeInvalidArgument, errors.New("unexpected request"))
}

// protocol is a way for connect's client to talk.
type protocol struct {
	name  string
	opts  []connect.ClientOption
	proto string // the HTTP version the calls go over
}

var protocols = []protocol{
	{name: "gRPC", opts: []connect.ClientOption{connect.WithGRPC()}, proto: "HTTP/2.0"},
	{name: "gRPC-Web", opts: []connect.ClientOption{connect.WithGRPCWeb()}, proto: "HTTP/1.1"},
	{name: "Connect", proto: "HTTP/1.1"},
}

// server is the service over TLS with HTTP/2 (gRPC needs it; gRPC-Web and
// Connect are sent over HTTP/1.1), both sides instrumented with otelconnect,
// the spans going to a debugz processor.
type server struct {
	sp   *debugz.SpanProcessor
	srv  *httptest.Server
	icpt connect.Interceptor

	arrived, release chan struct{} // a Get of "hold" says it arrived, then waits for release

	mu     sync.Mutex
	protos map[string]int // HTTP versions of the requests served
}

func start(t *testing.T) *server {
	t.Helper()
	s := &server{sp: debugz.NewSpanProcessor(), protos: map[string]int{}, arrived: make(chan struct{}), release: make(chan struct{})}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	icpt, err := otelconnect.NewInterceptor(otelconnect.WithTracerProvider(tp), otelconnect.WithPropagator(propagation.TraceContext{}), otelconnect.WithoutMetrics())
	if err != nil {
		t.Fatal(err)
	}
	s.icpt = icpt
	mux := http.NewServeMux()
	mux.Handle("/"+get, connect.NewUnaryHandler("/"+get,
		func(_ context.Context, r *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			if r.Msg.GetValue() == "hold" {
				s.arrived <- struct{}{}
				<-s.release
				return connect.NewResponse(wrapperspb.String("ada")), nil
			}
			if err := errFor(r.Msg); err != nil {
				return nil, err
			}
			return connect.NewResponse(wrapperspb.String("ada")), nil
		}, connect.WithInterceptors(icpt)))
	mux.Handle("/"+watch, connect.NewServerStreamHandler("/"+watch,
		func(_ context.Context, r *connect.Request[wrapperspb.StringValue], st *connect.ServerStream[wrapperspb.StringValue]) error {
			for range 2 {
				if err := st.Send(wrapperspb.String("tick")); err != nil {
					return err
				}
			}
			return errFor(r.Msg)
		}, connect.WithInterceptors(icpt)))
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.protos[r.Proto]++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	s.srv.EnableHTTP2 = true
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// client returns an HTTP client that speaks p's HTTP version to the server.
func (s *server) client(p protocol) *http.Client {
	c := s.srv.Client()
	if p.proto == "HTTP/1.1" {
		tr := c.Transport.(*http.Transport).Clone()
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetHTTP1(true)
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"} // srv.Client's config offers h2 first
		c = &http.Client{Transport: tr}
	}
	return c
}

// calls makes n calls of each kind over p: Get answering OK, NOT_FOUND and
// INTERNAL, and Watch ending OK and NOT_FOUND after its two messages; each
// call must end with the code it asked for.
func (s *server) calls(t *testing.T, p protocol, n int) {
	t.Helper()
	hc := s.client(p)
	opts := append([]connect.ClientOption{connect.WithInterceptors(s.icpt)}, p.opts...)
	getter := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, s.srv.URL+"/"+get, opts...)
	watcher := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, s.srv.URL+"/"+watch, opts...)
	ctx := context.Background()
	for _, ask := range []string{"ok", "not_found", "internal"} {
		for range n {
			_, err := getter.CallUnary(ctx, connect.NewRequest(wrapperspb.String(ask)))
			if want := errFor(wrapperspb.String(ask)); (err == nil) != (want == nil) || err != nil && connect.CodeOf(err) != connect.CodeOf(want) {
				t.Fatalf("%s Get(%q) = %v; want %v", p.name, ask, err, want)
			}
		}
	}
	for _, ask := range []string{"ok", "not_found"} {
		for range n {
			st, err := watcher.CallServerStream(ctx, connect.NewRequest(wrapperspb.String(ask)))
			if err != nil {
				t.Fatalf("%s Watch(%q) = %v", p.name, ask, err)
			}
			msgs := 0
			for st.Receive() {
				msgs++
			}
			err = st.Err()
			if cerr := st.Close(); cerr != nil {
				t.Fatalf("%s Watch(%q): close: %v", p.name, ask, cerr)
			}
			if msgs != 2 || (ask == "ok") != (err == nil) || err != nil && connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("%s Watch(%q) = %d messages, %v; want 2 messages and %q", p.name, ask, msgs, err, ask)
			}
		}
	}
}

// rows are the rows n calls of each kind (server) make, on each side.
func rows(n uint64) map[rowtest.Key]rowtest.Row {
	g := rowtest.Row{Count: 3 * n, Errors: 2 * n, Codes: map[string]uint64{"OK": n, "NOT_FOUND": n, "INTERNAL": n}}
	w := rowtest.Row{Count: 2 * n, Errors: n, Codes: map[string]uint64{"OK": n, "NOT_FOUND": n}}
	return map[rowtest.Key]rowtest.Row{
		rowtest.Server(get): g, rowtest.Client(get): g,
		rowtest.Server(watch): w, rowtest.Client(watch): w,
	}
}

// RowsPerProtocol: over each protocol alone, every row counts the calls,
// errors and codes (Connect's names mapped to gRPC's) exactly.
func RowsPerProtocol(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			s := start(t)
			s.calls(t, p, 2)
			rowtest.Wait(t, s.sp, rows(2))
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.protos[p.proto] != 10 || len(s.protos) != 1 {
				t.Errorf("requests by HTTP version = %v; want %s only, 10", s.protos, p.proto)
			}
		})
	}
}

// OneRowPerMethod: the same method called over every protocol is
// one row per kind, counting all of them (a different number of calls per
// protocol, so a protocol missed or counted twice shows in the sums).
func OneRowPerMethod(t *testing.T) {
	s := start(t)
	for i, p := range protocols {
		s.calls(t, p, 1<<i) // 1, 2, 4
	}
	rowtest.Wait(t, s.sp, rows(7))
}

// InFlight: while a call runs, Active lists it on both sides
// with its method and the rows say one in flight; once it ends, Active is
// empty and the rows count it.
func InFlight(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			s := start(t)
			opts := append([]connect.ClientOption{connect.WithInterceptors(s.icpt)}, p.opts...)
			getter := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](s.client(p), s.srv.URL+"/"+get, opts...)
			done := make(chan error, 1)
			go func() {
				_, err := getter.CallUnary(context.Background(), connect.NewRequest(wrapperspb.String("hold")))
				done <- err
			}()
			<-s.arrived
			active := s.sp.Active()
			kinds := map[trace.SpanKind]int{}
			for _, a := range active {
				if a.Method != get {
					t.Errorf("Active() has %s %s; want only %s", a.Kind, a.Method, get)
				}
				kinds[a.Kind]++
			}
			if len(active) != 2 || kinds[trace.SpanKindServer] != 1 || kinds[trace.SpanKindClient] != 1 {
				t.Errorf("Active() = %d calls %v; want one server and one client", len(active), kinds)
			}
			rows := s.sp.Summary().Methods
			if len(rows) != 2 {
				t.Errorf("Summary() in flight has %d rows; want 2 (server and client)", len(rows))
			}
			for _, m := range rows {
				if m.Active != 1 || m.Count != 0 || m.Method != get {
					t.Errorf("row %s %s in flight: active %d count %d; want %s active 1 count 0", m.Method, m.Kind, m.Active, m.Count, get)
				}
			}
			close(s.release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			ok := rowtest.Row{Count: 1, Codes: map[string]uint64{"OK": 1}}
			rowtest.Wait(t, s.sp, map[rowtest.Key]rowtest.Row{rowtest.Server(get): ok, rowtest.Client(get): ok})
			if a := s.sp.Active(); len(a) != 0 {
				t.Errorf("Active() after the call = %d calls; want none", len(a))
			}
		})
	}
}

// spoken returns the RPC systems and the status code keys the spans of
// the processor carry, sorted: which attribute scheme the calls were
// counted from.
func spoken(sp *debugz.SpanProcessor) (systems, codeKeys []string) {
	sys, keys := map[string]bool{}, map[string]bool{}
	for _, s := range sp.Spans(debugz.Filter{}) {
		for _, kv := range s.Attributes {
			switch k := string(kv.Key); k {
			case "rpc.system", "rpc.system.name":
				sys[k+"="+kv.Value.AsString()] = true
			case "rpc.grpc.status_code", "rpc.grpc_web.status_code", "rpc.connect_rpc.error_code", "rpc.response.status_code":
				keys[k] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(sys)), slices.Sorted(maps.Keys(keys))
}

// Attrs are the attributes a protocol's spans carry: the one RPC system
// (key=value) and the one status code key.
type Attrs struct {
	System  string // e.g. "rpc.system=grpc"
	CodeKey string // e.g. "rpc.grpc.status_code"
}

// Want are a generation's attributes: Protocols by protocol name ("gRPC",
// "gRPC-Web", "Connect"); Skip, if set, is asked with the systems and code
// keys the spans carry and skips the subtest when it returns a reason
// (another generation picked by the build list).
type Want struct {
	Protocols map[string]Attrs
	Skip      func(systems, codeKeys []string) (reason string)
}

// Attributes: over each protocol, the calls were counted from want's
// attributes.
func Attributes(t *testing.T, want Want) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			w, ok := want.Protocols[p.name]
			if !ok {
				t.Fatalf("no attributes wanted for %s", p.name)
			}
			s := start(t)
			s.calls(t, p, 1)
			rowtest.Wait(t, s.sp, rows(1))
			systems, keys := spoken(s.sp)
			if want.Skip != nil {
				if reason := want.Skip(systems, keys); reason != "" {
					t.Skip(reason)
				}
			}
			if want := []string{w.System}; !slices.Equal(systems, want) {
				t.Errorf("systems = %q; want %q", systems, want)
			}
			if want := []string{w.CodeKey}; !slices.Equal(keys, want) {
				t.Errorf("code keys = %q; want %q", keys, want)
			}
		})
	}
}
