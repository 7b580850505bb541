package debugz_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// loggingService logs three records at different levels in UnaryCall, with
// the request's context, as a real handler does; with a request asking for
// a flood, 100 more.
type loggingService struct {
	grpctest.Service
	log *slog.Logger
}

func (s loggingService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.log.DebugContext(ctx, "looking up the user", "user.id", 42)
	s.log.WarnContext(ctx, "cache miss", "cache", "users", "token", "Bearer s3cr3t-value")
	for i := range req.GetResponseSize() {
		s.log.InfoContext(ctx, fmt.Sprintf("flood %d", i))
	}
	s.log.ErrorContext(ctx, "payment declined", "reason", "card expired")
	return &testpb.SimpleResponse{}, nil
}

// TestHandlersLogLinesBesideTheRPC: the records a handler logs with the
// request's context show on its RPC's page and in /api/spans/{id}, in
// order, redacted, and still reach the wrapped handler; a flood keeps the
// first and last 8 and counts the rest; a record outside any span is only
// passed on.
func TestHandlersLogLinesBesideTheRPC(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	var mu sync.Mutex
	var out bytes.Buffer
	next := slog.NewTextHandler(lockedWriter{&mu, &out}, &slog.HandlerOptions{Level: slog.LevelDebug})
	log := slog.New(sp.LogHandler(next))
	client := grpctest.Start(t, tp, nil, loggingService{log: log})

	log.Info("outside any call")
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseSize: 100}); err != nil {
		t.Fatal(err)
	}
	var calls []debugz.Span
	grpctest.WaitFor(t, "both server spans, kept and counted", func() bool {
		// A span is kept (Spans) a moment before its row counts it (Summary).
		calls = sp.Spans(debugz.Filter{Method: "grpc.testing.TestService/UnaryCall", Kind: trace.SpanKindServer})
		for _, m := range sp.Summary().Methods {
			if m.Method == "grpc.testing.TestService/UnaryCall" && m.Kind == trace.SpanKindServer {
				return len(calls) == 2 && m.Count == 2
			}
		}
		return false
	})
	quiet, flood := calls[1], calls[0] // newest first
	h := debugz.NewHandler(sp)
	code, body := grpctest.Get(t, h, "/api/spans/"+quiet.SpanID.String())
	var doc struct {
		Logs []struct {
			Level, Message string
			Attributes     map[string]any
		}
		LogsSkipped int `json:"logs_skipped"`
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("GET /api/spans/{id} = %d, %v", code, err)
	}
	var got []string
	for _, l := range doc.Logs {
		got = append(got, l.Level+" "+l.Message)
	}
	if want := "DEBUG looking up the user|WARN cache miss|ERROR payment declined"; strings.Join(got, "|") != want {
		t.Errorf("logs of the call = %q; want %q", strings.Join(got, "|"), want)
	}
	if strings.Contains(body, "s3cr3t-value") || len(doc.Logs) < 2 || doc.Logs[1].Attributes["cache"] != "users" {
		t.Errorf("log attributes = %v; want them, with the token redacted", doc.Logs)
	}
	if code, page := grpctest.Get(t, h, "/spans/"+quiet.SpanID.String()); code != 200 || !strings.Contains(page, "payment declined") || strings.Contains(page, "outside any call") {
		t.Errorf("the call's page = %d; want its log lines and not the one logged outside it", code)
	}
	if len(flood.Logs) != 16 || flood.LogsSkipped != 103-16 || flood.Logs[0].Message != "looking up the user" ||
		flood.Logs[15].Message != "payment declined" {
		t.Errorf("a flood of 103 records kept %d (first %q, last %q), skipped %d; want the first and last 8, 87 skipped",
			len(flood.Logs), flood.Logs[0].Message, flood.Logs[len(flood.Logs)-1].Message, flood.LogsSkipped)
	}
	// The logs page has the latest records, in calls or not, filtered.
	_, all := grpctest.Get(t, h, "/api/logs?level=debug&limit=1000")
	if !strings.Contains(all, `"message":"outside any call"`) || !strings.Contains(all, `"method":"grpc.testing.TestService/UnaryCall"`) {
		t.Errorf("/api/logs lacks the record outside any call or the calls' method:\n%.600s", all)
	}
	var errs struct {
		Logs []struct{ Level, Message string }
	}
	_, body = grpctest.Get(t, h, "/api/logs?level=error")
	if err := json.Unmarshal([]byte(body), &errs); err != nil || len(errs.Logs) != 2 || errs.Logs[0].Message != "payment declined" {
		t.Errorf("/api/logs?level=error = %s; want the 2 ERROR records", body)
	}
	_, body = grpctest.Get(t, h, "/api/logs?text=CACHE")
	if err := json.Unmarshal([]byte(body), &errs); err != nil || len(errs.Logs) != 2 {
		t.Errorf("/api/logs?text=CACHE = %s; want the 2 cache misses", body)
	}
	for _, m := range sp.Summary().Methods {
		if m.Method == "grpc.testing.TestService/UnaryCall" && m.Kind == trace.SpanKindServer && (m.LogWarnings != 2 || m.LogErrors != 2) {
			t.Errorf("summary row: %d warnings, %d errors logged; want 2 and 2 (one of each per call)", m.LogWarnings, m.LogErrors)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(out.String(), "\n"); n != 1+3+103 || !strings.Contains(out.String(), "outside any call") {
		t.Errorf("the wrapped handler got %d records; want every one, 107", n)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// call runs one server span of method a.S/M ending with code, logging msg
// in its context.
func call(tr trace.Tracer, log *slog.Logger, code int64, msg string) trace.SpanID {
	ctx, s := tr.Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "a.S"), attribute.String("rpc.method", "M")))
	log.WarnContext(ctx, msg)
	s.SetAttributes(attribute.Int64("rpc.grpc.status_code", code))
	s.End()
	return s.SpanContext().SpanID()
}

// TestRareFailureKeepsItsLogLines: after a flood of successful calls that
// overwrites the recent ring many times, the one failure's log line is
// still there, kept as long as its span (in its code's reservoir).
func TestRareFailureKeepsItsLogLines(t *testing.T) {
	sp := debugz.NewSpanProcessor(debugz.WithMaxSpans(64))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer("test")
	log := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))
	failed := call(tr, log, 13, "the rare failure: disk full")
	for i := range 5000 {
		call(tr, log, 0, fmt.Sprintf("fine %d", i))
	}
	s, ok := sp.Span(failed)
	if !ok || len(s.Logs) != 1 || s.Logs[0].Message != "the rare failure: disk full" {
		t.Errorf("the failure after the flood: retained %v, logs %+v; want its log line", ok, s.Logs)
	}
}

// TestLogsAndSpansUnderLoad: records, spans and readers all at once, for
// the race detector.
func TestLogsAndSpansUnderLoad(t *testing.T) {
	sp := debugz.NewSpanProcessor(debugz.WithMaxSpans(256))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer("test")
	log := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))
	h := debugz.NewHandler(sp)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				call(tr, log, int64(i%3), fmt.Sprintf("g%d call %d", g, i))
				log.Info("outside", "i", i)
			}
		})
	}
	for range 50 {
		for _, s := range sp.Spans(debugz.Filter{Limit: 5}) {
			if code, _ := grpctest.Get(t, h, "/api/spans/"+s.SpanID.String()); code != 200 && code != 404 {
				t.Errorf("GET a span under load = %d", code)
			}
		}
		_ = sp.Logs(debugz.LogFilter{Limit: 100})
		if code, _ := grpctest.Get(t, h, "/api/logs?limit=50"); code != 200 {
			t.Errorf("GET /api/logs under load = %d", code)
		}
	}
	wg.Wait()
	if n := len(sp.Logs(debugz.LogFilter{})); n != 2048 {
		t.Errorf("after 4000 records, %d kept; want the latest 2048", n)
	}
}

// TestFollowLogsReportsWhatItSkips: FollowLogs returns what was written
// since its position, oldest first, and counts what the ring overwrote.
func TestFollowLogsReportsWhatItSkips(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	log := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))
	_, pos, _ := sp.FollowLogs(debugz.LogFilter{}, 0)
	log.Info("one")
	log.Info("two")
	recs, next, skipped := sp.FollowLogs(debugz.LogFilter{}, pos)
	if len(recs) != 2 || recs[0].Message != "one" || skipped != 0 {
		t.Fatalf("FollowLogs after 2 = %+v, skipped %d; want one, two", recs, skipped)
	}
	for i := range 3000 { // more than the ring holds
		log.Info(fmt.Sprint(i))
	}
	recs, _, skipped = sp.FollowLogs(debugz.LogFilter{}, next)
	if len(recs) != 2048 || skipped != 3000-2048 || recs[len(recs)-1].Message != "2999" {
		t.Errorf("FollowLogs after 3000 = %d records, skipped %d; want the latest 2048 and 952 skipped", len(recs), skipped)
	}
}

// TestLogsThreeSpansUnderTheRPC: a line logged in a span three levels under
// a server span (server → child → grandchild → great-grandchild, each
// started with the processor's tracer) is kept with the RPC, and the logs
// page files it under the RPC's method, with the span it was logged in.
func TestLogsThreeSpansUnderTheRPC(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	log := slog.New(sp.LogHandler(slog.DiscardHandler))
	tr := tp.Tracer("test")

	ctx, rpc := tr.Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
	ctx, child := tr.Start(ctx, "child")
	ctx, grandchild := tr.Start(ctx, "grandchild")
	ctx, deep := tr.Start(ctx, "great-grandchild")
	log.InfoContext(ctx, "deep down", "req", 10)
	deep.End()
	grandchild.End()
	child.End()
	rpc.End()

	got, ok := sp.Span(rpc.SpanContext().SpanID())
	if !ok {
		t.Fatal("Span(rpc) not retained")
	}
	if len(got.Logs) != 1 || got.Logs[0].Message != "deep down" || got.Logs[0].Span.SpanID() != deep.SpanContext().SpanID() ||
		got.Logs[0].SpanName != "great-grandchild" {
		t.Errorf("Span(rpc).Logs = %+v; want the line logged in great-grandchild", got.Logs)
	}
	recs := sp.Logs(debugz.LogFilter{Method: "a.S/M"})
	if len(recs) != 1 || recs[0].Method != "a.S/M" || recs[0].SpanName != "great-grandchild" ||
		recs[0].Span.SpanID() != deep.SpanContext().SpanID() || recs[0].Span.TraceID() != rpc.SpanContext().TraceID() {
		t.Errorf("Logs(Method: a.S/M) = %+v; want the line, under a.S/M, logged in great-grandchild", recs)
	}
	h := debugz.NewHandler(sp)
	code, body := grpctest.Get(t, h, "/api/logs?method=a.S/M")
	want := fmt.Sprintf(`"span_id":%q,"span_name":"great-grandchild","method":"a.S/M"`, deep.SpanContext().SpanID())
	if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `"req":10`) {
		t.Errorf("/api/logs?method=a.S/M = %d %s; want %s", code, body, want)
	}
	if code, page := grpctest.Get(t, h, "/logs?method=a.S/M"); code != 200 || !strings.Contains(page, "great-grandchild") {
		t.Errorf("/logs?method=a.S/M = %d; want the line with the span it was logged in", code)
	}
}

// TestLogsUnderAClientUnderTheServer: a line logged under an outgoing call
// made inside a server call belongs to the outgoing call, the nearest RPC
// around it; one logged between the two belongs to the server call.
func TestLogsUnderAClientUnderTheServer(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	log := slog.New(sp.LogHandler(slog.DiscardHandler))
	tr := tp.Tracer("test")

	ctx, server := tr.Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
	ctx, work := tr.Start(ctx, "work")
	log.InfoContext(ctx, "between")
	cctx, client := tr.Start(ctx, "b.T/N", trace.WithSpanKind(trace.SpanKindClient))
	cctx, retry := tr.Start(cctx, "retry")
	cctx, encode := tr.Start(cctx, "encode")
	log.InfoContext(cctx, "under the client")
	for _, s := range []trace.Span{encode, retry, client, work, server} {
		s.End()
	}
	for _, tc := range []struct {
		name   string
		span   trace.Span
		method string
		want   string
	}{
		{"server", server, "a.S/M", "between"},
		{"client", client, "b.T/N", "under the client"},
	} {
		got, _ := sp.Span(tc.span.SpanContext().SpanID())
		if len(got.Logs) != 1 || got.Logs[0].Message != tc.want {
			t.Errorf("%s: Span.Logs = %+v; want only %q", tc.name, got.Logs, tc.want)
		}
		if recs := sp.Logs(debugz.LogFilter{Method: tc.method}); len(recs) != 1 || recs[0].Message != tc.want {
			t.Errorf("%s: Logs(Method: %s) = %+v; want only %q", tc.name, tc.method, recs, tc.want)
		}
	}
}
