package debugz_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/semconv"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

// blockedService holds every FullDuplexCall in its handler until release is
// closed, saying on entered that it is there.
type blockedService struct {
	grpctest.Service
	entered chan struct{}
	release chan struct{}
}

func (s blockedService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	return waitForRelease(s.entered, s.release)
}

// waitForRelease is the frame the running call's stack must show.
func waitForRelease(entered, release chan struct{}) error {
	entered <- struct{}{}
	<-release
	return nil
}

// TestRunningRPCShowsItsStack: with grpcstats.WithProfilerLabels, the page
// of a server stream blocked in its handler shows the stack of the
// handler's goroutine; once the call ends its goroutine is no longer
// labelled, and without the option the page says how to get stacks.
func TestRunningRPCShowsItsStack(t *testing.T) {
	for _, labels := range []bool{true, false} {
		sp := debugz.NewSpanProcessor()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
		svc := blockedService{entered: make(chan struct{}), release: make(chan struct{})}
		var opts []grpcstats.Option
		if labels {
			opts = append(opts, grpcstats.WithProfilerLabels())
		}
		client := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler { return grpcstats.WrapHandler(h, opts...) }, svc)
		ctx, cancel := context.WithCancel(context.Background())
		stream, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		<-svc.entered
		var server debugz.ActiveRPC
		for _, a := range sp.Active() {
			if a.Kind == 2 { // server
				server = a
			}
		}
		if !server.SpanID.IsValid() {
			t.Fatalf("no server span in flight: %+v", sp.Active())
		}
		h := debugz.NewHandler(sp)
		code, body := grpctest.Get(t, h, "/spans/"+server.SpanID.String())
		switch {
		case code != 200:
			t.Errorf("labels %v: GET the running call = %d", labels, code)
		case labels && !strings.Contains(body, "debugz_test.waitForRelease"):
			t.Errorf("with labels, the running call's page lacks its handler's frame:\n%.2000s", body)
		case !labels && !strings.Contains(body, "WithProfilerLabels"):
			t.Errorf("without labels, the running call's page does not say how to get stacks")
		}
		close(svc.release)
		_, _ = stream.Recv()
		cancel()
		grpctest.WaitFor(t, "the call's span to end", func() bool { _, ok := sp.Span(server.SpanID); return ok })
		if code, body := grpctest.Get(t, h, "/spans/"+server.SpanID.String()); code != 200 || strings.Contains(body, "waitForRelease") {
			t.Errorf("labels %v: the ended call's page = %d and still shows a stack", labels, code)
		}
		_ = tp.Shutdown(context.Background())
	}
}

// readingService receives two messages of every FullDuplexCall, then holds
// it until release is closed.
type readingService struct {
	grpctest.Service
	entered chan struct{}
	release chan struct{}
}

func (s readingService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for range 2 {
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
	return waitForRelease(s.entered, s.release)
}

// TestInFlightProgress: with grpcstats.WithProgress, a running call in the
// in-flight view has its messages so far, its deadline and its peer, on
// the page and in /api/active.
func TestInFlightProgress(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	svc := readingService{entered: make(chan struct{}), release: make(chan struct{})}
	client := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler {
		return grpcstats.WrapHandler(h, grpcstats.WithProgress(sp))
	}, svc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	stream, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := stream.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	<-svc.entered
	var server, caller debugz.ActiveRPC
	for _, a := range sp.Active() {
		if a.Kind == trace.SpanKindServer {
			server = a
		} else {
			caller = a
		}
	}
	if !server.ProgressKnown || server.MessagesReceived != 2 || server.Peer == "" ||
		server.Deadline.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("server call in flight: %+v; want 2 messages received, a peer and the hour's deadline", server)
	}
	if !caller.ProgressKnown || caller.MessagesSent != 2 {
		t.Errorf("client call in flight: %+v; want 2 messages sent", caller)
	}
	h := debugz.NewHandler(sp)
	deadline := `<time data-until datetime="` + server.Deadline.Format("2006-01-02T15:04:05.000Z07:00") + `">` // the page's script counts down to it
	if code, body := grpctest.Get(t, h, "/active"); code != 200 || !strings.Contains(body, "↓2") || !strings.Contains(body, deadline) {
		t.Errorf("GET /active = %d; want the messages so far and the deadline:\n%.3000s", code, body)
	}
	close(svc.release)
	_, _ = stream.Recv()
}

// TestSlowCallKeepsItsStack: with grpcstats.WithSlowStacks, a call that
// runs past the threshold, then finishes, still shows on its page where its
// handler was waiting; a quick call gets no stack.
//
// The capture runs on a timer that nothing outside grpcstats can see, so the
// test does not count on it firing while the call is held: a slow call
// whose span came without a stack (the timer late, or held back by the
// one-dump-a-second limit) is made again and held longer; the 10 s deadline
// bounds only a failure.
func TestSlowCallKeepsItsStack(t *testing.T) {
	const threshold = 50 * time.Millisecond
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	svc := blockedService{entered: make(chan struct{}), release: make(chan struct{})}
	client := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler {
		return grpcstats.WrapHandler(h, grpcstats.WithSlowStacks(threshold))
	}, svc)
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil { // quick
		t.Fatal(err)
	}
	slowFilter := debugz.Filter{Method: grpctest.Method + "FullDuplexCall", Kind: trace.SpanKindServer}
	var slow debugz.Span
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 1; !hasStack(slow); attempt++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d slow calls in 10 s; none kept a stack", attempt-1)
		}
		stream, err := client.FullDuplexCall(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		<-svc.entered
		time.Sleep(time.Duration(2*attempt) * threshold) // makes the call slow; orders nothing: a missed capture is retried, held longer
		svc.release <- struct{}{}
		_, _ = stream.Recv()
		grpctest.WaitFor(t, "the slow call's server span", func() bool { return len(sp.Spans(slowFilter)) == attempt })
		slow = sp.Spans(slowFilter)[0] // newest first
	}
	h := debugz.NewHandler(sp)
	if code, body := grpctest.Get(t, h, "/spans/"+slow.SpanID.String()); code != 200 || !strings.Contains(body, "waitForRelease") {
		t.Errorf("the slow call's page = %d; want the stack it waited in:\n%.2000s", code, body)
	}
	var quick []debugz.Span
	grpctest.WaitFor(t, "the quick call's server span", func() bool {
		quick = sp.Spans(debugz.Filter{Method: grpctest.Method + "UnaryCall", Kind: trace.SpanKindServer})
		return len(quick) == 1
	})
	if quick[0].Duration < threshold && hasStack(quick[0]) { // a loaded machine may make it slow
		t.Error("a quick call got a stack")
	}
}

// hasStack says whether s holds a semconv.EventStack.
func hasStack(s debugz.Span) bool {
	for _, e := range s.Events {
		if e.Name == semconv.EventStack {
			return true
		}
	}
	return false
}
