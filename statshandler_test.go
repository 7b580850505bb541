package debugz_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// statsService answers with payloads of the sizes the requests ask for, so
// that every message has a size of its own. A unary call with a deadline is
// answered 25ms before it.
type statsService struct {
	testpb.UnimplementedTestServiceServer
}

func body(n int32) *testpb.Payload { return &testpb.Payload{Body: make([]byte, n)} }

func (statsService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if dl, ok := ctx.Deadline(); ok {
		time.Sleep(time.Until(dl) - 25*time.Millisecond)
	}
	return &testpb.SimpleResponse{Payload: body(req.GetResponseSize()), Username: "ada"}, nil
}

func (statsService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	for _, p := range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: body(p.GetSize())}); err != nil {
			return err
		}
	}
	return nil
}

func (statsService) StreamingInputCall(stream testpb.TestService_StreamingInputCallServer) error {
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

func (statsService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range req.GetResponseParameters() {
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: body(p.GetSize())}); err != nil {
				return err
			}
		}
	}
}

// vaultTypes are the messages of vault, a service built from a descriptor at
// run time, so that its messages can have credential-like fields:
// Login(LoginRequest) returns Creds.
type vaultTypes struct {
	req, creds protoreflect.MessageDescriptor
}

var vault = sync.OnceValue(func() vaultTypes {
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	field := func(name string, n int32, typ *descriptorpb.FieldDescriptorProto_Type, label *descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ, Label: label}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("debugz/vault_test.proto"),
		Package: proto.String("debugz.test"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Creds"), Field: []*descriptorpb.FieldDescriptorProto{field("token", 1, str, opt, "")}},
			{
				Name: proto.String("LoginRequest"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("user", 1, str, opt, ""),
					field("password", 2, str, opt, ""),
					field("credentials", 3, msg, opt, ".debugz.test.Creds"),
					field("headers", 4, msg, rep, ".debugz.test.LoginRequest.HeadersEntry"),
					field("note", 5, str, opt, ""),
				},
				NestedType: []*descriptorpb.DescriptorProto{{
					Name:    proto.String("HeadersEntry"),
					Field:   []*descriptorpb.FieldDescriptorProto{field("key", 1, str, opt, ""), field("value", 2, str, opt, "")},
					Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
				}},
			},
		},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		panic(err)
	}
	return vaultTypes{req: fd.Messages().ByName("LoginRequest"), creds: fd.Messages().ByName("Creds")}
})

var vaultDesc = grpc.ServiceDesc{
	ServiceName: "debugz.test.Vault",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Login",
		Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(dynamicpb.NewMessage(vault().req)); err != nil {
				return nil, err
			}
			out := dynamicpb.NewMessage(vault().creds)
			out.Set(vault().creds.Fields().ByName("token"), protoreflect.ValueOfString("session-s3cr3t"))
			return out, nil
		},
	}},
}

// serveStats serves statsService and vault on 127.0.0.1 with otelgrpc on both
// sides, wrapped in debugz.WrapStatsHandler when wrap is set, and returns a
// client connection and the server's port.
func serveStats(tb testing.TB, tp trace.TracerProvider, wrap bool, clientOpts []otelgrpc.Option, opts ...debugz.StatsOption) (*grpc.ClientConn, int) {
	tb.Helper()
	common := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}
	sh, ch := otelgrpc.NewServerHandler(common...), otelgrpc.NewClientHandler(append(common, clientOpts...)...)
	if wrap {
		sh, ch = debugz.WrapStatsHandler(sh, opts...), debugz.WrapStatsHandler(ch, opts...)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(sh))
	testpb.RegisterTestServiceServer(srv, statsService{})
	srv.RegisterService(&vaultDesc, struct{}{})
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(ch))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn, lis.Addr().(*net.TCPAddr).Port
}

// wrappedServer is a served statsService whose spans, both sides wrapped in
// debugz.WrapStatsHandler, land in rec.
type wrappedServer struct {
	conn   *grpc.ClientConn
	client testpb.TestServiceClient
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	port   int
}

func startWrapped(tb testing.TB, opts ...debugz.StatsOption) *wrappedServer {
	return startWrappedFiltered(tb, nil, opts...)
}

// startWrappedFiltered is startWrapped with otelgrpc options for the client.
func startWrappedFiltered(tb testing.TB, clientOpts []otelgrpc.Option, opts ...debugz.StatsOption) *wrappedServer {
	tb.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	conn, port := serveStats(tb, tp, true, clientOpts, opts...)
	return &wrappedServer{conn: conn, client: testpb.NewTestServiceClient(conn), rec: rec, tp: tp, port: port}
}

// span waits for the one ended span of method (without leading slash) and
// kind: a server span ends just after the client has its answer.
func (w *wrappedServer) span(tb testing.TB, method string, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var found []sdktrace.ReadOnlySpan
		for _, s := range w.rec.Ended() {
			if s.Name() == method && s.SpanKind() == kind {
				found = append(found, s)
			}
		}
		if len(found) == 1 {
			return found[0]
		}
		if len(found) > 1 || time.Now().After(deadline) {
			tb.Fatalf("%d ended %s spans of %s; want 1", len(found), kind, method)
		}
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func intAttr(tb testing.TB, s sdktrace.ReadOnlySpan, key string) int64 {
	tb.Helper()
	v, ok := attr(s, key)
	if !ok || v.Type() != attribute.INT64 {
		tb.Fatalf("%s span %s: attribute %s = %v (present %v); want an int64", s.SpanKind(), s.Name(), key, v.String(), ok)
	}
	return v.AsInt64()
}

func sizes[M proto.Message](ms []M) (n int64) {
	for _, m := range ms {
		n += int64(proto.Size(m))
	}
	return n
}

const testSvc = "grpc.testing.TestService/"

func TestWrapStatsHandlerCountsEveryKind(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		method string
		// call makes one RPC and says the sizes and number of what was sent and received.
		call func(t *testing.T, c testpb.TestServiceClient) (nSent, nRecv, sent, recv int64)
	}{
		{"unary", "UnaryCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			req := &testpb.SimpleRequest{ResponseSize: 33, Payload: body(12)}
			resp, err := c.UnaryCall(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return 1, 1, int64(proto.Size(req)), int64(proto.Size(resp))
		}},
		{"server stream of 7", "StreamingOutputCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			req := &testpb.StreamingOutputCallRequest{}
			for i := range 7 {
				req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: int32(10 * i)})
			}
			stream, err := c.StreamingOutputCall(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			var got []*testpb.StreamingOutputCallResponse
			for {
				resp, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, resp)
			}
			if len(got) != 7 {
				t.Fatalf("received %d responses; want 7", len(got))
			}
			return 1, 7, int64(proto.Size(req)), sizes(got)
		}},
		{"client stream of 5", "StreamingInputCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			stream, err := c.StreamingInputCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var reqs []*testpb.StreamingInputCallRequest
			for i := range 5 {
				req := &testpb.StreamingInputCallRequest{Payload: body(int32(100 + i))}
				if err := stream.Send(req); err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, req)
			}
			resp, err := stream.CloseAndRecv()
			if err != nil {
				t.Fatal(err)
			}
			return 5, 1, sizes(reqs), int64(proto.Size(resp))
		}},
		{"bidi of 6 and 12", "FullDuplexCall", func(t *testing.T, c testpb.TestServiceClient) (int64, int64, int64, int64) {
			stream, err := c.FullDuplexCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var reqs []*testpb.StreamingOutputCallRequest
			var resps []*testpb.StreamingOutputCallResponse
			for i := range 6 {
				req := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(i)}, {Size: int32(50 + i)}}}
				if err := stream.Send(req); err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, req)
				for range 2 {
					resp, err := stream.Recv()
					if err != nil {
						t.Fatal(err)
					}
					resps = append(resps, resp)
				}
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
				t.Fatalf("Recv after CloseSend = %v; want EOF", err)
			}
			return 6, 12, sizes(reqs), sizes(resps)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWrapped(t)
			nSent, nRecv, sent, recv := tt.call(t, w.client)
			client := w.span(t, testSvc+tt.method, trace.SpanKindClient)
			server := w.span(t, testSvc+tt.method, trace.SpanKindServer)
			for _, c := range []struct {
				span sdktrace.ReadOnlySpan
				key  string
				want int64
			}{
				{client, debugz.AttrMessagesSent, nSent},
				{client, debugz.AttrMessagesReceived, nRecv},
				{server, debugz.AttrMessagesSent, nRecv},
				{server, debugz.AttrMessagesReceived, nSent},
				{client, debugz.AttrBytesSent, sent},
				{client, debugz.AttrBytesReceived, recv},
				{server, debugz.AttrBytesSent, recv},
				{server, debugz.AttrBytesReceived, sent},
				// Uncompressed, the wire adds grpc's 5-byte message header.
				{client, debugz.AttrBytesSentWire, sent + 5*nSent},
				{client, debugz.AttrBytesReceivedWire, recv + 5*nRecv},
				{server, debugz.AttrBytesSentWire, recv + 5*nRecv},
				{server, debugz.AttrBytesReceivedWire, sent + 5*nSent},
				{client, "network.peer.port", int64(w.port)},
			} {
				if got := intAttr(t, c.span, c.key); got != c.want {
					t.Errorf("%s span: %s = %d; want %d", c.span.SpanKind(), c.key, got, c.want)
				}
			}
			for _, s := range []sdktrace.ReadOnlySpan{client, server} {
				if v, _ := attr(s, "network.peer.address"); v.AsString() != "127.0.0.1" {
					t.Errorf("%s span: network.peer.address = %q; want 127.0.0.1", s.SpanKind(), v.String())
				}
				for _, key := range []string{debugz.AttrDeadlineBudget, debugz.AttrDeadlineUsed, debugz.AttrCompressor} {
					if v, ok := attr(s, key); ok {
						t.Errorf("%s span: %s = %s; want none", s.SpanKind(), key, v.String())
					}
				}
			}
			if p := intAttr(t, server, "network.peer.port"); p <= 0 || p == int64(w.port) {
				t.Errorf("server span: network.peer.port = %d; want the client's port", p)
			}
		})
	}
}

func TestWrapStatsHandlerDeadlineUsed(t *testing.T) {
	w := startWrapped(t)
	const budget = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if _, err := w.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("UnaryCall: %v", err) // answered 25ms before the deadline
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		s := w.span(t, testSvc+"UnaryCall", kind)
		if b := intAttr(t, s, debugz.AttrDeadlineBudget); b <= int64(budget*8/10) || b > int64(budget) {
			t.Errorf("%s span: %s = %v; want a little under %v", kind, debugz.AttrDeadlineBudget, time.Duration(b), budget)
		}
		v, _ := attr(s, debugz.AttrDeadlineUsed)
		if used := v.AsFloat64(); v.Type() != attribute.FLOAT64 || used < 0.9 || used > 1.2 {
			t.Errorf("%s span: %s = %v; want about 0.95", kind, debugz.AttrDeadlineUsed, v.String())
		}
	}

	// Without a deadline, neither attribute.
	if _, err := w.client.EmptyCall(context.Background(), &testpb.Empty{}); err == nil {
		t.Fatal("EmptyCall succeeded; want UNIMPLEMENTED")
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		s := w.span(t, testSvc+"EmptyCall", kind)
		for _, key := range []string{debugz.AttrDeadlineBudget, debugz.AttrDeadlineUsed} {
			if v, ok := attr(s, key); ok {
				t.Errorf("%s span without a deadline: %s = %s; want none", kind, key, v.String())
			}
		}
		if got := intAttr(t, s, debugz.AttrMessagesReceived); kind == trace.SpanKindServer && got != 1 {
			t.Errorf("server span of a failed call: %s = %d; want 1", debugz.AttrMessagesReceived, got)
		}
	}
}

// bidi sends n requests, each asking for one response of size i, and reads
// the n responses.
func bidi(t *testing.T, c testpb.TestServiceClient, n int) {
	t.Helper()
	stream, err := c.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(i)}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	_ = stream.CloseSend()
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after CloseSend = %v; want EOF", err)
	}
}

type messageEvent struct {
	typ        string
	id         int64
	size, comp int64
	text       string
	hasText    bool
	at         time.Time
}

func messageEvents(s sdktrace.ReadOnlySpan) []messageEvent {
	var out []messageEvent
	for _, e := range s.Events() {
		if e.Name != debugz.EventMessage {
			continue
		}
		m := messageEvent{at: e.Time}
		for _, kv := range e.Attributes {
			switch string(kv.Key) {
			case debugz.AttrMessageType:
				m.typ = kv.Value.AsString()
			case debugz.AttrMessageID:
				m.id = kv.Value.AsInt64()
			case debugz.AttrMessageUncompressedSize:
				m.size = kv.Value.AsInt64()
			case debugz.AttrMessageCompressedSize:
				m.comp = kv.Value.AsInt64()
			case debugz.AttrMessageText:
				m.text, m.hasText = kv.Value.AsString(), true
			}
		}
		out = append(out, m)
	}
	return out
}

func ids(evs []messageEvent, typ string) []int64 {
	var out []int64
	for _, e := range evs {
		if e.typ == typ {
			out = append(out, e.id)
		}
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestWrapStatsHandlerMessageTimeline(t *testing.T) {
	tests := []struct {
		name string
		opts []debugz.StatsOption
		n    int
		want []int64 // ids of each direction's events
	}{
		{"30 messages, default 8", nil, 30, append(seq(1, 8), seq(23, 30)...)},
		{"10 messages, default 8", nil, 10, seq(1, 10)},
		{"17 messages, 8", []debugz.StatsOption{debugz.WithMessageTimeline(8)}, 17, append(seq(1, 8), seq(10, 17)...)},
		{"30 messages, 2", []debugz.StatsOption{debugz.WithMessageTimeline(2)}, 30, []int64{1, 2, 29, 30}},
		{"negative keeps the default", []debugz.StatsOption{debugz.WithMessageTimeline(-1)}, 30, append(seq(1, 8), seq(23, 30)...)},
		{"0 disables", []debugz.StatsOption{debugz.WithMessageTimeline(0)}, 30, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWrapped(t, tt.opts...)
			bidi(t, w.client, tt.n)
			for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
				s := w.span(t, testSvc+"FullDuplexCall", kind)
				evs := messageEvents(s)
				for _, typ := range []string{"SENT", "RECEIVED"} {
					if got := ids(evs, typ); !slices.Equal(got, tt.want) {
						t.Errorf("%s span: %s ids = %v; want %v", kind, typ, got, tt.want)
					}
				}
				if got := intAttr(t, s, debugz.AttrMessagesSent); got != int64(tt.n) {
					t.Errorf("%s span: %s = %d; want %d", kind, debugz.AttrMessagesSent, got, tt.n)
				}
				for i, e := range evs {
					if i > 0 && e.at.Before(evs[i-1].at) {
						t.Errorf("%s span: event %d (%s %d) at %v is before the one before it", kind, i, e.typ, e.id, e.at)
					}
					if e.size <= 0 || e.comp != e.size || e.hasText {
						t.Errorf("%s span: event %+v; want sizes > 0, equal, and no text", kind, e)
					}
				}
			}
		})
	}

	t.Run("unary: counts, no timeline", func(t *testing.T) {
		w := startWrapped(t)
		req := &testpb.SimpleRequest{ResponseSize: 7}
		if _, err := w.client.UnaryCall(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		s := w.span(t, testSvc+"UnaryCall", trace.SpanKindClient)
		if evs := messageEvents(s); len(evs) != 0 {
			t.Errorf("client events = %+v; want none for a unary call", evs)
		}
		if got := intAttr(t, s, debugz.AttrBytesSent); got != int64(proto.Size(req)) {
			t.Errorf("client %s = %d; want %d", debugz.AttrBytesSent, got, proto.Size(req))
		}
	})
}

func TestWrapStatsHandlerCompression(t *testing.T) {
	w := startWrapped(t)
	stream, err := w.client.StreamingOutputCall(context.Background(),
		&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 4000}, {Size: 8000}}},
		grpc.UseCompressor(gzip.Name))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		s := w.span(t, testSvc+"StreamingOutputCall", kind)
		if v, _ := attr(s, debugz.AttrCompressor); v.AsString() != gzip.Name {
			t.Errorf("%s span: %s = %q; want %q", kind, debugz.AttrCompressor, v.String(), gzip.Name)
		}
		key, wire := debugz.AttrBytesSent, debugz.AttrBytesSentWire
		if kind == trace.SpanKindClient {
			key, wire = debugz.AttrBytesReceived, debugz.AttrBytesReceivedWire
		}
		if b, wb := intAttr(t, s, key), intAttr(t, s, wire); b < 12000 || wb >= b/10 {
			t.Errorf("%s span: %s = %d, %s = %d; want ≥ 12000 and zeros compressed to a tenth", kind, key, b, wire, wb)
		}
		for _, e := range messageEvents(s) {
			if e.size > 1000 && e.comp >= e.size/10 {
				t.Errorf("%s span: event %+v; want a compressed size under a tenth", kind, e)
			}
		}
	}
}

func TestWrapStatsHandlerMessageCapture(t *testing.T) {
	w := startWrapped(t, debugz.WithMessageCapture("debugz.test.Vault/*"), debugz.WithMessageTimeline(0))
	v := vault()
	req := dynamicpb.NewMessage(v.req)
	fields := v.req.Fields()
	req.Set(fields.ByName("user"), protoreflect.ValueOfString("ada"))
	req.Set(fields.ByName("password"), protoreflect.ValueOfString("hunter2"))
	creds := dynamicpb.NewMessage(v.creds)
	creds.Set(v.creds.Fields().ByName("token"), protoreflect.ValueOfString("tok-123"))
	req.Set(fields.ByName("credentials"), protoreflect.ValueOfMessage(creds))
	headers := req.Mutable(fields.ByName("headers")).Map()
	headers.Set(protoreflect.ValueOfString("authorization").MapKey(), protoreflect.ValueOfString("Bearer abc"))
	headers.Set(protoreflect.ValueOfString("x-request-id").MapKey(), protoreflect.ValueOfString("r-1"))
	req.Set(fields.ByName("note"), protoreflect.ValueOfString(strings.Repeat("n", 3000)))
	resp := dynamicpb.NewMessage(v.creds)
	if err := w.conn.Invoke(context.Background(), "/debugz.test.Vault/Login", req, resp); err != nil {
		t.Fatalf("Login: %v", err)
	}
	secrets := []string{"hunter2", "tok-123", "Bearer abc", "session-s3cr3t"}
	for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
		evs := messageEvents(w.span(t, "debugz.test.Vault/Login", kind))
		if len(evs) != 2 {
			t.Fatalf("%s span: %d message events; want 2 (captured, with the timeline off)", kind, len(evs))
		}
		for _, e := range evs {
			if !e.hasText || len(e.text) > 1024 {
				t.Errorf("%s span: %s text of %d bytes (present %v); want some, at most 1024", kind, e.typ, len(e.text), e.hasText)
			}
			for _, s := range secrets {
				if strings.Contains(e.text, s) {
					t.Errorf("%s span: %s text %q shows %q", kind, e.typ, e.text, s)
				}
			}
			isReq := (e.typ == "SENT") == (kind == trace.SpanKindClient)
			var want []string
			if isReq {
				want = []string{`user:`, `"ada"`, "password: [redacted]", "credentials: [redacted]", "value: [redacted]", `"x-request-id"`, `"r-1"`, "nnnn…"}
			} else {
				want = []string{"token: [redacted]"}
			}
			for _, s := range want {
				if !strings.Contains(e.text, s) {
					t.Errorf("%s span: %s text %q; want it to contain %q", kind, e.typ, e.text, s)
				}
			}
		}
	}

	// A method not listed is not captured.
	if _, err := w.client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range messageEvents(w.span(t, testSvc+"UnaryCall", trace.SpanKindServer)) {
		if e.hasText {
			t.Errorf("UnaryCall, not captured: event %+v has text", e)
		}
	}
}

func TestWrapStatsHandlerCaptureKeepsFirstAndLastTwo(t *testing.T) {
	w := startWrapped(t, debugz.WithMessageCapture(testSvc+"FullDuplexCall"), debugz.WithMessageTimeline(1))
	bidi(t, w.client, 9)
	evs := messageEvents(w.span(t, testSvc+"FullDuplexCall", trace.SpanKindServer))
	for _, typ := range []string{"SENT", "RECEIVED"} {
		// The timeline's 1 and 9, the capture's 1, 2, 8 and 9.
		if got, want := ids(evs, typ), []int64{1, 2, 8, 9}; !slices.Equal(got, want) {
			t.Errorf("%s ids = %v; want %v", typ, got, want)
		}
	}
	for _, e := range evs {
		if !e.hasText || (e.typ == "RECEIVED") != strings.Contains(e.text, "response_parameters") {
			t.Errorf("event %+v; want the text of the message", e)
		}
	}
}

// TestWrapStatsHandlerConcurrentSafe sends and receives on different
// goroutines on several streams at once; run it with -race.
func TestWrapStatsHandlerConcurrentSafe(t *testing.T) {
	w := startWrapped(t, debugz.WithMessageCapture(testSvc+"FullDuplexCall"), debugz.WithMessageTimeline(3))
	const streams, n = 4, 200
	var wg sync.WaitGroup
	for range streams {
		stream, err := w.client.FullDuplexCall(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := range n {
				if err := stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(i % 50)}}}); err != nil {
					t.Error(err)
					return
				}
			}
			_ = stream.CloseSend()
		})
		wg.Go(func() {
			for i := 0; ; i++ {
				if _, err := stream.Recv(); errors.Is(err, io.EOF) {
					if i != n {
						t.Errorf("received %d; want %d", i, n)
					}
					return
				} else if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var spans []sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(5 * time.Second); len(spans) < 2*streams && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		spans = w.rec.Ended()
	}
	if len(spans) != 2*streams {
		t.Fatalf("%d spans ended; want %d", len(spans), 2*streams)
	}
	for _, s := range spans {
		for _, key := range []string{debugz.AttrMessagesSent, debugz.AttrMessagesReceived} {
			if got := intAttr(t, s, key); got != n {
				t.Errorf("%s span: %s = %d; want %d", s.SpanKind(), key, got, n)
			}
		}
		for _, typ := range []string{"SENT", "RECEIVED"} {
			if got, want := ids(messageEvents(s), typ), []int64{1, 2, 3, 198, 199, 200}; !slices.Equal(got, want) {
				t.Errorf("%s span: %s ids = %v; want %v", s.SpanKind(), typ, got, want)
			}
		}
	}
}

// TestWrapStatsHandlerLeavesCallersSpan: when otelgrpc starts no span for an
// RPC, the caller's own span must not get the RPC's attributes.
func TestWrapStatsHandlerLeavesCallersSpan(t *testing.T) {
	skipAll := otelgrpc.WithFilter(func(*stats.RPCTagInfo) bool { return false })
	w := startWrappedFiltered(t, []otelgrpc.Option{skipAll})
	ctx, parent := w.tp.Tracer("test").Start(context.Background(), "parent")
	if _, err := w.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	w.span(t, testSvc+"UnaryCall", trace.SpanKindServer)
	s := w.span(t, "parent", trace.SpanKindInternal)
	if len(s.Attributes()) != 0 || len(s.Events()) != 0 {
		t.Errorf("caller's span got attributes %v and %d events; want none", s.Attributes(), len(s.Events()))
	}
}

// TestWrapStatsHandlerTwice: wrapping a wrapped handler must not count
// every message twice nor add every event twice.
func TestWrapStatsHandlerTwice(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := debugz.WrapStatsHandler(debugz.WrapStatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp))))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(h))
	testpb.RegisterTestServiceServer(srv, statsService{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	bidi(t, testpb.NewTestServiceClient(conn), 3)
	s := (&wrappedServer{rec: rec}).span(t, testSvc+"FullDuplexCall", trace.SpanKindServer)
	for _, key := range []string{debugz.AttrMessagesSent, debugz.AttrMessagesReceived} {
		if got := intAttr(t, s, key); got != 3 {
			t.Errorf("%s = %d; want 3", key, got)
		}
	}
	if got := ids(messageEvents(s), "SENT"); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("SENT ids = %v; want [1 2 3]", got)
	}
}

func TestWrapStatsHandlerNilPanics(t *testing.T) {
	defer func() {
		const want = "debugz: WrapStatsHandler called with nil stats.Handler"
		if r := recover(); r != want {
			t.Errorf("WrapStatsHandler(nil) panicked with %v; want %q", r, want)
		}
	}()
	debugz.WrapStatsHandler(nil)
}
