package web

import (
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

func TestBarClass(t *testing.T) {
	tests := []struct {
		name string
		in   view.Span
		want string
	}{
		{"server ok", view.Span{Kind: "server", Code: "OK"}, "server"},
		{"client ok", view.Span{Kind: "client", Code: "OK", StatusCode: "Unset"}, "client"},
		{"client not found is amber despite Error status", view.Span{Kind: "client", Code: "NOT_FOUND", StatusCode: "Error"}, "warn"},
		{"server internal", view.Span{Kind: "server", Code: "INTERNAL", StatusCode: "Error"}, "err"},
		{"internal span in error", view.Span{Kind: "internal", StatusCode: "Error"}, "err"},
		{"internal span", view.Span{Kind: "internal", StatusCode: "Unset"}, "other"},
		{"HTTP client answered 400 is the caller's, despite Error status", httpSpan("client", "http.response.status_code", "400", "Error"), "warn"},
		{"HTTP server answered 503 is a fault", httpSpan("server", "http.response.status_code", "503", "Error"), "err"},
		{"HTTP 404 in the old convention", httpSpan("client", "http.status_code", "404", "Error"), "warn"},
		{"HTTP 200", httpSpan("server", "http.response.status_code", "200", "Unset"), "server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := barClass(tt.in); got != tt.want {
				t.Errorf("barClass(%q) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
}

// httpSpan is an HTTP span of kind that recorded its status under key.
func httpSpan(kind, key, status, otelStatus string) view.Span {
	return view.Span{Kind: kind, StatusCode: otelStatus, Attributes: []view.Attr{{Key: key, Value: status, Type: "int64"}}}
}

// TestTraceShowsHTTPStatusAndLogAttributes: the waterfall shows an HTTP
// span's status code, coloured by severity, where a gRPC span shows its
// code; the trace's log table keeps each record's attributes.
func TestTraceShowsHTTPStatusAndLogAttributes(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	gw := httpSpan("client", "http.response.status_code", "400", "Error")
	gw.TraceID, gw.SpanID, gw.Name, gw.Start, gw.Duration = testTrace, testSpan, "GET /api/user", start, 3*time.Millisecond
	call := view.Span{TraceID: testTrace, SpanID: testChild, ParentSpanID: testSpan, Method: "user.UserService/FetchUser",
		Kind: "client", Code: "INVALID_ARGUMENT", StatusCode: "Error", Start: start.Add(time.Millisecond), Duration: time.Millisecond,
		Logs: []view.LogLine{{Time: start.Add(time.Millisecond), Level: "WARN", Message: "refused", SpanID: testChild,
			Attrs: []view.Attr{{Key: "reason", Value: "card expired"}}}}}
	tr := view.Trace{TraceID: testTrace, Start: start, End: start.Add(3 * time.Millisecond), Spans: []view.Span{gw, call}}
	var b strings.Builder
	p := tracePage{page: page{Base: "../"}, Trace: tr, Rows: layoutTrace(tr), Logs: traceLogs(tr)}
	if err := traceView(p).Render(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<span class="code warn" title="HTTP status code">HTTP 400</span>`,
		`<rect class="warn"`,
		`<span class="k">reason</span>=<span class="v">card expired</span>`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("trace page lacks %s:\n%s", want, b.String())
		}
	}
}

// TestLayoutTraceMarksOrphans: a span whose parent is not in the trace is a
// root of the waterfall, marked; a root span and a child are not.
func TestLayoutTraceMarksOrphans(t *testing.T) {
	now := time.Now()
	tr := view.Trace{Start: now, End: now.Add(time.Second), Spans: []view.Span{
		{SpanID: "a", Start: now, Duration: time.Second},
		{SpanID: "b", ParentSpanID: "a", Start: now, Duration: time.Millisecond},
		{SpanID: "c", ParentSpanID: "gone", Start: now, Duration: time.Millisecond},
	}}
	got := map[string]bool{}
	for _, r := range layoutTrace(tr) {
		got[r.SpanID] = r.Orphan
	}
	if got["a"] || got["b"] || !got["c"] {
		t.Errorf("orphans = %v; want only c", got)
	}
}

// TestAxisTicksAreRound: the waterfall's guide lines fall on round
// durations, at most six of them, starting at 0.
func TestAxisTicksAreRound(t *testing.T) {
	for _, tt := range []struct {
		total time.Duration
		want  string
	}{
		{23 * time.Millisecond, "0 5ms 10ms 15ms 20ms"},
		{4 * time.Millisecond, "0 1ms 2ms 3ms 4ms"},
		{1700 * time.Microsecond, "0 500µs 1ms 1.5ms"},
		{9 * time.Second, "0 2s 4s 6s 8s"},
		{0, "0"},
	} {
		var labels []string
		for _, tk := range axisTicks(tt.total) {
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != tt.want {
			t.Errorf("axisTicks(%v) = %s; want %s", tt.total, got, tt.want)
		}
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
