package grpcstats_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/semconv"

	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

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
					field("pwd", 5, str, opt, ""),
					field("note", 6, str, opt, ""),
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

// setup says how serveStats installs its stats handlers.
type setup struct {
	wrap       bool                              // wrap both sides in grpcstats.WrapHandler
	beside     bool                              // register grpcstats.NewHandler before otelgrpc on both sides
	after      bool                              // with beside: after otelgrpc instead
	clientOpts []otelgrpc.Option                 // for otelgrpc's client handler
	client     func(stats.Handler) stats.Handler // applied to otelgrpc's client handler, before wrapping
	opts       []grpcstats.Option                // for grpcstats.WrapHandler
}

// serveStats serves grpctest.Service and vault on 127.0.0.1 with otelgrpc on
// both sides, installed as s says, and returns a client connection and the
// server's port.
func serveStats(tb testing.TB, tp trace.TracerProvider, s setup) (*grpc.ClientConn, int) {
	tb.Helper()
	common := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}
	sh, ch := otelgrpc.NewServerHandler(common...), otelgrpc.NewClientHandler(append(common, s.clientOpts...)...)
	if s.client != nil {
		ch = s.client(ch)
	}
	if s.wrap {
		sh, ch = grpcstats.WrapHandler(sh, s.opts...), grpcstats.WrapHandler(ch, s.opts...)
	}
	if s.beside {
		sh, ch = grpctest.InOrder(s.after, grpcstats.NewHandler(s.opts...), sh), grpctest.InOrder(s.after, grpcstats.NewHandler(s.opts...), ch)
	}
	conn := grpctest.Serve(tb, sh, ch, func(srv *grpc.Server) {
		testpb.RegisterTestServiceServer(srv, grpctest.Service{})
		srv.RegisterService(&vaultDesc, struct{}{})
	})
	_, port, _ := net.SplitHostPort(conn.Target())
	n, err := strconv.Atoi(port)
	if err != nil {
		tb.Fatalf("port of %q: %v", conn.Target(), err)
	}
	return conn, n
}

// wrappedServer is a served grpctest.Service whose spans land in rec.
type wrappedServer struct {
	conn   *grpc.ClientConn
	client testpb.TestServiceClient
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	port   int
}

// startWrapped serves grpctest.Service with both sides wrapped in
// grpcstats.WrapHandler(opts...).
func startWrapped(tb testing.TB, opts ...grpcstats.Option) *wrappedServer {
	return start(tb, setup{wrap: true, opts: opts})
}

func start(tb testing.TB, s setup) *wrappedServer {
	tb.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	conn, port := serveStats(tb, tp, s)
	return &wrappedServer{conn: conn, client: testpb.NewTestServiceClient(conn), rec: rec, tp: tp, port: port}
}

// span waits for the one ended span of method (without leading slash) and
// kind: a server span ends just after the client has its answer.
func (w *wrappedServer) span(tb testing.TB, method string, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	tb.Helper()
	var found []sdktrace.ReadOnlySpan
	grpctest.Eventually(tb, fmt.Sprintf("the %s span of %s", kind, method), func() error {
		found = found[:0]
		for _, s := range w.rec.Ended() {
			if s.Name() == method && s.SpanKind() == kind {
				found = append(found, s)
			}
		}
		if len(found) != 1 {
			return fmt.Errorf("%d ended; want 1", len(found))
		}
		return nil
	})
	return found[0]
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

const testSvc = grpctest.Method

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

// messageEvent is a "message" event as the test reads it.
type messageEvent struct {
	typ        string
	id         int64
	size, comp int64
	text       string
	hasText    bool
	at         time.Time
}

// messageEvents reads the message events of s: grpcstats's, and those that
// otelgrpc v0.46 adds itself with WithMessageEvents, which have the same keys.
func messageEvents(s sdktrace.ReadOnlySpan) []messageEvent {
	var out []messageEvent
	for _, e := range s.Events() {
		if e.Name != semconv.EventMessage {
			continue
		}
		m := messageEvent{at: e.Time}
		for _, kv := range e.Attributes {
			switch string(kv.Key) {
			case semconv.MessageType:
				m.typ = kv.Value.AsString()
			case semconv.MessageID:
				m.id = kv.Value.AsInt64()
			case semconv.MessageUncompressedSize:
				m.size = kv.Value.AsInt64()
			case semconv.MessageCompressedSize:
				m.comp = kv.Value.AsInt64()
			case semconv.MessageText:
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

// otelgrpcMinor is the minor version of the otelgrpc that made span (46 for
// v0.46.1), from its instrumentation scope: the tests run on the oldest
// otelgrpc debugz supports and on the newest, which differ in what they add.
func otelgrpcMinor(tb testing.TB, span sdktrace.ReadOnlySpan) int {
	tb.Helper()
	v := strings.TrimPrefix(span.InstrumentationScope().Version, "v")
	major, rest, _ := strings.Cut(v, ".")
	minorStr, _, _ := strings.Cut(rest, ".")
	minor, err := strconv.Atoi(minorStr)
	if major != "0" || err != nil {
		tb.Fatalf("otelgrpc version %q of span %s: want 0.N.x", span.InstrumentationScope().Version, span.Name())
	}
	return minor
}
