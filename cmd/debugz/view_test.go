package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/channelz"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/snapshot"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// loaded is a processor with calls of every kind made through the test
// service by several callers at once, two calls still in flight, a child
// span and log lines carrying secrets; live is its pages.
func loaded(t *testing.T) (sp *debugz.SpanProcessor, live http.Handler, opts []debugz.HandlerOption, secrets []string) {
	sp = debugz.NewSpanProcessor()
	cz, err := channelz.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cz.Close() })
	opts = []debugz.HandlerOption{cz.Option()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "snaptest"), attribute.String("service.version", "v1.2.3"))))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := grpctest.Start(t, tp, nil, nil)
	log := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				code := []codes.Code{codes.OK, codes.OK, codes.NotFound, codes.Internal, codes.PermissionDenied}[(w+i)%5]
				_, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(code), Message: "m"}})
			}
		})
	}
	wg.Go(func() { grpctest.DriveAllKinds(t, client) })
	wg.Wait()

	// A handler's own span and log lines, with secrets.
	secrets = []string{"hunter2-v-9f8e7d", "sk_live_51HxT9v8S3cr3tK3y", "AKIAV3RYS3CR3TK3Y0", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXY"}
	ctx, child := tp.Tracer("app").Start(context.Background(), "charge card",
		trace.WithAttributes(attribute.String("db.password", secrets[0]), attribute.String("url.full", "https://pay.example/v1?api_key="+secrets[1])))
	log.WarnContext(ctx, "card declined, retry with Authorization: Bearer "+secrets[3], "aws.secret_access_key", secrets[2], "user", "ada")
	child.End()

	// Two calls in flight at the moment of the snapshot.
	for range 2 {
		stream, err := client.FullDuplexCall(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = stream.CloseSend(); _, _ = stream.Recv() })
	}
	grpctest.WaitFor(t, "two server calls in flight", func() bool {
		n := 0
		for _, a := range sp.Active() {
			if a.Method == grpctest.Method+"FullDuplexCall" {
				n++
			}
		}
		return n == 4 // client and server sides
	})
	return sp, debugz.NewHandler(sp, opts...), opts, secrets
}

// the JSON outputs compared between the live process and its snapshot.
var compared = []string{"/api/summary", "/api/summary?window=1m", "/api/summary?window=10m", "/api/spans?limit=1000", "/api/active", "/api/logs?level=DEBUG", "/api/channelz"}

// TestViewRoundTrip: a snapshot of a loaded processor, opened by the viewer,
// answers the JSON outputs as the live process did at that moment; every
// page of the viewer, reached by following links from the summary, answers
// 2xx; its OTLP parts load in the Collector's pdata and say of every span
// and log record what the live process's OTLP says; no secret is in the file.
func TestViewRoundTrip(t *testing.T) {
	sp, live, opts, secrets := loaded(t)
	var file bytes.Buffer
	var before, after map[string]any
	for try := 0; ; try++ { // a moment: the live outputs the same just before and after
		before = liveJSON(t, live)
		file.Reset()
		if err := debugz.WriteSnapshot(&file, sp, opts...); err != nil {
			t.Fatal(err)
		}
		if after = liveJSON(t, live); reflect.DeepEqual(before, after) {
			break
		}
		if try == 5 {
			for _, p := range compared {
				if !reflect.DeepEqual(before[p], after[p]) {
					g, _ := json.MarshalIndent(before[p], "", " ")
					w, _ := json.MarshalIndent(after[p], "", " ")
					t.Logf("%s before:\n%s\nafter:\n%s", p, g, w)
				}
			}
			t.Fatal("the live outputs keep changing")
		}
	}
	s, err := snapshot.Read(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	h := viewer(s)

	t.Run("same numbers", func(t *testing.T) {
		got := liveJSON(t, h)
		for _, path := range compared {
			for _, d := range diff(path, got[path], before[path]) {
				t.Errorf("GET %s", d)
			}
		}
	})

	t.Run("crawl", func(t *testing.T) {
		visited := crawl(t, h, "/")
		t.Logf("crawled %d addresses", len(visited))
		for _, want := range []string{"/spans/", "/traces/", "/api/traces/", "/active", "/logs", "/channelz/channels/", "/profile", "/api/snapshot"} {
			n := 0
			for _, u := range visited {
				if strings.Contains(u, "localhost:6060"+want) {
					n++
				}
			}
			if n == 0 {
				t.Errorf("the crawl reached no %s page", want)
			}
		}
		if len(visited) < 200 {
			t.Errorf("crawled %d addresses; want every span's pages", len(visited))
		}
	})

	t.Run("banner", func(t *testing.T) {
		_, body := grpctest.Get(t, h, "/")
		if !strings.Contains(body, `class="banner"`) || !strings.Contains(body, "Snapshot of snaptest v1.2.3") {
			t.Errorf("no banner naming the process:\n%s", body)
		}
		for _, path := range []string{"/api/profile", "/profile?seconds=1", "/api/spans?follow=1"} {
			if code, body := grpctest.Get(t, h, path); code != http.StatusNotImplemented || !strings.Contains(body, "snapshot") {
				t.Errorf("GET %s = %d %q; want 501 saying it is a snapshot", path, code, body)
			}
		}
		code, body := grpctest.Get(t, h, "/snapshot")
		if len(s.Meta.Build.Deps) == 0 || s.Meta.Build.GoVersion == "" || s.Meta.Runtime.Goroutines == 0 || s.Meta.Runtime.HeapAlloc == 0 {
			t.Errorf("no build or runtime figures: %+v %+v", s.Meta.Build, s.Meta.Runtime)
		}
		for _, want := range []string{s.Meta.Build.GoVersion, "go.opentelemetry.io/otel/sdk", "goroutines</th><td>" + fmt.Sprint(s.Meta.Runtime.Goroutines)} {
			if code != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("GET /snapshot = %d, without %q:\n%s", code, want, body)
			}
		}
		if code, body := grpctest.Get(t, h, "/api/snapshot"); code != http.StatusOK || body != file.String() {
			t.Errorf("GET /api/snapshot = %d, %d bytes; want the file, %d bytes", code, len(body), file.Len())
		}
	})

	t.Run("pdata", func(t *testing.T) {
		files := unpack(t, file.Bytes())
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(files[snapshot.TracesFile])
		if err != nil {
			t.Fatal(err)
		}
		got := pdataSpans(td)
		want := map[string]string{}
		for _, tid := range traceIDs(got) {
			code, body := grpctest.Get(t, live, "/api/traces/"+tid)
			if code != http.StatusOK {
				t.Fatalf("GET /api/traces/%s = %d", tid, code)
			}
			ltd, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			maps.Copy(want, pdataSpans(ltd))
		}
		if len(got) < 100 || len(got) != len(want) {
			t.Fatalf("%d spans in the snapshot's OTLP, %d in the live traces'", len(got), len(want))
		}
		for id, g := range got {
			if g != want[id] {
				t.Errorf("span %s:\n snapshot %s\n live     %s", id, g, want[id])
			}
		}

		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(files[snapshot.OTLPLogsFile])
		if err != nil {
			t.Fatal(err)
		}
		var liveDoc struct {
			Logs []struct {
				Time    time.Time `json:"time"`
				Level   string    `json:"level"`
				Message string    `json:"message"`
				TraceID string    `json:"trace_id"`
				SpanID  string    `json:"span_id"`
			} `json:"logs"`
		}
		_, body := grpctest.Get(t, live, "/api/logs?level=DEBUG")
		if err := json.Unmarshal([]byte(body), &liveDoc); err != nil {
			t.Fatal(err)
		}
		liveLogs := liveDoc.Logs
		recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		if recs.Len() != len(liveLogs) || recs.Len() == 0 {
			t.Fatalf("%d log records in OTLP, %d live", recs.Len(), len(liveLogs))
		}
		for i := range recs.Len() {
			r, l := recs.At(i), liveLogs[len(liveLogs)-1-i] // OTLP oldest first
			got := fmt.Sprintf("%d|%s|%s|%s|%s", r.Timestamp().AsTime().UnixNano(), r.SeverityText(), r.Body().Str(), r.TraceID(), r.SpanID())
			want := fmt.Sprintf("%d|%s|%s|%s|%s", l.Time.UnixNano(), l.Level, l.Message, l.TraceID, l.SpanID)
			if got != want {
				t.Errorf("log %d: OTLP %s; live %s", i, got, want)
			}
		}
	})

	t.Run("secrets", func(t *testing.T) {
		for name, b := range unpack(t, file.Bytes()) {
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds the secret %q", name, s)
				}
			}
		}
	})
}

// liveJSON reads the compared outputs, without what says when they were read.
func liveJSON(t *testing.T, h http.Handler) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, path := range compared {
		code, body := grpctest.Get(t, h, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d: %s", path, code, body)
		}
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		out[path] = timeless(v)
	}
	return out
}

// timeless is v without what says when it was read: as_of, and the calls
// in flight's elapsed_ns.
func timeless(v any) any {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "as_of")
		delete(v, "elapsed_ns")
		for _, x := range v {
			timeless(x)
		}
	case []any:
		for _, x := range v {
			timeless(x)
		}
	}
	return v
}

// diff lists where a (from the snapshot) and b (live) differ.
func diff(path string, a, b any) []string {
	switch a := a.(type) {
	case map[string]any:
		if b, ok := b.(map[string]any); ok {
			var out []string
			for _, k := range slices.Sorted(maps.Keys(a)) {
				out = append(out, diff(path+"."+k, a[k], b[k])...)
			}
			for k := range b {
				if _, ok := a[k]; !ok {
					out = append(out, fmt.Sprintf("%s.%s: missing from the snapshot; live %v", path, k, b[k]))
				}
			}
			return out
		}
	case []any:
		if b, ok := b.([]any); ok && len(a) == len(b) {
			var out []string
			for i := range a {
				out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), a[i], b[i])...)
			}
			return out
		}
	}
	if !reflect.DeepEqual(a, b) {
		return []string{fmt.Sprintf("%s: snapshot %v; live %v", path, a, b)}
	}
	return nil
}

var linkRE = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

// crawl follows every link of the pages from start, on the same host, and
// fails the test for any answer that is not 2xx; it returns the addresses
// it visited.
func crawl(t *testing.T, h http.Handler, start string) []string {
	t.Helper()
	base, _ := url.Parse("http://localhost:6060" + start)
	seen := map[string]bool{base.String(): true}
	queue := []*url.URL{base}
	for len(queue) > 0 && len(seen) < 20000 {
		u := queue[0]
		queue = queue[1:]
		req := httptest.NewRequest("GET", u.String(), nil)
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 299 {
			t.Errorf("GET %s = %d", u.RequestURI(), rec.Code)
			continue
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			continue
		}
		for _, m := range linkRE.FindAllStringSubmatch(rec.Body.String(), -1) {
			ref, err := url.Parse(html.UnescapeString(m[1]))
			if err != nil {
				t.Errorf("%s: bad link %q", u.RequestURI(), m[1])
				continue
			}
			next := u.ResolveReference(ref)
			next.Fragment = ""
			if next.Host != base.Host || seen[next.String()] {
				continue
			}
			seen[next.String()] = true
			queue = append(queue, next)
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// unpack returns the files of a snapshot.
func unpack(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
}

// pdataSpans describes every span of td, field by field, by span ID.
func pdataSpans(td ptrace.Traces) map[string]string {
	out := map[string]string{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				var events []any
				for _, e := range s.Events().All() {
					events = append(events, []any{e.Name(), e.Timestamp(), e.Attributes().AsRaw(), e.DroppedAttributesCount()})
				}
				var links []any
				for _, l := range s.Links().All() {
					links = append(links, []any{l.TraceID().String(), l.SpanID().String(), l.Flags(), l.Attributes().AsRaw()})
				}
				b, _ := json.Marshal([]any{s.TraceID().String(), s.ParentSpanID().String(), s.Name(), s.Kind().String(),
					s.StartTimestamp(), s.EndTimestamp(), s.Flags(), s.TraceState().AsRaw(), s.Attributes().AsRaw(),
					s.DroppedAttributesCount(), events, s.DroppedEventsCount(), links, s.Status().Code().String(), s.Status().Message(),
					rs.Resource().Attributes().AsRaw(), rs.SchemaUrl(), ss.Scope().Name(), ss.Scope().Version(), ss.Scope().Attributes().AsRaw(), ss.SchemaUrl()})
				out[s.SpanID().String()] = string(b)
			}
		}
	}
	return out
}

// traceIDs are the traces of the spans pdataSpans describes.
func traceIDs(spans map[string]string) []string {
	var ids []string
	for _, d := range spans {
		var v []any
		_ = json.Unmarshal([]byte(d), &v)
		ids = append(ids, v[0].(string))
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestCompare: `debugz view A B` sets two snapshots side by side per method:
// calls, and the codes that appeared or vanished between them; every link
// of it, and of both snapshots' pages under it, answers 2xx.
func TestCompare(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := grpctest.Start(t, tp, nil, nil)
	call := func(n int, c codes.Code) {
		for range n {
			_, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(c), Message: "m"}})
		}
	}
	take := func(calls int) *snapshot.Snapshot {
		// Every span ended and counted: a span leaves the in-flight list as
		// it ends, a moment before its row counts it.
		grpctest.WaitFor(t, "every call counted", func() bool {
			return sp.Count(debugz.Filter{}) == 2*calls && len(sp.Active()) == 0
		})
		var b bytes.Buffer
		if err := debugz.WriteSnapshot(&b, sp); err != nil {
			t.Fatal(err)
		}
		s, err := snapshot.Read(&b)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	call(3, codes.OK)
	a := take(3)
	call(2, codes.Unavailable)
	b := take(5)

	var server row
	for _, r := range compareRows(&a.Meta, &b.Meta) {
		if r.Method == grpctest.Method+"UnaryCall" && r.Kind == "server" {
			server = r
		}
	}
	if server.A.Calls != 3 || server.B.Calls != 5 || server.CallsDelta != 2 || !slices.Equal(server.Appeared, []string{"UNAVAILABLE"}) ||
		len(server.Gone) != 0 || server.A.ErrorRate != 0 || server.B.ErrorRate != 0.4 {
		t.Errorf("server UnaryCall: %+v", server)
	}
	h := viewer(a, b)
	code, body := grpctest.Get(t, h, "/")
	if code != http.StatusOK || !strings.Contains(body, `<span class="code err">UNAVAILABLE</span>`) {
		t.Errorf("GET / = %d:\n%s", code, body)
	}
	if n := len(crawl(t, h, "/")); n < 20 {
		t.Errorf("crawled %d pages", n)
	}
}

// TestRunArguments: the command says how to call it, and names a file it
// cannot read.
func TestRunArguments(t *testing.T) {
	for _, args := range [][]string{nil, {"show", "f"}, {"view"}, {"view", "a", "b", "c"}} {
		if err := run(args, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("run(%q) = %v; want the usage", args, err)
		}
	}
	bad := t.TempDir() + "/not-a-snapshot.tar.gz"
	if err := os.WriteFile(bad, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"view", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "not-a-snapshot.tar.gz: snapshot: not a debugz snapshot") {
		t.Errorf("run(view %s) = %v", bad, err)
	}
}
