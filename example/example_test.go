package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/debugz/debugz"
	paymentpb "github.com/debugz/debugz/example/proto/payment"
	userpb "github.com/debugz/debugz/example/proto/user"
	"github.com/debugz/debugz/internal/grpctest"
)

// startApp runs the whole example on 127.0.0.1:0 ports until the test ends.
func startApp(t *testing.T, cfg config) *app {
	t.Helper()
	var err error
	if cfg.GRPCListener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPListener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if cfg.GatewayListener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return a
}

// codesOf returns the codes seen per "method kind" row.
func codesOf(sum debugz.Summary) map[string]map[string]uint64 {
	out := map[string]map[string]uint64{}
	for _, m := range sum.Methods {
		seen := map[string]uint64{}
		for c, n := range m.Codes {
			if n > 0 {
				seen[debugz.CodeName(codes.Code(c))] = n
			}
		}
		out[m.Method+" "+m.Kind.String()] = seen
	}
	return out
}

func TestExample(t *testing.T) {
	a := startApp(t, config{})
	ctx := context.Background()

	fetch := func(id int64, timeout time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			_, err := a.users.FetchUser(ctx, &userpb.FetchUserRequest{Id: id})
			return err
		}
	}
	streamUsers := func(n int32) func(context.Context) error {
		return func(ctx context.Context) error {
			stream, err := a.users.StreamUsers(ctx, &userpb.StreamUsersRequest{Count: n})
			if err != nil {
				return err
			}
			for got := int32(0); ; got++ {
				if _, err := stream.Recv(); errors.Is(err, io.EOF) {
					if got != n {
						t.Errorf("StreamUsers(%d) sent %d users; want %d", n, got, n)
					}
					return nil
				} else if err != nil {
					return err
				}
			}
		}
	}
	createUsers := func(names ...string) func(context.Context) error {
		return func(ctx context.Context) error {
			stream, err := a.users.CreateUsers(ctx)
			if err != nil {
				return err
			}
			for _, name := range names {
				if stream.Send(&userpb.CreateUserRequest{Name: name}) != nil {
					break
				}
			}
			resp, err := stream.CloseAndRecv()
			if err == nil && int(resp.GetCreated()) != len(names) {
				t.Errorf("CreateUsers(%q) = %d; want %d", names, resp.GetCreated(), len(names))
			}
			return err
		}
	}
	// chat sends n messages; with cancel it then cancels instead of closing.
	chat := func(n int, cancel bool) func(context.Context) error {
		return func(ctx context.Context) error {
			ctx, stop := context.WithCancel(ctx)
			defer stop()
			stream, err := a.users.Chat(ctx)
			if err != nil {
				return err
			}
			for i := range n {
				if err := stream.Send(&userpb.ChatMessage{Text: "hi"}); err != nil {
					return err
				}
				if msg, err := stream.Recv(); err != nil {
					return err
				} else if msg.GetText() != "echo: hi" {
					t.Errorf("Chat message %d = %q; want %q", i, msg.GetText(), "echo: hi")
				}
			}
			if cancel {
				stop()
			} else if err := stream.CloseSend(); err != nil {
				return err
			}
			_, err = stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	balance := func(id int64) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := a.payments.GetBalance(ctx, &paymentpb.GetBalanceRequest{UserId: id})
			return err
		}
	}
	pay := func(id, cents int64) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := a.payments.ProcessPayment(ctx, &paymentpb.ProcessPaymentRequest{UserId: id, AmountCents: cents})
			return err
		}
	}

	calls := []struct {
		name string
		call func(context.Context) error
		want codes.Code
	}{
		{"FetchUser ok", fetch(1, 0), codes.OK},
		{"FetchUser unknown", fetch(99, 0), codes.NotFound},
		{"FetchUser zero", fetch(0, 0), codes.InvalidArgument},
		{"FetchUser slow", fetch(slowUserID, 100*time.Millisecond), codes.DeadlineExceeded},
		{"StreamUsers ok", streamUsers(5), codes.OK},
		{"StreamUsers zero", streamUsers(0), codes.InvalidArgument},
		{"CreateUsers ok", createUsers("a", "b", "c"), codes.OK},
		{"CreateUsers empty name", createUsers("a", ""), codes.InvalidArgument},
		{"Chat ok", chat(2, false), codes.OK},
		{"Chat cancelled", chat(1, true), codes.Canceled},
		{"GetBalance ok", balance(1), codes.OK},
		{"GetBalance unknown", balance(99), codes.NotFound},
		{"ProcessPayment zero amount", pay(1, 0), codes.InvalidArgument},
		{"ProcessPayment unknown user", pay(99, 100), codes.FailedPrecondition},
	}
	for _, c := range calls {
		if got := status.Code(c.call(ctx)); got != c.want {
			t.Errorf("%s: code %v; want %v", c.name, got, c.want)
		}
	}

	// One successful ProcessPayment under a root span of our own, so that we
	// know its trace ID.
	ctx, root := a.tp.Tracer("test").Start(ctx, "test")
	if err := pay(1, 250)(ctx); err != nil {
		t.Fatalf("ProcessPayment: %v", err)
	}
	root.End()
	traceID := root.SpanContext().TraceID()

	// Every method appears with the codes of the calls above. Server rows
	// count what the server saw; the deadline and the cancellation are the
	// client's view, so they are checked on client rows.
	want := map[string][]string{
		"user.UserService/FetchUser server":            {"OK", "NOT_FOUND", "INVALID_ARGUMENT"},
		"user.UserService/FetchUser client":            {"OK", "NOT_FOUND", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED"},
		"user.UserService/StreamUsers server":          {"OK", "INVALID_ARGUMENT"},
		"user.UserService/StreamUsers client":          {"OK", "INVALID_ARGUMENT"},
		"user.UserService/CreateUsers server":          {"OK", "INVALID_ARGUMENT"},
		"user.UserService/CreateUsers client":          {"OK", "INVALID_ARGUMENT"},
		"user.UserService/Chat server":                 {"OK"},
		"user.UserService/Chat client":                 {"OK", "CANCELLED"},
		"payment.PaymentService/GetBalance server":     {"OK", "NOT_FOUND"},
		"payment.PaymentService/GetBalance client":     {"OK", "NOT_FOUND"},
		"payment.PaymentService/ProcessPayment server": {"OK", "INVALID_ARGUMENT", "FAILED_PRECONDITION"},
		"payment.PaymentService/ProcessPayment client": {"OK", "INVALID_ARGUMENT", "FAILED_PRECONDITION"},
	}
	grpctest.Eventually(t, "summary", func() error {
		got := codesOf(a.sp.Summary())
		for row, codes := range want {
			for _, c := range codes {
				if got[row][c] == 0 {
					return errors.New(row + " has no " + c + "; rows: " + strings.Join(mapKeys(got), ", "))
				}
			}
		}
		return nil
	})

	// grpcstats.WrapHandler counts messages: StreamUsers(5) sent 5 users from the
	// server, and Chat(2) echoed 2 messages each way (its rows also count the
	// cancelled chat of 1).
	grpctest.Eventually(t, "message counts", func() error {
		for _, m := range a.sp.Summary().Methods {
			row := m.Method + " " + m.Kind.String()
			switch row {
			case "user.UserService/StreamUsers server":
				if m.MessagesSent < 5 || m.MessagesReceived < 1 || m.BytesSent == 0 {
					return fmt.Errorf("%s: sent %d received %d bytes %d; want ≥ 5 users out", row, m.MessagesSent, m.MessagesReceived, m.BytesSent)
				}
			case "user.UserService/Chat client":
				if m.MessagesSent < 2 || m.MessagesReceived < 2 {
					return fmt.Errorf("%s: sent %d received %d; want ≥ 2 each way", row, m.MessagesSent, m.MessagesReceived)
				}
			}
		}
		return nil
	})

	// ProcessPayment's trace crosses both services: client → PaymentService
	// server → FetchUser client → UserService server, plus the handler's own
	// processPayment.charge span.
	grpctest.Eventually(t, "ProcessPayment trace", func() error {
		spans := a.sp.Trace(traceID)
		find := func(name string, kind trace.SpanKind) (debugz.Span, error) {
			for _, s := range spans {
				if s.Name == name && s.Kind == kind {
					return s, nil
				}
			}
			return debugz.Span{}, errors.New("no " + kind.String() + " span " + name)
		}
		paySrv, err := find("payment.PaymentService/ProcessPayment", trace.SpanKindServer)
		if err != nil {
			return err
		}
		fetchCli, err := find("user.UserService/FetchUser", trace.SpanKindClient)
		if err != nil {
			return err
		}
		fetchSrv, err := find("user.UserService/FetchUser", trace.SpanKindServer)
		if err != nil {
			return err
		}
		charge, err := find("processPayment.charge", trace.SpanKindInternal)
		if err != nil {
			return err
		}
		for _, link := range []struct {
			child, parent debugz.Span
		}{{fetchCli, paySrv}, {fetchSrv, fetchCli}, {charge, paySrv}} {
			if link.child.Parent.SpanID() != link.parent.SpanID {
				t.Errorf("parent of %s %s = %v; want %v", link.child.Kind, link.child.Name, link.child.Parent.SpanID(), link.parent.SpanID)
			}
		}
		return nil
	})

	// The debug HTTP server: dashboard API, pprof, and the redirect from /.
	base := "http://" + a.httpLis.Addr().String()
	for _, path := range []string{"/debug/rpcs/api/summary", "/debug/pprof/", "/"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d; want 200", path, resp.StatusCode)
		}
		if path == "/debug/rpcs/api/summary" {
			var sum struct {
				Methods []struct{ Method string }
			}
			if err := json.Unmarshal(body, &sum); err != nil {
				t.Errorf("GET %s: %v", path, err)
			} else if len(sum.Methods) == 0 {
				t.Errorf("GET %s: no methods", path)
			}
		}
	}
	// pprof and expvar refuse what the dashboard refuses (debugz.LocalOnly):
	// a page on another site rebinding its name to 127.0.0.1.
	for _, path := range []string{"/debug/rpcs/", "/debug/pprof/goroutine?debug=2", "/debug/pprof/cmdline", "/debug/vars"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Host = "evil.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with Host evil.example = %d; want 403", path, resp.StatusCode)
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestExampleLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load generator for a few seconds")
	}
	a := startApp(t, config{Load: true, Rate: 100})

	// Every kind of failure the load generator makes shows up.
	grpctest.Eventually(t, "load", func() error {
		seen := map[string]bool{}
		for _, m := range a.sp.Summary().Methods {
			for c, n := range m.Codes {
				if n > 0 {
					seen[debugz.CodeName(codes.Code(c))] = true
				}
			}
		}
		for _, c := range []string{"OK", "NOT_FOUND", "DEADLINE_EXCEEDED", "INVALID_ARGUMENT", "CANCELLED", "FAILED_PRECONDITION"} {
			if !seen[c] {
				return errors.New("no " + c + " yet")
			}
		}
		return nil
	})

	// Some of the load goes through the gateway: a FetchUser client span
	// whose parent is the gateway's server span, itself the child of the
	// load generator's HTTP client span.
	grpctest.Eventually(t, "load through the gateway", func() error {
		for _, s := range a.sp.Spans(debugz.Filter{Method: "user.UserService/FetchUser", Kind: trace.SpanKindClient}) {
			srv, ok := a.sp.Span(s.Parent.SpanID())
			if !ok || srv.Name != "GET /api/user/{id}" || srv.Kind != trace.SpanKindServer {
				continue
			}
			if cli, ok := a.sp.Span(srv.Parent.SpanID()); ok && cli.Kind == trace.SpanKindClient && cli.Name == "HTTP GET" {
				return nil
			}
		}
		return errors.New("no FetchUser call from the gateway on behalf of the load generator yet")
	})

	// The long-lived Chat stream is in flight.
	active := a.sp.Active()
	if !slices.ContainsFunc(active, func(r debugz.ActiveRPC) bool { return r.Method == "user.UserService/Chat" }) {
		t.Errorf("Active() has no Chat stream; got %d in flight", len(active))
	}

	// A CPU profile by method names the method that hashes: CreateUsers.
	code, body := testRequest(t, "GET", "http://"+a.httpLis.Addr().String()+"/debug/rpcs/api/profile?seconds=2", "")
	var prof struct {
		Methods []struct{ Method string }
	}
	if err := json.Unmarshal([]byte(body), &prof); code != 200 || err != nil {
		t.Fatalf("GET /api/profile = %d, %v: %.200s", code, err, body)
	}
	hottest := ""
	for _, m := range prof.Methods {
		if m.Method != "" { // labelled: served by an RPC
			hottest = m.Method
			break
		}
	}
	if hottest != "user.UserService/CreateUsers" {
		t.Errorf("hottest method in a CPU profile = %q (%s); want user.UserService/CreateUsers", hottest, body)
	}
}

func TestDisplayAddr(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	tests := []struct {
		name, addr, want string
	}{
		{"hostname kept", "localhost:0", "localhost:" + port},
		{"ip kept", "127.0.0.1:0", "127.0.0.1:" + port},
		{"empty host", ":0", "localhost:" + port},
		{"wildcard host", "0.0.0.0:0", "localhost:" + port},
		{"no address", "", lis.Addr().String()},
	}
	for _, tt := range tests {
		if got := displayAddr(tt.addr, lis); got != tt.want {
			t.Errorf("%s: displayAddr(%q) = %q; want %q", tt.name, tt.addr, got, tt.want)
		}
	}
}

// testRequest sends one request with a JSON body (none if body is "") and
// returns the response's status and body.
func testRequest(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

func TestGateway(t *testing.T) {
	a := startApp(t, config{})
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantBody                 string
	}{
		{"user", "GET", "/api/user/1", "", 200, `{"user":{"id":1,"name":"alan1","email":"alan1@example.com"},"balance_cents":1000000}`},
		{"user unknown", "GET", "/api/user/99", "", 404, `{"error":"user 99 not found","code":"NOT_FOUND"}`},
		{"user zero", "GET", "/api/user/0", "", 400, `{"error":"user id must be positive, got 0","code":"INVALID_ARGUMENT"}`},
		{"user not a number", "GET", "/api/user/ada", "", 400, `{"error":"user id must be an integer"}`},
		{"pay", "POST", "/api/pay", `{"user_id": 2, "amount_cents": 250}`, 200, `{"payment_id":"pay-1","balance_cents":999750}`},
		{"pay negative", "POST", "/api/pay", `{"user_id": 2, "amount_cents": -58}`, 400, `{"error":"amount must be positive, got -58 cents","code":"INVALID_ARGUMENT"}`},
		{"pay unknown user", "POST", "/api/pay", `{"user_id": 99, "amount_cents": 100}`, 400, `{"error":"user 99 not found","code":"FAILED_PRECONDITION"}`},
		{"pay not JSON", "POST", "/api/pay", `user=2`, 400, `{"error":"body must be a JSON object like {\"user_id\": 7, \"amount_cents\": 250}"}`},
		{"pay unknown field", "POST", "/api/pay", `{"user": 2}`, 400, `{"error":"body must be a JSON object like {\"user_id\": 7, \"amount_cents\": 250}"}`},
		{"pay with GET", "GET", "/api/pay", "", 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		code, body := testRequest(t, tt.method, a.gatewayURL+tt.path, tt.body)
		if code != tt.wantCode || strings.TrimSpace(body) != tt.wantBody {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, tt.method, tt.path, code, body, tt.wantCode, tt.wantBody)
		}
	}
}

// TestGatewayTrace checks that a request to the gateway makes one trace:
// the otelhttp server span at its root, then the gRPC client and server
// spans of FetchUser and GetBalance.
func TestGatewayTrace(t *testing.T) {
	a := startApp(t, config{})
	if code, body := testRequest(t, "GET", a.gatewayURL+"/api/user/7", ""); code != http.StatusOK {
		t.Fatalf("GET /api/user/7 = %d %s; want 200", code, body)
	}

	grpctest.Eventually(t, "gateway trace", func() error {
		// The request was the only caller: every gRPC span is in its trace.
		grpcSpans := a.sp.Spans(debugz.Filter{})
		if len(grpcSpans) != 4 {
			return fmt.Errorf("%d gRPC spans; want 4 (FetchUser and GetBalance, client and server)", len(grpcSpans))
		}
		id := grpcSpans[0].TraceID
		for _, s := range grpcSpans {
			if s.TraceID != id {
				return fmt.Errorf("%s %s is in trace %v; want %v", s.Kind, s.Name, s.TraceID, id)
			}
		}
		spans := a.sp.Trace(id)
		find := func(name string, kind trace.SpanKind) (debugz.Span, error) {
			for _, s := range spans {
				if s.Name == name && s.Kind == kind {
					return s, nil
				}
			}
			return debugz.Span{}, errors.New("no " + kind.String() + " span " + name)
		}
		root, err := find("GET /api/user/{id}", trace.SpanKindServer)
		if err != nil {
			return err
		}
		var roots []string
		for _, s := range spans {
			if !s.Parent.IsValid() {
				roots = append(roots, s.Kind.String()+" "+s.Name)
			}
		}
		if len(roots) != 1 || root.Parent.IsValid() {
			return fmt.Errorf("roots %q; want only the gateway's server span", roots)
		}
		if root.Scope.Name != "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp" {
			t.Errorf("root span's scope = %q; want otelhttp's", root.Scope.Name)
		}
		var links []struct{ child, parent debugz.Span }
		for _, m := range []string{"user.UserService/FetchUser", "payment.PaymentService/GetBalance"} {
			cli, err := find(m, trace.SpanKindClient)
			if err != nil {
				return err
			}
			srv, err := find(m, trace.SpanKindServer)
			if err != nil {
				return err
			}
			links = append(links, struct{ child, parent debugz.Span }{cli, root}, struct{ child, parent debugz.Span }{srv, cli})
		}
		for _, link := range links {
			if link.child.Parent.SpanID() != link.parent.SpanID {
				t.Errorf("parent of %s %s = %v; want %v (%s %s)", link.child.Kind, link.child.Name,
					link.child.Parent.SpanID(), link.parent.SpanID, link.parent.Kind, link.parent.Name)
			}
		}
		return nil
	})
}

// TestGatewayPaymentError checks that a payment that fails behind the
// gateway says why on the server span of ProcessPayment, as the dashboard's
// JSON API shows it (grpcstats.WrapHandler records the server's status
// message).
func TestGatewayPaymentError(t *testing.T) {
	a := startApp(t, config{})
	tests := []struct {
		name, body  string
		wantHTTP    int
		wantCode    string
		wantMessage string
	}{
		{"negative amount", `{"user_id": 3, "amount_cents": -58}`, 400, "INVALID_ARGUMENT", "amount must be positive, got -58 cents"},
		{"unknown user", `{"user_id": 77, "amount_cents": 100}`, 400, "FAILED_PRECONDITION", "user 77 not found"},
	}
	dashboard := "http://" + a.httpLis.Addr().String() + "/debug/rpcs"
	for _, tt := range tests {
		if code, body := testRequest(t, "POST", a.gatewayURL+"/api/pay", tt.body); code != tt.wantHTTP || !strings.Contains(body, tt.wantMessage) {
			t.Errorf("%s: POST /api/pay %s = %d %s; want %d with %q", tt.name, tt.body, code, body, tt.wantHTTP, tt.wantMessage)
		}
		path := "/api/spans?method=payment.PaymentService/ProcessPayment&kind=server&code=" + tt.wantCode
		grpctest.Eventually(t, tt.name, func() error {
			code, body := testRequest(t, "GET", dashboard+path, "")
			if code != http.StatusOK {
				return fmt.Errorf("GET %s = %d %s; want 200", path, code, body)
			}
			var got struct {
				Spans []struct {
					SpanID        string `json:"span_id"`
					Name          string `json:"name"`
					Code          string `json:"code"`
					StatusMessage string `json:"status_message"`
				} `json:"spans"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				return fmt.Errorf("GET %s: %v", path, err)
			}
			if len(got.Spans) != 1 {
				return fmt.Errorf("GET %s: %d spans; want 1", path, len(got.Spans))
			}
			if s := got.Spans[0]; s.Code != tt.wantCode || s.StatusMessage != tt.wantMessage {
				t.Errorf("%s: GET %s = code %s, status_message %q; want %s, %q", tt.name, path, s.Code, s.StatusMessage, tt.wantCode, tt.wantMessage)
			}
			// The handler's own log line says why, beside the call.
			_, one := testRequest(t, "GET", dashboard+"/api/spans/"+got.Spans[0].SpanID, "")
			if !strings.Contains(one, `"message":"payment declined"`) || !strings.Contains(one, `"level":"WARN"`) {
				t.Errorf("%s: the failed payment's logs lack its WARN \"payment declined\" line:\n%.1500s", tt.name, one)
			}
			return nil
		})
	}
}
