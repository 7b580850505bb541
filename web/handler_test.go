package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	profiling bool
	logs      []view.LogEntry // for FollowLogs
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

func (f *fakeSource) Methods() []string { return summaryMethods(f.Summary()) }

func (f *fakeSource) Summary() view.Summary {
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

// brokenTrace is a trace fakeSource fails to encode.
const brokenTrace = "0badbadbadbadbadbadbadbadbadbad0"

func (f *fakeSource) Active() []view.Active {
	return []view.Active{{TraceID: testTrace, SpanID: "1111111111111111", Method: "user.UserService/Chat", Kind: "server", Start: fixedNow.Add(-90 * time.Second)}}
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

// TestAccessByDefault: without an authorizer, a request is served only over
// a local connection, judged by the connection's own addresses (a rewritten
// RemoteAddr does not count), and only for a Host that names this machine
// (not a page on another site rebound to 127.0.0.1).
func TestAccessByDefault(t *testing.T) {
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	unix := &net.UnixAddr{Name: "/tmp/debugz.sock", Net: "unix"}
	tests := []struct {
		name   string
		remote string
		local  net.Addr // nil: not served by net/http
		host   string
		status int
	}{
		{"loopback v4", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "localhost:6060", 200},
		{"loopback v6", "[::1]:4000", tcp("[::1]:6060"), "[::1]:6060", 200},
		{"host by IP", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "127.0.0.1:6060", 200},
		{"host under .localhost", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "app.localhost:6060", 200},
		{"host is the listener's own address", "127.0.0.2:4000", tcp("127.0.0.2:6060"), "127.0.0.2:6060", 200},
		{"allowed host", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "Debug.Internal:6060", 200},
		{"no Host (HTTP/1.0)", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "", 200},
		{"unix socket", "@", unix, "localhost", 200},
		{"unix socket, empty remote", "", unix, "localhost", 200},
		{"no local address, loopback remote", "127.0.0.1:4000", nil, "localhost", 200},
		{"DNS rebinding", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "evil.example", 403},
		{"DNS rebinding with port", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "attacker.com:6060", 403},
		{"rebinding to a name ending in localhost", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "evillocalhost:6060", 403},
		{"RealIP rewrote the remote address", "127.0.0.1:4000", tcp("10.0.0.5:6060"), "10.0.0.5:6060", 403},
		{"remote not loopback", "10.1.2.3:4000", tcp("127.0.0.1:6060"), "localhost:6060", 403},
		{"remote v6 not loopback", "[2001:db8::1]:80", nil, "localhost", 403},
		{"garbage remote", "garbage", nil, "localhost", 403},
	}
	h := NewHandler(newFakeSource(), view.Config{AllowedHosts: []string{"debug.internal"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/summary", nil)
			req.RemoteAddr, req.Host = tt.remote, tt.host
			if tt.local != nil {
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, tt.local))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("GET from %q on %v, Host %q = %d; want %d", tt.remote, tt.local, tt.host, rec.Code, tt.status)
			}
		})
	}
	t.Run("refusal names the option", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/live/summary", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:4000", "Evil.Example:6060"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), `debugz.WithAllowedHosts("evil.example")`) {
			t.Errorf("rebound SSE request = %d %q; want 403 naming WithAllowedHosts", rec.Code, rec.Body.String())
		}
	})
	t.Run("custom authorizer replaces the checks", func(t *testing.T) {
		allowAll := NewHandler(newFakeSource(), view.Config{Authorize: func(*http.Request) bool { return true }})
		req := httptest.NewRequest("GET", "/api/summary", nil)
		req.RemoteAddr = "10.1.2.3:4000"
		rec := httptest.NewRecorder()
		allowAll.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("GET with custom authorizer = %d; want 200", rec.Code)
		}
	})
}

// TestAccessOverRealServers: the same checks on real listeners, as
// net/http fills in the addresses: a Unix socket is served; a TCP listener
// on a non-loopback address is refused whatever X-Forwarded-For says, even
// behind a middleware that rewrites RemoteAddr from it.
func TestAccessOverRealServers(t *testing.T) {
	realIP := func(next http.Handler) http.Handler { // what chi's middleware.RealIP does
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ip := r.Header.Get("X-Forwarded-For"); ip != "" {
				r.RemoteAddr = ip
			}
			next.ServeHTTP(w, r)
		})
	}
	h := realIP(NewHandler(newFakeSource(), view.Config{}))

	sock := filepath.Join(t.TempDir(), "debugz.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	us := &http.Server{Handler: h}
	go us.Serve(ul)
	defer us.Close()
	uc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := uc.Get("http://localhost/api/summary")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET over a Unix socket = %d; want 200", resp.StatusCode)
	}

	// A non-loopback address of this machine, if it has one.
	var public netip.Addr
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				public = p.Addr()
				break
			}
		}
	}
	if !public.IsValid() {
		t.Log("no non-loopback IPv4 address: the TCP case is covered by TestAccessByDefault only")
		return
	}
	tl, err := net.Listen("tcp", net.JoinHostPort(public.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	ts := &http.Server{Handler: h}
	go ts.Serve(tl)
	defer ts.Close()
	req, _ := http.NewRequest("GET", "http://"+tl.Addr().String()+"/api/summary", nil)
	req.Header.Set("X-Forwarded-For", "127.0.0.1:1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("GET on %s with X-Forwarded-For 127.0.0.1 behind RealIP = %d; want 403", tl.Addr(), resp.StatusCode)
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

func TestLiveSummaryStreamsEvents(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{Interval: 10 * time.Millisecond})
	resp, err := http.Get(ts.URL + "/debug/rpcs/live/summary?sort=count")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q; want text/event-stream", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var event strings.Builder
	for sc.Scan() && sc.Text() != "" {
		if !strings.HasPrefix(sc.Text(), "data: ") {
			t.Fatalf("SSE line %q; want data: lines", sc.Text())
		}
		event.WriteString(strings.TrimPrefix(sc.Text(), "data: "))
	}
	if !strings.Contains(event.String(), "user.UserService/FetchUser") {
		t.Errorf("first event lacks the method row:\n%.400s", event.String())
	}
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/live/spans?kind=nope"); resp.StatusCode != 400 {
		t.Errorf("live spans with a bad kind = %d; want 400", resp.StatusCode)
	}
}

func TestFollowStreamsNewSpans(t *testing.T) {
	src := newFakeSource()
	ts := newTestServer(t, src, view.Config{Interval: 10 * time.Millisecond})
	resp, err := http.Get(ts.URL + "/debug/rpcs/api/spans?follow=1&method=user.UserService/FetchUser")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type = %q", ct)
	}
	// The response's headers mean the stream took its position: no sleep.
	src.add(view.Span{TraceID: testTrace, SpanID: "2222222222222222", Method: "user.UserService/FetchUser", Kind: "server", Code: "OK", Start: fixedNow})
	src.add(view.Span{TraceID: testTrace, SpanID: "3333333333333333", Method: "other.Svc/M", Kind: "server", Code: "OK", Start: fixedNow})
	body := bufio.NewReader(resp.Body)
	line, err := body.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var s spanJSON
	if err := json.Unmarshal([]byte(line), &s); err != nil || s.SpanID != "2222222222222222" {
		t.Errorf("first followed line = %q; want the new FetchUser span only", line)
	}
	// A reader that fell behind the store is told how much it missed.
	src.mu.Lock()
	src.lost = 42
	src.mu.Unlock()
	src.add(view.Span{TraceID: testTrace, SpanID: "4444444444444444", Method: "user.UserService/FetchUser", Kind: "server", Code: "OK", Start: fixedNow})
	line, err = body.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(line) != `{"gap":{"skipped":42}}` {
		t.Errorf("line after a loss = %q; want the gap record", line)
	}
	if line, _ = body.ReadString('\n'); !strings.Contains(line, "4444444444444444") {
		t.Errorf("line after the gap = %q; want the next span", line)
	}
}

// TestLiveStreamsCapped: past maxStreams, a live stream is refused with 503
// and Retry-After, and a stream that ends frees its place.
func TestLiveStreamsCapped(t *testing.T) {
	src := newFakeSource()
	ts := newTestServer(t, src, view.Config{Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: maxStreams + 10}}
	var open []*http.Response
	for i := range maxStreams {
		path := []string{"/debug/rpcs/live/summary", "/debug/rpcs/live/spans", "/debug/rpcs/api/spans?follow=1"}[i%3]
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream %d: %v %v; want 200", i, resp, err)
		}
		open = append(open, resp)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/debug/rpcs/live/summary", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "live streams") {
		t.Errorf("stream past the cap = %d, Retry-After %q, %q; want 503 saying why", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	open[0].Body.Close()
	for i := 0; ; i++ { // the server notices the closed stream at its next write
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/debug/rpcs/live/active", nil)
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if i > 500 {
			t.Fatal("a closed stream never freed its place")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "kind=server&bucket=1&code=error", "code=<script>alert(1)</script>",
		"min=1ms&max=1s", "trace=4bf92f3577b34da6a3ce929d0e0e4736&limit=5", "bucket=%00", "limit=-1", "max=9999999999h", "=&=", "x=1&x=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, perr := parseQuery(v, 7, nearText(0.8))
		if perr != nil {
			if perr.Param == "" || !v.Has(perr.Param) && perr.Param != "min" {
				t.Fatalf("parseQuery(%q) error %v names no given parameter", raw, perr)
			}
			return
		}
		if q.Limit < 1 || q.Limit > maxLimit || q.Bucket < -1 || q.Bucket >= 7 || q.Code < -1 || q.Code > 16 || q.Min < 0 || q.Max < 0 {
			t.Fatalf("parseQuery(%q) = %+v: out of range", raw, q)
		}
	})
}

func TestTraceIDsLinkToTemplate(t *testing.T) {
	const tmpl = "http://localhost:16686/trace/{traceID}"
	tests := []struct {
		name, traceURL, want string
	}{
		{"template set", tmpl, `href="http://localhost:16686/trace/` + testTrace + `"`},
		{"local by default", "", `traces/` + testTrace + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, newFakeSource(), view.Config{TraceURL: tt.traceURL})
			for _, path := range []string{"/debug/rpcs/spans", "/debug/rpcs/spans/" + testSpan, "/debug/rpcs/active"} {
				_, body := testRequest(t, ts, "GET", path)
				if !strings.Contains(body, tt.want) {
					t.Errorf("GET %s: no trace link %s", path, tt.want)
				}
				if tt.traceURL == "" && strings.Contains(body, "16686") {
					t.Errorf("GET %s links to a tracing backend with none configured", path)
				}
			}
		})
	}
}

func TestSSEEventKeepsCarriageReturnsInside(t *testing.T) {
	ev := string(sseEvent("<td>a\rretry: 1\revent: x</td>\r\n<td>b</td>"))
	for _, line := range strings.Split(strings.TrimRight(ev, "\n"), "\n") {
		if !strings.HasPrefix(line, "data: ") {
			t.Errorf("sseEvent line %q; want every line a data: line", line)
		}
	}
	if strings.Contains(ev, "\r") {
		t.Errorf("sseEvent kept a bare \\r, which ends an SSE line")
	}
}

// The code parameter takes every spelling rpccode.Parse reads.
func TestParseQueryCodeSpellings(t *testing.T) {
	for in, want := range map[string]int{"NOT_FOUND": 5, "not_found": 5, "NotFound": 5, "Canceled": 1, "CANCELLED": 1, "16": 16, "DeadlineExceeded": 4} {
		q, err := parseQuery(url.Values{"code": {in}}, 7, nearText(0.8))
		if err != nil || q.Code != want {
			t.Errorf("parseQuery(code=%s).Code = %d, %v; want %d", in, q.Code, err, want)
		}
	}
}

// The pages quote the near-deadline threshold they are given and flag the
// spans the source flags.
func TestNearDeadlineQuotesConfig(t *testing.T) {
	src := newFakeSource()
	src.add(view.Span{TraceID: testTrace, SpanID: "4444444444444444", Method: "user.UserService/FetchUser", Kind: "server",
		Code: "OK", Start: fixedNow, DeadlineUsed: 0.97, DeadlineKnown: true, NearDeadline: true})
	ts := newTestServer(t, src, view.Config{NearDeadline: 0.9})
	_, body := testRequest(t, ts, "GET", "/debug/rpcs/spans")
	for _, want := range []string{`title="used more than 90% of its deadline">Near deadline`, `97% of deadline`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /spans lacks %q", want)
		}
	}
	_, body = testRequest(t, ts, "GET", "/debug/rpcs/api/spans?deadline=far")
	if !strings.Contains(body, "more than 90% of their deadline") {
		t.Errorf("GET /api/spans?deadline=far = %s; want the error to quote the threshold", body)
	}
}

// TestFollowFeedShared: follow streams of the same query share one reader,
// and a stream that fell behind the feed's backlog is told how many spans it
// missed before it gets the chunks still held.
func TestFollowFeedShared(t *testing.T) {
	var fs feeds
	read := func(*bytes.Buffer) (uint64, error) { return 0, nil }
	q := view.Query{Method: "user.UserService/FetchUser", Bucket: -1, Code: -1}
	a, start := fs.join(q, false, read, time.Hour, func(error) {})
	b, _ := fs.join(q, false, read, time.Hour, func(error) {})
	c, _ := fs.join(view.Query{Bucket: -1, Code: -1}, false, read, time.Hour, func(error) {})
	if a != b || a == c {
		t.Fatalf("join: same query got feeds %p and %p, another query %p; want one shared, one apart", a, b, c)
	}
	defer fs.leave(c)
	for i := range followBacklog + 2 { // two chunks more than the feed keeps
		a.publish([]byte(fmt.Sprintf("{\"n\":%d}\n", i)), 3)
	}
	data, end, _ := a.since(start)
	want := "{\"gap\":{\"skipped\":6}}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n"
	if string(data) != want || end != start+3*(followBacklog+2) {
		t.Errorf("since(start) = %q, %d; want %q, %d", data, end, want, start+3*(followBacklog+2))
	}
	if data, next, _ := a.since(end - 3); string(data) != "{\"n\":5}\n" || next != end {
		t.Errorf("since(one chunk behind) = %q, %d; want the last chunk, %d", data, next, end)
	}
	if data, _, _ := a.since(end); data != nil {
		t.Errorf("since(end) = %q; want nothing", data)
	}
	fs.leave(a)
	if fs.m[q] != a {
		t.Error("a feed was closed while a stream still follows it")
	}
	fs.leave(b)
	if _, ok := fs.m[q]; ok {
		t.Error("a feed outlived its last stream")
	}
	select {
	case <-a.stop:
	default:
		t.Error("the feed's reader was not stopped")
	}
}

// TestSnapshotFeedSkipsToLatest: a live page's feed keeps its latest
// fragment alone; a new stream starts with it, and a stream that fell behind
// skips to it with no gap record.
func TestSnapshotFeedSkipsToLatest(t *testing.T) {
	var fs feeds
	n := 0
	f, at := fs.join("/live/x?", true, func(buf *bytes.Buffer) (uint64, error) {
		n++
		fmt.Fprintf(buf, "v%d", n)
		return 1, nil
	}, time.Hour, func(err error) { t.Error(err) })
	defer fs.leave(f)
	if data, _, _ := f.since(at); string(data) != "v1" {
		t.Errorf("a new stream's first data = %q; want the first rendering", data)
	}
	f.publish([]byte("v2"), 1)
	f.publish([]byte("v3"), 1)
	if data, _, _ := f.since(at); string(data) != "v3" {
		t.Errorf("since(two renderings behind) = %q; want the latest alone", data)
	}
}

// TestFollowFeedBatchCap: a read that finds more spans than maxFollowBatch
// encodes the newest of them and reports the rest skipped; many feeds share
// the batch.
func TestFollowFeedBatchCap(t *testing.T) {
	src := newFakeSource()
	var fs feeds
	q := view.Query{Bucket: -1, Code: -1}
	read := follower(&fs, func(limit int, pos uint64) ([]view.Span, uint64, uint64) {
		q.Limit = limit
		return src.Follow(q, pos)
	}, toSpanJSON)
	var buf bytes.Buffer
	if n, err := read(&buf); n != 0 || err != nil || buf.Len() != 0 {
		t.Fatalf("first read = %d, %v, %q; want it to take the position only", n, err, buf.String())
	}
	for i := range maxFollowBatch + 5 {
		src.add(view.Span{TraceID: testTrace, SpanID: fmt.Sprintf("%016x", i), Method: "a.B/C", Kind: "server", Code: "OK", Start: fixedNow})
	}
	if n, err := read(&buf); n != maxFollowBatch+5 || err != nil {
		t.Errorf("read = %d records, %v; want %d", n, err, maxFollowBatch+5)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != maxFollowBatch+1 || lines[0] != `{"gap":{"skipped":5}}` || !strings.Contains(lines[1], fmt.Sprintf("%016x", 5)) {
		t.Errorf("a read over the batch cap sent %d lines starting %q, %.60q; want the gap of 5 then the newest %d spans",
			len(lines), lines[0], lines[1], maxFollowBatch)
	}
	fs.follows.Store(maxFollowBatch) // as many feeds as spans in a batch
	if got := fs.batch(); got != minFollowBatch {
		t.Errorf("batch with %d feeds = %d; want the floor %d", maxFollowBatch, got, minFollowBatch)
	}
	fs.follows.Store(4)
	if got := fs.batch(); got != maxFollowBatch/4 {
		t.Errorf("batch with 4 feeds = %d; want %d", got, maxFollowBatch/4)
	}
}

// TestTraceExportFailureIs500: a trace the Source cannot encode is a 500
// that is reported, not a 404 saying it is not retained.
func TestTraceExportFailureIs500(t *testing.T) {
	var reported []error
	ts := newTestServer(t, newFakeSource(), view.Config{ErrorHandler: func(err error) { reported = append(reported, err) }})
	resp, body := testRequest(t, ts, "GET", "/debug/rpcs/api/traces/"+brokenTrace)
	if resp.StatusCode != 500 || !strings.Contains(body, "could not be encoded") {
		t.Errorf("GET a trace that fails to encode = %d %q; want 500 saying so", resp.StatusCode, body)
	}
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "cannot encode") {
		t.Errorf("reported %v; want the encoding error once", reported)
	}
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/traces/"+strings.Repeat("ab", 16)); resp.StatusCode != 404 {
		t.Errorf("GET an unknown trace = %d; want 404", resp.StatusCode)
	}
}

func (f *fakeSource) Process() view.Process {
	return view.Process{Service: "usersvc", Version: "v1.2.3", Host: "build-7", PID: 4242, Start: fixedNow.Add(-26 * time.Hour)}
}

// TestProcessOnEveryPage: every page names the process in its header and
// its title, and /api/summary says which process answered and when.
func TestProcessOnEveryPage(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{})
	titles := map[string]bool{}
	for _, path := range []string{"/", "/spans", "/spans/" + testSpan, "/traces/" + testTrace, "/active"} {
		resp, body := testRequest(t, ts, "GET", "/debug/rpcs"+path)
		if resp.StatusCode != 200 || !strings.Contains(body, "<b>usersvc</b>") || !strings.Contains(body, "pid 4242") || !strings.Contains(body, "up 1d 2h") {
			t.Errorf("GET %s = %d; want the process (usersvc, pid 4242, up 1d 2h) in the header", path, resp.StatusCode)
		}
		title := body[strings.Index(body, "<title>"):strings.Index(body, "</title>")]
		if !strings.Contains(title, "usersvc") || titles[title] {
			t.Errorf("GET %s: title %q; want one naming the service and differing from the other pages'", path, title)
		}
		titles[title] = true
	}
	_, body := testRequest(t, ts, "GET", "/debug/rpcs/api/summary")
	var sum struct {
		AsOf    time.Time `json:"as_of"`
		Process struct {
			Service string
			PID     int
			Start   time.Time
		}
		Methods []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &sum); err != nil || sum.Process.Service != "usersvc" || sum.Process.PID != 4242 ||
		!sum.AsOf.Equal(fixedNow) || sum.Process.Start.IsZero() {
		t.Fatalf("/api/summary process = %+v, as_of %v, %v; want usersvc, 4242, a start and as_of", sum.Process, sum.AsOf, err)
	}
	for _, key := range []string{"faults", "last_1m", "last_10m", "rate_1m_per_s"} {
		if _, ok := sum.Methods[0][key]; !ok {
			t.Errorf("/api/summary method lacks %q", key)
		}
	}
}

// churningSource is a fakeSource whose summary changes on every call, with
// many long method names: every tick of a live summary has a big fragment
// to send.
type churningSource struct {
	*fakeSource
	n atomic.Int64
}

func (c *churningSource) Summary() view.Summary {
	s := c.fakeSource.Summary()
	n := uint64(c.n.Add(1))
	m := s.Methods[0]
	s.Methods = nil
	for i := range 300 {
		m.Method = fmt.Sprintf("churn.%s/Method%d", strings.Repeat("x", 200), i)
		m.Count = n + uint64(i)
		s.Methods = append(s.Methods, m)
	}
	return s
}

// TestStalledReaderIsDropped: a client that opens a live stream and never
// reads is dropped once one write takes longer than the write timeout, and
// its place is freed; the handler goroutine does not stay blocked.
func TestStalledReaderIsDropped(t *testing.T) {
	h := newHandler(&churningSource{fakeSource: newFakeSource()}, view.Config{Interval: 5 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		Now: func() time.Time { return fixedNow }})
	ts := httptest.NewServer(h.router())
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET /live/summary HTTP/1.1\r\nHost: %s\r\n\r\n", ts.Listener.Addr()); err != nil {
		t.Fatal(err)
	}
	for i := 0; h.streams.Load() == 0; i++ {
		if i > 1000 {
			t.Fatal("the stream was never admitted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Never read. The stream fills the socket buffers, its next write times
	// out, and it is dropped.
	for i := 0; h.streams.Load() != 0; i++ {
		if i > 3000 { // 30 s: far beyond the 200 ms timeout and the time to fill the buffers
			t.Fatalf("a stream that is never read is still served (%d open)", h.streams.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CPUByMethod answers a fixed profile, or ErrProfiling for busy.
func (f *fakeSource) CPUByMethod(_ context.Context, d time.Duration) (view.CPUProfile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.profiling {
		return view.CPUProfile{}, view.ErrProfiling
	}
	return view.CPUProfile{Start: fixedNow, Duration: d, Total: 2 * time.Second, Methods: []view.MethodCPU{
		{Method: "user.UserService/FetchUser", CPU: 1500 * time.Millisecond}, {Method: "", CPU: 500 * time.Millisecond}}}, nil
}

// TestCPUProfilePage: /profile shows a form, and with seconds the profile by
// method; the JSON has shares; a bad length is a 400, a busy profiler a 409.
func TestCPUProfilePage(t *testing.T) {
	src := newFakeSource()
	ts := newTestServer(t, src, view.Config{})
	if resp, body := testRequest(t, ts, "GET", "/debug/rpcs/profile"); resp.StatusCode != 200 || strings.Contains(body, "FetchUser") {
		t.Errorf("GET /profile = %d; want the form, no profile yet", resp.StatusCode)
	}
	if resp, body := testRequest(t, ts, "GET", "/debug/rpcs/profile?seconds=2"); resp.StatusCode != 200 ||
		!strings.Contains(body, "user.UserService/FetchUser") || !strings.Contains(body, "75%") {
		t.Errorf("GET /profile?seconds=2 = %d; want FetchUser at 75%%:\n%.400s", resp.StatusCode, body)
	}
	_, body := testRequest(t, ts, "GET", "/debug/rpcs/api/profile?seconds=2")
	if !strings.Contains(body, `"method":"user.UserService/FetchUser","cpu_ns":1500000000,"share":0.75`) {
		t.Errorf("GET /api/profile = %s; want FetchUser's CPU and share", body)
	}
	for _, q := range []string{"seconds=0", "seconds=31", "seconds=x"} {
		if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/profile?"+q); resp.StatusCode != 400 {
			t.Errorf("GET /api/profile?%s = %d; want 400", q, resp.StatusCode)
		}
	}
	src.mu.Lock()
	src.profiling = true
	src.mu.Unlock()
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/profile?seconds=1"); resp.StatusCode != 409 {
		t.Errorf("GET /api/profile while another profile runs = %d; want 409", resp.StatusCode)
	}
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

// TestLogsPage: /logs and /api/logs list the latest records with their
// calls, filter them, escape them, and refuse a bad level.
func TestLogsPage(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{})
	resp, body := testRequest(t, ts, "GET", "/debug/rpcs/logs")
	if resp.StatusCode != 200 || !strings.Contains(body, "payment declined &lt;script&gt;") || !strings.Contains(body, "outside any call") ||
		!strings.Contains(body, "spans/"+testSpan) {
		t.Errorf("GET /logs = %d; want both records, escaped, the first linked to its call:\n%.600s", resp.StatusCode, body)
	}
	_, body = testRequest(t, ts, "GET", "/debug/rpcs/api/logs?level=error")
	if !strings.Contains(body, `"level":"ERROR"`) || strings.Contains(body, "started") || !strings.Contains(body, `"trace_id":"`+testTrace) {
		t.Errorf("GET /api/logs?level=error = %s; want the ERROR record only, with its trace", body)
	}
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/logs?level=loud"); resp.StatusCode != 400 {
		t.Errorf("GET /api/logs?level=loud = %d; want 400", resp.StatusCode)
	}
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

// TestFollowLogs: /api/logs?follow=1 streams the records written after it
// began, as NDJSON.
func TestFollowLogs(t *testing.T) {
	src := newFakeSource()
	ts := newTestServer(t, src, view.Config{Interval: 10 * time.Millisecond})
	resp, err := http.Get(ts.URL + "/debug/rpcs/api/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type = %q", ct)
	}
	src.addLog(view.LogEntry{LogLine: view.LogLine{Time: fixedNow, Level: "WARN", Message: "cache miss"}})
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"message":"cache miss"`) {
		t.Errorf("first followed line = %q, %v; want the new record", line, err)
	}
}

// gatedLogSource is a fakeSource whose FollowLogs, past a feed's first read
// (pos 0), waits for a turn from the test and then finds one new record,
// named for the call; it notes the limit of every call.
type gatedLogSource struct {
	*fakeSource
	turn   chan struct{} // one read per value; closed: every read finds nothing
	mu     sync.Mutex
	starts int   // reads at pos 0: feeds started
	limits []int // the limit of every read
	reads  int   // reads past the first
}

func (g *gatedLogSource) FollowLogs(q view.LogQuery, pos uint64) ([]view.LogEntry, uint64, uint64) {
	g.mu.Lock()
	g.limits = append(g.limits, q.Limit)
	if pos == 0 {
		g.starts++
		g.mu.Unlock()
		return nil, 1, 0
	}
	g.mu.Unlock()
	if _, ok := <-g.turn; !ok {
		return nil, pos, 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reads++
	return []view.LogEntry{{LogLine: view.LogLine{Time: fixedNow, Level: "WARN", Message: fmt.Sprintf("read %d", g.reads)}}}, pos + 1, 0
}

// readLine reads one line of r, or fails t if none comes within 10 s.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := r.ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10 s")
		return ""
	}
}

// TestFollowLogsShareOneReader: the log follows of one query share one
// reader, which reads the Source once per tick for all of them, with the
// batch the span follows share too.
func TestFollowLogsShareOneReader(t *testing.T) {
	src := &gatedLogSource{fakeSource: newFakeSource(), turn: make(chan struct{})}
	ts := newTestServer(t, src, view.Config{Interval: time.Millisecond})
	t.Cleanup(func() { close(src.turn) }) // frees a feed waiting for its turn once the streams are gone
	open := func(path string) *bufio.Reader {
		req, _ := http.NewRequest("GET", ts.URL+"/debug/rpcs"+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s = %v, %v; want 200", path, resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return bufio.NewReader(resp.Body)
	}
	open("/api/spans?follow=1") // a follow of spans: two feeds share the batch
	const n = 5
	var streams []*bufio.Reader
	for range n {
		streams = append(streams, open("/api/logs?follow=1&level=warn"))
	}
	for read := 1; read <= 3; read++ {
		src.turn <- struct{}{} // one read of the Source, wherever it comes from
		for i, s := range streams {
			if line := readLine(t, s); !strings.Contains(line, fmt.Sprintf(`"message":"read %d"`, read)) {
				t.Fatalf("stream %d after read %d: %q; want that read's record", i, read, line)
			}
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.starts != 1 {
		t.Errorf("%d log follows of one query started %d readers; want 1", n, src.starts)
	}
	for _, l := range src.limits {
		if l != maxFollowBatch/2 {
			t.Errorf("FollowLogs limits %v; want the batch of two follow feeds, %d", src.limits, maxFollowBatch/2)
			break
		}
	}
}

// panickySource is a fakeSource whose Summary panics once asked to.
type panickySource struct {
	*fakeSource
	panics atomic.Bool
}

func (p *panickySource) Summary() view.Summary {
	if p.panics.Load() {
		panic("summary exploded")
	}
	return p.fakeSource.Summary()
}

// TestLiveFeedReportsPanic: a live page whose rendering panics keeps its
// stream and reports the panic to Config.ErrorHandler.
func TestLiveFeedReportsPanic(t *testing.T) {
	src := &panickySource{fakeSource: newFakeSource()}
	reported := make(chan error, 100)
	ts := newTestServer(t, src, view.Config{Interval: time.Millisecond, ErrorHandler: func(err error) {
		select {
		case reported <- err:
		default:
		}
	}})
	resp, err := http.Get(ts.URL + "/debug/rpcs/live/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	if line := readLine(t, body); !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q; want an event", line)
	}
	src.panics.Store(true)
	select {
	case err := <-reported:
		if !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "summary exploded") || !strings.Contains(err.Error(), "/live/summary") {
			t.Errorf("reported %q; want the panic, naming the stream", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a panicking live page reported nothing within 10 s")
	}
}
