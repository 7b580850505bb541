// Package grpctest is the one home of the helpers of the tests of every
// debugz module: the root's (on the oldest otelgrpc debugz supports) and
// those of e2e, bench and example (on the newest). It serves grpc-go's
// interop TestService on 127.0.0.1 with otelgrpc on both sides, drives
// every kind of call through it, sends one GET to a handler as a local
// browser would, and waits for a condition.
package grpctest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// Method is the prefix of the service's full method names.
const Method = "grpc.testing.TestService/"

// Service answers with payloads of the sizes the requests ask for, so that
// every message has a size of its own, and with the status a unary request
// asks for. A request for DEADLINE_EXCEEDED waits until the call's context
// ends and then answers CANCELLED: made as DriveAllKinds makes it, with the
// deadline hidden from grpc, only the caller's reset ends that context, so
// the caller has its DEADLINE_EXCEEDED first. Any other unary call with a
// deadline is answered when 90% of it is used. StreamingOutputCall sends a
// response per ResponseParameters, FullDuplexCall the same per request (one
// empty response to a request without parameters), and StreamingInputCall
// answers the total size of the payloads it received.
type Service struct {
	testpb.UnimplementedTestServiceServer
}

// Payload is a payload of n zero bytes.
func Payload(n int32) *testpb.Payload { return &testpb.Payload{Body: make([]byte, n)} }

func (Service) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if st := req.GetResponseStatus(); st.GetCode() != 0 {
		if codes.Code(st.GetCode()) == codes.DeadlineExceeded {
			<-ctx.Done()
			return nil, status.Error(codes.Canceled, "caller gave up")
		}
		if st.GetMessage() == WithDetails {
			return nil, detailedError(codes.Code(st.GetCode()))
		}
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	if dl, ok := ctx.Deadline(); ok { // answer when 90% of the deadline is used
		time.Sleep(time.Until(dl) - time.Until(dl)/10)
	}
	return &testpb.SimpleResponse{Payload: Payload(req.GetResponseSize()), Username: "ada"}, nil
}

func (Service) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	for _, p := range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: Payload(p.GetSize())}); err != nil {
			return err
		}
	}
	return nil
}

func (Service) StreamingInputCall(stream testpb.TestService_StreamingInputCallServer) error {
	n := 0
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n += len(req.GetPayload().GetBody())
	}
}

func (Service) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		params := req.GetResponseParameters()
		if len(params) == 0 {
			params = []*testpb.ResponseParameters{{}}
		}
		for _, p := range params {
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: Payload(p.GetSize())}); err != nil {
				return err
			}
		}
	}
}

// Wrap turns otelgrpc's stats handler into the one installed (for instance
// grpcstats.WrapHandler); nil installs otelgrpc's as it is.
type Wrap func(stats.Handler) stats.Handler

// Start serves srv (Service{} when nil) on 127.0.0.1 with otelgrpc's server
// handler, and returns a client with otelgrpc's client handler, both sending
// spans to tp with a W3C propagator. Everything stops when the test ends.
func Start(t testing.TB, tp trace.TracerProvider, wrap Wrap, srv testpb.TestServiceServer) testpb.TestServiceClient {
	t.Helper()
	if wrap == nil {
		wrap = func(h stats.Handler) stats.Handler { return h }
	}
	if srv == nil {
		srv = Service{}
	}
	opts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}
	conn := Serve(t, wrap(otelgrpc.NewServerHandler(opts...)), wrap(otelgrpc.NewClientHandler(opts...)),
		func(s *grpc.Server) { testpb.RegisterTestServiceServer(s, srv) })
	return testpb.NewTestServiceClient(conn)
}

// Serve serves what register registers on 127.0.0.1, with the stats handler
// sh (none when nil), and returns a connection to it with the stats handler
// ch (none when nil) and opts; its Target is the server's address.
// Everything stops when the test ends.
func Serve(t testing.TB, sh, ch stats.Handler, register func(*grpc.Server), opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var srvOpts []grpc.ServerOption
	cliOpts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	if sh != nil {
		srvOpts = append(srvOpts, grpc.StatsHandler(sh))
	}
	if ch != nil {
		cliOpts = append(cliOpts, grpc.WithStatsHandler(ch))
	}
	gs := grpc.NewServer(srvOpts...)
	register(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), cliOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// DriveAllKinds makes, in order: 2 unary OK, 1 unary NOT_FOUND, 1 unary
// deadline, one server stream of 3, one client stream of 4, one bidi stream of 2:
// 14 spans in all, client and server.
func DriveAllKinds(t testing.TB, c testpb.TestServiceClient) {
	t.Helper()
	ctx := context.Background()
	for range 2 {
		if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
	}
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no user 7"}})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("UnaryCall(NOT_FOUND) = %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.UnaryCall(hiddenDeadline{dctx}, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.DeadlineExceeded)}})
	cancel()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("UnaryCall(deadline) = %v", err)
	}

	out, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: make([]*testpb.ResponseParameters, 3)})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := out.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}

	in, err := c.StreamingInputCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := in.Send(&testpb.StreamingInputCallRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}

	bidi, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := bidi.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
			t.Fatal(err)
		}
		if _, err := bidi.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	_ = bidi.CloseSend()
	if _, err := bidi.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("bidi end = %v; want EOF", err)
	}
}

// hiddenDeadline is a context that ends at its deadline without telling
// grpc of it: grpc sends no grpc-timeout, so the server's context ends only
// when the caller, having given up with DEADLINE_EXCEEDED, resets the
// stream. With the deadline sent, the server's own copy of it could end the
// call first, and its answer reach the caller before the caller's timer has
// fired.
type hiddenDeadline struct{ context.Context }

func (hiddenDeadline) Deadline() (time.Time, bool) { return time.Time{}, false }

// unary makes n UnaryCalls asking for code c and checks that each ends
// with it. Only a call asking for DEADLINE_EXCEEDED gets the timeout as its
// deadline (Service answers a call with a deadline when 90% of it is used),
// hidden from grpc as DriveAllKinds hides it, so that the caller's own
// timer ends the call.
func unary(t testing.TB, client testpb.TestServiceClient, n int, c codes.Code, timeout time.Duration) {
	t.Helper()
	for range n {
		var ctx context.Context = context.Background()
		cancel := context.CancelFunc(func() {})
		if c == codes.DeadlineExceeded {
			var dctx context.Context
			dctx, cancel = context.WithTimeout(context.Background(), timeout)
			ctx = hiddenDeadline{dctx}
		}
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(c), Message: "asked for"}})
		cancel()
		if got := status.Code(err); got != c {
			t.Fatalf("UnaryCall asking for %v = %v; want %v", c, err, c)
		}
	}
}

// serverStream makes a StreamingOutputCall of msgs answers and reads them all.
func serverStream(t testing.TB, client testpb.TestServiceClient, msgs int) {
	t.Helper()
	stream, err := client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{ResponseParameters: make([]*testpb.ResponseParameters, msgs)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := stream.Recv(); err != nil {
			if i != msgs {
				t.Fatalf("stream ended after %d messages with %v; want %d", i, err, msgs)
			}
			return
		}
	}
}

// WaitFor polls until cond holds, failing the test after 10 seconds: server
// spans end just after the client sees the response, so the last server
// span may land a moment later.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Eventually(t, what, func() error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
}

// Eventually is WaitFor with a condition that says what is missing: the
// test fails after 10 seconds with the last error cond returned.
func Eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
	}
}

// Get serves one GET of path to h from a loopback address, with the Host
// localhost:6060 (which a handler's default checks allow), and returns the
// status and the body.
func Get(t testing.TB, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, localGet(context.Background(), path))
	return rec.Code, rec.Body.String()
}

// FirstEvent serves one GET of a live stream (Server-Sent Events) as Get
// does and returns the status and the stream's first event, ending the
// stream as soon as it has arrived (or failing the test after 10 seconds).
func FirstEvent(t testing.TB, h http.Handler, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := &firstEvent{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
	h.ServeHTTP(w, localGet(ctx, path)) // returns when ctx is done
	event, _, complete := strings.Cut(w.Body.String(), "\n\n")
	if !complete && ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("GET %s: no event in 10s", path)
	}
	return w.Code, event
}

func localGet(ctx context.Context, path string) *http.Request {
	req := httptest.NewRequestWithContext(ctx, "GET", "http://localhost:6060"+path, nil)
	req.RemoteAddr = "127.0.0.1:1234"
	return req
}

// firstEvent records a response and cancels its request once the body holds
// a whole event.
type firstEvent struct {
	*httptest.ResponseRecorder
	cancel func()
}

func (w *firstEvent) Write(b []byte) (int, error) {
	n, err := w.ResponseRecorder.Write(b)
	if strings.Contains(w.Body.String(), "\n\n") {
		w.cancel()
	}
	return n, err
}

// WithDetails is the status message that makes Service.UnaryCall answer
// with the code asked for and status details: an ErrorInfo whose metadata
// holds a secret ("token": "s3cr3t"), and a BadRequest.
const WithDetails = "with details"

func detailedError(c codes.Code) error {
	st, err := status.New(c, WithDetails).WithDetails(
		&errdetails.ErrorInfo{Reason: "QUOTA", Domain: "test.debugz", Metadata: map[string]string{"token": "s3cr3t", "region": "eu"}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "user", Description: "required"}}})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// Handlers are stats handlers called in turn, as grpc calls those
// registered with several grpc.StatsHandler options: each TagRPC and
// TagConn on the context the one before returned, each HandleRPC and
// HandleConn on the last.
type Handlers []stats.Handler

// InOrder is first then second, or second then first when reversed.
func InOrder(reversed bool, first, second stats.Handler) Handlers {
	if reversed {
		return Handlers{second, first}
	}
	return Handlers{first, second}
}

func (hs Handlers) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	for _, h := range hs {
		ctx = h.TagRPC(ctx, info)
	}
	return ctx
}

func (hs Handlers) HandleRPC(ctx context.Context, s stats.RPCStats) {
	for _, h := range hs {
		h.HandleRPC(ctx, s)
	}
}

func (hs Handlers) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	for _, h := range hs {
		ctx = h.TagConn(ctx, info)
	}
	return ctx
}

func (hs Handlers) HandleConn(ctx context.Context, s stats.ConnStats) {
	for _, h := range hs {
		h.HandleConn(ctx, s)
	}
}

// DriveCodes makes, through client, the calls the end-to-end row tests
// count: 10 unary calls answered OK, 5 NOT_FOUND, 3 INTERNAL, 1 past its
// 50 ms deadline, and two server streams, of 3 messages and of none.
func DriveCodes(t testing.TB, client testpb.TestServiceClient) {
	t.Helper()
	unary(t, client, 10, codes.OK, 0)
	unary(t, client, 5, codes.NotFound, 0)
	unary(t, client, 3, codes.Internal, 0)
	unary(t, client, 1, codes.DeadlineExceeded, 50*time.Millisecond)
	serverStream(t, client, 3)
	serverStream(t, client, 0)
}
