package debugz

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/snapshot"
	"github.com/debugz/debugz/internal/view"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// unpack returns the files of a snapshot and their total size.
func unpack(t testing.TB, b []byte) (map[string][]byte, int) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	files, total := map[string][]byte{}, 0
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = body
		total += len(body)
	}
	return files, total
}

// TestSnapshotRedacts: no secret of the table, on a finished span, an
// in-flight one or a log record, is in any file of a snapshot; with
// WithoutRedaction every one is (so the test puts them where the file
// holds them).
func TestSnapshotRedacts(t *testing.T) {
	sp := NewSpanProcessor()
	sc := startSecretSpans(t, sp)
	log := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	log.WarnContext(ctx, "login retried with Authorization: Bearer v-log-1", "password", "v-log-2", "user", "ada-43")
	logSecrets := []string{"v-log-1", "v-log-2"}
	for _, hide := range []bool{true, false} {
		var opts []HandlerOption
		if !hide {
			opts = append(opts, WithoutRedaction())
		}
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, sp, opts...); err != nil {
			t.Fatal(err)
		}
		files, _ := unpack(t, buf.Bytes())
		var all strings.Builder
		for _, b := range files {
			all.Write(b)
		}
		for _, s := range append(logSecrets, secretValues()...) {
			if got := strings.Contains(all.String(), s); got == hide {
				t.Errorf("redaction %v: %q in the snapshot = %v", hide, s, got)
			}
		}
		for _, keep := range []string{"ada-42", "ada-43", "[redacted]"} {
			if hide && !strings.Contains(all.String(), keep) {
				t.Errorf("%q, which is no secret, is not in the snapshot", keep)
			}
		}
		for _, name := range []string{snapshot.TracesFile, snapshot.OTLPLogsFile} {
			if hide && !strings.Contains(string(files[name]), "[redacted]") {
				t.Errorf("%s: not redacted", name)
			}
		}
	}
}

func secretValues() []string {
	var out []string
	for _, s := range secrets {
		if s.secret != "" {
			out = append(out, s.secret)
		}
	}
	return out
}

// flood fills every ring and reservoir of a processor over 1,000 methods,
// its log ring, and leaves 10,000 calls in flight.
func flood(t testing.TB) *SpanProcessor {
	const methods = 1000
	sp := NewSpanProcessor(WithMaxMethods(methods))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := tp.Tracer(otelgrpcScope)
	log := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))
	pad := strings.Repeat("x", 400)
	now := time.Now()
	codes := []string{"OK", "NOT_FOUND", "INTERNAL", "UNAVAILABLE"}
	bounds := sp.bucketBounds()
	n := 0
	for m := range methods {
		method := fmt.Sprintf("flood.Service%d/Method%d", m%37, m)
		for i := range 10 * (len(bounds) + len(codes)) { // every bucket's and code's reservoir
			code := codes[i%len(codes)]
			dur := bounds[i%len(bounds)] + time.Microsecond
			end := now.Add(-time.Duration(n) * time.Microsecond)
			n++
			ctx, s := tr.Start(context.Background(), method, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(end.Add(-dur)),
				trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", method),
					attribute.String("rpc.response.status_code", code), attribute.String("note", pad)))
			if i%50 == 0 {
				log.InfoContext(ctx, "working", "pad", pad)
			}
			s.End(trace.WithTimestamp(end))
		}
	}
	for i := range 10000 {
		method := fmt.Sprintf("flood.Service%d/Method%d", i%37, i%methods)
		_, s := tr.Start(context.Background(), method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", method)))
		t.Cleanup(func() { s.End() })
	}
	return sp
}

// TestSnapshotOfAFlood: a flood's snapshot stays within its bound, says what
// it left out, and leaves out successful spans before failed ones.
func TestSnapshotOfAFlood(t *testing.T) {
	sp := flood(t)
	const bound = snapshot.DefaultMaxBytes // TestSnapshotBoundWithManyResources sets another
	var buf bytes.Buffer
	start, cpu0 := time.Now(), cpuTime()
	if err := WriteSnapshot(&buf, sp); err != nil {
		t.Fatal(err)
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	files, total := unpack(t, buf.Bytes())
	s, err := snapshot.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Meta.Dropped
	t.Logf("bound %d: wrote %d bytes (%d uncompressed) in %v (%v of CPU): %d spans kept, %d left out (%d ok, %d failed), %d in flight, %d methods",
		bound, buf.Len(), total, took.Round(time.Millisecond), cpu.Round(time.Millisecond), s.Count(viewQueryAll()), d.Spans, d.OK, d.Failed, len(s.Meta.Active), len(s.Meta.Summary.Methods))
	if total > bound || buf.Len() > bound {
		t.Errorf("bound %d: %d bytes uncompressed, %d in the file", bound, total, buf.Len())
	}
	okQuery := viewQueryAll()
	okQuery.Code = 0
	if d.Spans == 0 || d.OK == 0 || d.Failed > 0 && s.Count(okQuery) > 0 {
		t.Errorf("bound %d: left out %+v, kept %d successful; want the successful ones left out first", bound, d, s.Count(okQuery))
	}
	if act, rows := len(sp.Active()), len(sp.Summary().Methods); len(s.Meta.Active) != act || len(s.Meta.Summary.Methods) != rows || act < 9000 {
		t.Errorf("bound %d: %d in flight, %d methods; want %d, %d", bound, len(s.Meta.Active), len(s.Meta.Summary.Methods), act, rows)
	}
	if len(files[snapshot.TracesFile]) == 0 || len(files[snapshot.GoroutinesFile]) == 0 {
		t.Errorf("bound %d: files %v", bound, len(files))
	}
}

// BenchmarkWriteSnapshotFlood is the time to write a flood's snapshot.
func BenchmarkWriteSnapshotFlood(b *testing.B) {
	sp := flood(b)
	b.ResetTimer()
	for b.Loop() {
		if err := WriteSnapshot(io.Discard, sp); err != nil {
			b.Fatal(err)
		}
	}
}

func viewQueryAll() view.Query { return view.Query{Bucket: -1, Code: -1} }

// TestSnapshotKeepsCallLogs: a call's own log lines are in the OTLP logs
// even once the latest records have moved on, each line once.
func TestSnapshotKeepsCallLogs(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	log := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))
	ctx, s := tp.Tracer(otelgrpcScope).Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M")))
	log.ErrorContext(ctx, "the call's own line")
	s.SetAttributes(attribute.String("rpc.response.status_code", "INTERNAL"))
	s.End()
	write := func() string {
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, sp); err != nil {
			t.Fatal(err)
		}
		files, _ := unpack(t, buf.Bytes())
		return string(files[snapshot.OTLPLogsFile])
	}
	if n := strings.Count(write(), "the call's own line"); n != 1 {
		t.Errorf("with the line among the latest records: %d copies in the OTLP logs; want 1", n)
	}
	for range 3000 {
		log.Info("noise")
	}
	if n := strings.Count(write(), "the call's own line"); n != 1 {
		t.Errorf("with the line gone from the latest records: %d copies in the OTLP logs; want 1", n)
	}
}

// TestSnapshotBoundWithManyResources: the OTLP documents' resources, counted
// only once written, do not take a snapshot over its bound either.
func TestSnapshotBoundWithManyResources(t *testing.T) {
	sp := NewSpanProcessor()
	big := strings.Repeat("r", 4<<10)
	for i := range 1000 { // a span per resource, each resource larger than its span
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", fmt.Sprint("svc", i)), attribute.String("big", big))))
		_, s := tp.Tracer(otelgrpcScope).Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", "a.S/M")))
		s.End()
	}
	const bound = 1 << 20
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, sp, WithSnapshotMaxBytes(bound)); err != nil {
		t.Fatal(err)
	}
	if _, total := unpack(t, buf.Bytes()); total > bound || buf.Len() > bound {
		t.Errorf("%d bytes uncompressed, %d in the file; the bound is %d", total, buf.Len(), bound)
	}
}

// TestSnapshotOverflowRow: the spans of the methods beyond WithMaxMethods
// are listed under the overflow row in a snapshot as they are live.
func TestSnapshotOverflowRow(t *testing.T) {
	sp := NewSpanProcessor(WithMaxMethods(1))
	for _, m := range []string{"a.S/First", "a.S/Second", "a.S/Third"} {
		sp.OnEnd(newUnary(m, "OK", time.Millisecond))
	}
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, sp); err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var live, got []string
	for _, x := range sp.Spans(Filter{Method: OverflowMethod}) {
		live = append(live, x.SpanID.String())
	}
	q := viewQueryAll()
	q.Method = OverflowMethod
	for _, x := range s.Spans(q) {
		got = append(got, x.SpanID)
	}
	if len(live) != 2 || !slices.Equal(got, live) || s.Count(q) != 2 {
		t.Errorf("overflow row's spans: snapshot %v (count %d), live %v", got, s.Count(q), live)
	}
}
