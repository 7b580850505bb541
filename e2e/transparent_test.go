package e2e_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/rowtest"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// refuseFirst is a listener whose first connection speaks just enough
// HTTP/2 to refuse the first stream (GOAWAY, then RST_STREAM
// REFUSED_STREAM): grpc, knowing the server never saw the call, retries it
// transparently, on the next connection, which the real server gets.
type refuseFirst struct {
	net.Listener
	once    sync.Once
	refused chan struct{} // closed once the stream is refused
}

func (l *refuseFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		first := false
		l.once.Do(func() { first = true })
		if !first {
			return c, nil
		}
		go l.refuse(c)
	}
}

func (l *refuseFirst) refuse(c net.Conn) {
	defer c.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	if fr.WriteSettings() != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && fr.WriteSettingsAck() != nil {
				return
			}
		case *http2.HeadersFrame:
			close(l.refused) // before the client can hear of it and retry
			// GOAWAY first: by the time the client reads the refusal, this
			// connection drains, so the retry cannot race onto it (and fail
			// there, no longer a first attempt).
			_ = fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			_ = fr.WriteRSTStream(f.StreamID, http2.ErrCodeRefusedStream)
			_, _ = io.Copy(io.Discard, c) // until the client closes the connection
			return
		}
	}
}

// TestOtelgrpcTransparentRetry: a call whose first attempt the server
// refused before its handler saw it, which grpc retried transparently
// (without a retry policy), counts once, OK, Retried; its last attempt says
// it was a transparent retry, and the refused one is an attempt of its
// trace; the server counts the one call it answered.
func TestOtelgrpcTransparentRetry(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	opts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &refuseFirst{Listener: lis, refused: make(chan struct{})}
	gs := grpc.NewServer(grpc.StatsHandler(grpcstats.WrapHandler(otelgrpc.NewServerHandler(opts...))))
	testpb.RegisterTestServiceServer(gs, grpctest.Service{})
	go func() { _ = gs.Serve(rl) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(grpcstats.WrapHandler(otelgrpc.NewClientHandler(opts...))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	ctx, caller := tp.Tracer("caller").Start(context.Background(), "caller")
	_, err = testpb.NewTestServiceClient(conn).UnaryCall(ctx, &testpb.SimpleRequest{})
	caller.End()
	if err != nil {
		t.Fatalf("UnaryCall = %v; want it to succeed on its transparent retry", err)
	}
	select {
	case <-rl.refused:
	default:
		t.Fatal("the first stream was not refused")
	}

	method := grpctest.Method + "UnaryCall"
	rowtest.Wait(t, sp, map[rowtest.Key]rowtest.Row{
		rowtest.Server(method): {Count: 1, Codes: map[string]uint64{"OK": 1}},
		rowtest.Client(method): {Count: 1, Retried: 1, Codes: map[string]uint64{"OK": 1}},
	})
	var call, attempts []debugz.Span
	for _, s := range sp.Trace(caller.SpanContext().TraceID()) {
		switch {
		case s.Kind != trace.SpanKindClient:
		case s.Method != "":
			call = append(call, s)
		default:
			attempts = append(attempts, s)
		}
	}
	if len(call) != 1 || len(attempts) != 1 {
		t.Fatalf("trace has %d client calls and %d attempts; want 1 and 1", len(call), len(attempts))
	}
	if s := call[0]; s.Attempts != 2 || s.Code != codes.OK || !boolAttr(s.Attributes, semconv.AttemptTransparent) {
		t.Errorf("call: Attempts %d, code %v, %s %v; want 2, OK, true", s.Attempts, s.Code, semconv.AttemptTransparent, boolAttr(s.Attributes, semconv.AttemptTransparent))
	}
	if a := attempts[0]; intAttr(a.Attributes, semconv.AttemptNumber) != 1 || boolAttr(a.Attributes, semconv.AttemptTransparent) {
		t.Errorf("refused attempt: number %d, transparent %v; want 1, false", intAttr(a.Attributes, semconv.AttemptNumber), boolAttr(a.Attributes, semconv.AttemptTransparent))
	}
}

func boolAttr(kvs []attribute.KeyValue, key string) bool {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.AsBool()
		}
	}
	return false
}
