package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/go-chi/chi/v5"
)

var fixedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

const (
	testTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	testSpan  = "00f067aa0ba902b7"
	testChild = "00f067aa0ba902b8"
)

// fakeSource serves fixed data; add appends a span, as a new RPC would.
type fakeSource struct {
	mu    sync.Mutex
	spans []view.Span
	panic bool
	lost  uint64 // spans Follow reports skipped, once
	// profiling makes CPUByMethod answer ErrProfiling
	profiling   bool
	logs        []view.LogEntry // for FollowLogs
	dumps       int             // Goroutines calls
	inFlight    []view.Active   // for Active, when set
	activeReads int             // Active calls
}

func newFakeSource() *fakeSource {
	return &fakeSource{spans: []view.Span{
		{TraceID: testTrace, SpanID: testSpan, Name: "user.UserService/FetchUser", Method: "user.UserService/FetchUser",
			Kind: "server", Code: "NOT_FOUND", CodeNum: 5, StatusMessage: "no user 7", Start: fixedNow.Add(-time.Second),
			Duration: 2 * time.Millisecond, Bucket: 2, Peer: "127.0.0.1:5000", Sampled: true,
			Attributes: []view.Attr{{Key: "rpc.method", Value: "user.UserService/FetchUser", Type: "string", JSON: "user.UserService/FetchUser"},
				{Key: "user.note", Value: "<script>alert(1)</script>", Type: "string", JSON: "<script>alert(1)</script>"}}},
		{TraceID: testTrace, SpanID: testChild, ParentSpanID: testSpan, Name: "fetchUser.logic", Kind: "internal",
			Start: fixedNow.Add(-time.Second + time.Millisecond), Duration: time.Millisecond},
	}}
}

func (f *fakeSource) add(s view.Span) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spans = append([]view.Span{s}, f.spans...)
}

// fakeBuckets are the bucket bounds of the fake sources.
var fakeBuckets = []time.Duration{0, 100 * time.Microsecond, time.Millisecond}

// summaryMethods is Source.Methods of a fake source: its summary's methods.
func summaryMethods(s view.Summary) []string {
	var out []string
	for _, m := range s.Methods {
		out = append(out, m.Method)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (f *fakeSource) Methods() []string { return summaryMethods(f.Summary(false)) }

func (f *fakeSource) Summary(bool) view.Summary {
	if f.panic {
		panic("boom")
	}
	return view.Summary{Capacity: 8192, Retained: 1, Buckets: fakeBuckets,
		Methods: []view.Method{{Method: "user.UserService/FetchUser", Kind: "server", Count: 3, Errors: 1,
			Codes: []view.CodeCount{{Code: 0, Name: "OK", Count: 2}, {Code: 5, Name: "NOT_FOUND", Count: 1}}, Buckets: []uint64{0, 1, 2},
			P50: time.Millisecond, P90: 2 * time.Millisecond, P99: 2 * time.Millisecond, Max: 2 * time.Millisecond, Rate: 0.05, LastSeen: fixedNow}}}
}

// Follow treats the number of spans ever added as the position.
func (f *fakeSource) Follow(q view.Query, after uint64) ([]view.Span, uint64, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := uint64(len(f.spans))
	if after == 0 {
		return nil, next, 0
	}
	var out []view.Span
	for _, s := range slices.Backward(f.spans[:next-after]) {
		if q.Method == "" || q.Method == s.Method {
			out = append(out, s)
		}
	}
	skipped := f.lost
	f.lost = 0
	return out, next, skipped
}

func (f *fakeSource) Spans(q view.Query) []view.Span {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []view.Span
	for _, s := range f.spans {
		if s.Method != "" && (q.Method == "" || q.Method == s.Method) && (q.Code < 0 || q.Code == s.CodeNum) {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeSource) Count(q view.Query) int { return len(f.Spans(q)) } // Spans ignores the limit

func (f *fakeSource) Span(id string) (view.Span, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.spans {
		if s.SpanID == id {
			return s, true
		}
	}
	return view.Span{}, false
}

func (f *fakeSource) Trace(id string) (view.Trace, bool) {
	if id != testTrace {
		return view.Trace{}, false
	}
	return view.Trace{TraceID: id, Start: fixedNow.Add(-time.Second), End: fixedNow.Add(-time.Second + 2*time.Millisecond), Spans: f.spans[len(f.spans)-2:]}, true
}

func (f *fakeSource) TraceOTLP(id string) ([]byte, bool, error) {
	switch id {
	case testTrace:
		return []byte(`{"resourceSpans":[]}`), true, nil
	case brokenTrace:
		return nil, true, errors.New("cannot encode")
	}
	return nil, false, nil
}

// Goroutines counts its calls: a goroutine dump each in a real Source.
func (f *fakeSource) Goroutines(id string) ([]view.Goroutine, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dumps++
	return []view.Goroutine{{Count: 2, Frames: []string{"main.wait\n\t/src/main.go:42"}}}, fixedNow
}

// brokenTrace is a trace fakeSource fails to encode.
const brokenTrace = "0badbadbadbadbadbadbadbadbadbad0"

// Active has one call in flight, or f.inFlight when set.
func (f *fakeSource) Active(limit int) ([]view.Active, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.activeReads++
	all := []view.Active{{TraceID: testTrace, SpanID: "1111111111111111", Method: "user.UserService/Chat", Kind: "server", Start: fixedNow.Add(-90 * time.Second)}}
	if f.inFlight != nil {
		all = f.inFlight
	}
	return all[:min(limit, len(all))], len(all)
}

func (f *fakeSource) Process() view.Process {
	return view.Process{Service: "usersvc", Version: "v1.2.3", Host: "build-7", PID: 4242, Start: fixedNow.Add(-26 * time.Hour)}
}

// CPUByMethod answers a fixed profile, or ErrProfiling for busy.
func (f *fakeSource) CPUByMethod(_ context.Context, d time.Duration) (view.CPUProfile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.profiling {
		return view.CPUProfile{}, view.ErrProfiling
	}
	return view.CPUProfile{Start: fixedNow, Duration: d, Total: 2 * time.Second, Samples: 200, Methods: []view.MethodCPU{
		{Method: "user.UserService/FetchUser", CPU: 1500 * time.Millisecond, Samples: 150,
			Top: []view.FuncCPU{{Function: "main.hash", Flat: time.Second, Cum: 1200 * time.Millisecond}}},
		{Method: "", CPU: 500 * time.Millisecond, Samples: 50}}}, nil
}

func (f *fakeSource) Logs(q view.LogQuery) []view.LogEntry {
	all := []view.LogEntry{
		{LogLine: view.LogLine{Time: fixedNow, Level: "ERROR", Message: "payment declined <script>", SpanID: testSpan}, TraceID: testTrace, Method: "user.UserService/FetchUser"},
		{LogLine: view.LogLine{Time: fixedNow.Add(-time.Second), Level: "INFO", Message: "started"}},
	}
	var out []view.LogEntry
	for _, l := range all {
		if q.Level == "ERROR" && l.Level != "ERROR" || q.Text != "" && !strings.Contains(l.Message, q.Text) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// FollowLogs treats the number of log records ever added as the position.
func (f *fakeSource) FollowLogs(q view.LogQuery, pos uint64) ([]view.LogEntry, uint64, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := uint64(len(f.logs)) + 1
	if pos == 0 {
		return nil, next, 0
	}
	return append([]view.LogEntry(nil), f.logs[pos-1:]...), next, 0
}

func (f *fakeSource) addLog(l view.LogEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, l)
}

func newTestServer(t *testing.T, src view.Source, cfg view.Config) *httptest.Server {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	if cfg.Buckets == nil {
		cfg.Buckets = fakeBuckets
	}
	r := chi.NewRouter()
	r.Mount("/debug/rpcs", NewHandler(src, cfg))
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	return ts
}

// testRequest does one request and returns the response and its body.
func testRequest(t *testing.T, ts *httptest.Server, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestRoutes(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{})
	tests := []struct {
		name, method, path string
		status             int
		ctype              string
		body               string // a substring the body must hold
	}{
		{"summary", "GET", "/debug/rpcs/", 200, "text/html", "user.UserService/FetchUser"},
		{"summary sorted", "GET", "/debug/rpcs/?sort=p99", 200, "text/html", "FetchUser"},
		{"span list", "GET", "/debug/rpcs/spans?method=user.UserService/FetchUser&code=NOT_FOUND", 200, "text/html", testSpan},
		{"one span", "GET", "/debug/rpcs/spans/" + testSpan, 200, "text/html", "no user 7"},
		{"span uppercase ID", "GET", "/debug/rpcs/spans/" + strings.ToUpper(testSpan), 200, "text/html", "no user 7"},
		{"unknown span", "GET", "/debug/rpcs/spans/0123456789abcdef", 404, "text/html", "evicted"},
		{"malformed span", "GET", "/debug/rpcs/spans/xyz", 400, "text/html", "spanID"},
		{"trace", "GET", "/debug/rpcs/traces/" + testTrace, 200, "text/html", "fetchUser.logic"},
		{"unknown trace", "GET", "/debug/rpcs/traces/0123456789abcdef0123456789abcdef", 404, "text/html", "evicted"},
		{"malformed trace", "GET", "/debug/rpcs/traces/00", 400, "text/html", "traceID"},
		{"zero trace", "GET", "/debug/rpcs/traces/00000000000000000000000000000000", 400, "text/html", "zeros"},
		{"active", "GET", "/debug/rpcs/active", 200, "text/html", "user.UserService/Chat"},
		{"api summary", "GET", "/debug/rpcs/api/summary", 200, "application/json", `"bucket_bounds_ns"`},
		{"api spans", "GET", "/debug/rpcs/api/spans?code=5", 200, "application/json", `"span_id":"` + testSpan},
		{"api span", "GET", "/debug/rpcs/api/spans/" + testSpan, 200, "application/json", `"status_message":"no user 7"`},
		{"api span, pretty", "GET", "/debug/rpcs/api/spans/" + testSpan + "?pretty=1", 200, "application/json", `"status_message": "no user 7"`},
		{"api unknown span", "GET", "/debug/rpcs/api/spans/0123456789abcdef", 404, "application/json", `"error"`},
		{"api malformed span", "GET", "/debug/rpcs/api/spans/nothex!!nothex!!", 400, "application/json", `"parameter":"spanID"`},
		{"api trace", "GET", "/debug/rpcs/api/traces/" + testTrace, 200, "application/json", "resourceSpans"},
		{"api unknown trace", "GET", "/debug/rpcs/api/traces/0123456789abcdef0123456789abcdef", 404, "application/json", `"error"`},
		{"api active", "GET", "/debug/rpcs/api/active", 200, "application/json", `"elapsed_ns":90000000000`},
		{"static css", "GET", "/debug/rpcs/static/debugz.css", 200, "text/css", "prefers-color-scheme"},
		{"static js", "GET", "/debug/rpcs/static/debugz.js", 200, "javascript", "EventSource"},
		{"static missing", "GET", "/debug/rpcs/static/nope.js", 404, "text/plain", "404"},
		{"unknown page", "GET", "/debug/rpcs/nope", 404, "text/html", "no debugz page"},
		{"post", "POST", "/debug/rpcs/", 405, "text/html", "read-only"},
		{"mount point without slash", "GET", "/debug/rpcs?sort=count", 301, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := testRequest(t, ts, tt.method, tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d; want %d\n%.300s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tt.ctype) {
				t.Errorf("%s %s Content-Type = %q; want %q", tt.method, tt.path, ct, tt.ctype)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("%s %s body lacks %q:\n%.500s", tt.method, tt.path, tt.body, body)
			}
			if resp.Header.Get("Content-Security-Policy") != csp || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: missing security headers", tt.method, tt.path)
			}
		})
	}
	resp, _ := testRequest(t, ts, "GET", "/debug/rpcs?sort=count")
	if loc := resp.Header.Get("Location"); loc != "rpcs/?sort=count" {
		t.Errorf("redirect Location = %q; want %q", loc, "rpcs/?sort=count")
	}
}

func TestBadParameters(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{})
	tests := []struct {
		name, query, param string
	}{
		{"kind", "kind=peer", "kind"},
		{"bucket not a number", "bucket=x", "bucket"},
		{"bucket out of range", "bucket=3", "bucket"},
		{"negative bucket", "bucket=-1", "bucket"},
		{"code", "code=WAT", "code"},
		{"code out of range", "code=17", "code"},
		{"min", "min=fast", "min"},
		{"negative max", "max=-1s", "max"},
		{"min above max", "min=2s&max=1s", "min"},
		{"trace", "trace=abc", "trace"},
		{"limit zero", "limit=0", "limit"},
		{"limit too big", "limit=100000", "limit"},
		{"twice", "kind=server&kind=client", "kind"},
		{"follow", "follow=maybe", "follow"},
		{"deadline", "deadline=far", "deadline"},
		{"retried", "retried=yes", "retried"},
		{"script", "code=%3Cscript%3E", "code"},
		{"unknown parameter", "methd=user.UserService/FetchUser", "methd"},
		{"semicolon", "limit=1;limit=2", "limit"},
		{"bad escape", "method=%zz", "method"},
		{"follow twice", "follow=1&follow=0", "follow"},
		{"too long", "method=" + strings.Repeat("m", maxParamLen+1), "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := testRequest(t, ts, "GET", "/debug/rpcs/api/spans?"+tt.query)
			var e struct{ Error, Parameter string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != 400 || e.Parameter != tt.param {
				t.Errorf("GET /api/spans?%s = %d %q; want 400 naming %q", tt.query, resp.StatusCode, body, tt.param)
			}
			if len(body) > 400 {
				t.Errorf("GET /api/spans?%.40s… answered %d bytes; want an error that does not echo the request", tt.query, len(body))
			}
			if strings.HasPrefix(tt.query, "follow") {
				return
			}
			resp, body = testRequest(t, ts, "GET", "/debug/rpcs/spans?"+tt.query)
			if resp.StatusCode != 400 || !strings.Contains(body, "&#34;"+tt.param+"&#34;") && !strings.Contains(body, "&quot;"+tt.param+"&quot;") {
				t.Errorf("GET /spans?%s = %d; want 400 naming %q\n%.400s", tt.query, resp.StatusCode, tt.param, body)
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("GET /spans?%s echoes markup unescaped", tt.query)
			}
		})
	}
	resp, body := testRequest(t, ts, "GET", "/debug/rpcs/?sort=fastest")
	if resp.StatusCode != 400 || !strings.Contains(body, "sort") {
		t.Errorf("GET /?sort=fastest = %d; want 400 naming sort", resp.StatusCode)
	}
	for _, path := range []string{"/?sort=count&sort=p99", "/?srt=count", "/api/summary?x=1", "/spans/" + testSpan + "?a=b",
		"/api/traces/" + testTrace + "?" + strings.Repeat("k", 1<<20) + "=1", "/live/active?x=1"} {
		resp, body := testRequest(t, ts, "GET", "/debug/rpcs"+path)
		if resp.StatusCode != 400 || len(body) > 4000 {
			t.Errorf("GET %.60s = %d, %d bytes; want a short 400", path, resp.StatusCode, len(body))
		}
	}
}

// TestHeadWhereverGet: HEAD answers every page, JSON and stream with the
// status and headers GET would have, and no body.
func TestHeadWhereverGet(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{Interval: 10 * time.Millisecond})
	for _, tt := range []struct {
		path, ctype string
		status      int
	}{
		{"/", "text/html", 200}, {"/spans?code=error", "text/html", 200}, {"/spans/" + testSpan, "text/html", 200},
		{"/traces/" + testTrace, "text/html", 200}, {"/active", "text/html", 200},
		{"/api/summary", "application/json", 200}, {"/api/spans", "application/json", 200},
		{"/api/spans/" + testSpan, "application/json", 200}, {"/api/traces/" + testTrace, "application/json", 200},
		{"/api/active", "application/json", 200}, {"/static/debugz.js", "text/javascript", 200},
		{"/live/summary", "text/event-stream", 200}, {"/api/spans?follow=1", "application/x-ndjson", 200},
		{"/spans/ffffffffffffffff", "text/html", 404}, {"/api/spans?kind=x", "application/json", 400},
	} {
		resp, body := testRequest(t, ts, "HEAD", "/debug/rpcs"+tt.path)
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) || body != "" {
			t.Errorf("HEAD %s = %d, %q, %d bytes; want %d, %s, no body", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), tt.status, tt.ctype)
		}
	}
	if resp, _ := testRequest(t, ts, "POST", "/debug/rpcs/"); resp.StatusCode != 405 || !strings.Contains(resp.Header.Get("Allow"), "HEAD") {
		t.Errorf("POST / = %d, Allow %q; want 405 allowing GET and HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestPanicInSourceIs500(t *testing.T) {
	src := newFakeSource()
	src.panic = true
	var mu sync.Mutex
	var reported []error
	ts := newTestServer(t, src, view.Config{ErrorHandler: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}})
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/summary"); resp.StatusCode != 500 {
		t.Errorf("GET with panicking source = %d; want 500", resp.StatusCode)
	}
	mu.Lock()
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "panic serving /debug/rpcs/api/summary: boom") {
		t.Errorf("ErrorHandler got %v; want the recovered panic", reported)
	}
	mu.Unlock()
	src.panic = false
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/summary"); resp.StatusCode != 200 {
		t.Errorf("GET after a panic = %d; want 200", resp.StatusCode)
	}
}

// TestRelativeLinksUnderAnyMount checks that the stylesheet a page links to
// resolves, mounted under chi and under a ServeMux with StripPrefix.
func TestRelativeLinksUnderAnyMount(t *testing.T) {
	cfg := view.Config{Now: func() time.Time { return fixedNow }}
	mux := http.NewServeMux()
	mux.Handle("/x/debug/", http.StripPrefix("/x/debug", NewHandler(newFakeSource(), cfg)))
	muxServer := httptest.NewServer(mux)
	defer muxServer.Close()
	chiServer := newTestServer(t, newFakeSource(), cfg)
	for _, tt := range []struct {
		srv  *httptest.Server
		page string
	}{
		{muxServer, "/x/debug/"}, {muxServer, "/x/debug/spans/" + testSpan}, {muxServer, "/x/debug/traces/" + testTrace},
		{chiServer, "/debug/rpcs/"}, {chiServer, "/debug/rpcs/active"}, {chiServer, "/debug/rpcs/spans/" + testSpan},
	} {
		resp, body := testRequest(t, tt.srv, "GET", tt.page)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", tt.page, resp.StatusCode)
		}
		i := strings.Index(body, `href="`)
		j := strings.Index(body, `debugz.css"`)
		if i < 0 || j < 0 {
			t.Fatalf("GET %s: no stylesheet link", tt.page)
		}
		href := body[strings.LastIndex(body[:j], `"`)+1 : j+len("debugz.css")]
		u, _ := url.Parse(tt.srv.URL + tt.page)
		ref, _ := url.Parse(href)
		if resp, _ := testRequest(t, tt.srv, "GET", u.ResolveReference(ref).Path); resp.StatusCode != 200 {
			t.Errorf("page %s links %q, which is %d", tt.page, href, resp.StatusCode)
		}
	}
}
