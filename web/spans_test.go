package web

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

func TestDescribeQuery(t *testing.T) {
	b := []time.Duration{0, time.Millisecond}
	tests := []struct {
		name string
		q    view.Query
		min  string
		want string
	}{
		{"any", view.Query{Bucket: -1, Code: -1}, "", ""},
		{"method and errors", view.Query{Method: "a.B/C", Kind: "server", Bucket: -1, Code: -1, Errors: true}, "", `method "a.B/C", kind server, code error`},
		{"code and bucket", view.Query{Bucket: 1, Code: 5}, "", "code NOT_FOUND, latency ≥1ms"},
		{"min as typed", view.Query{Bucket: -1, Code: -1, Min: time.Second}, "1000ms", "min 1000ms"},
		{"trace", view.Query{Bucket: -1, Code: -1, Trace: "abc"}, "", "trace abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeQuery(tt.q, b, tt.min, "", ""); got != tt.want {
				t.Errorf("describeQuery(%q) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestCodeSelected(t *testing.T) {
	tests := []struct {
		name  string
		q     view.Query
		value string
		want  bool
	}{
		{"any when unset", view.Query{Code: -1}, "", true},
		{"not any when errors", view.Query{Code: -1, Errors: true}, "", false},
		{"error", view.Query{Code: -1, Errors: true}, "error", true},
		{"by name", view.Query{Code: 5}, "NOT_FOUND", true},
		{"other name", view.Query{Code: 5}, "OK", false},
		{"OK is code 0", view.Query{Code: 0}, "OK", true},
		{"OK not selected when any", view.Query{Code: -1}, "OK", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeSelected(tt.q, tt.value); got != tt.want {
				t.Errorf("codeSelected(%q) = %v; want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestDurationBars(t *testing.T) {
	spans := []view.Span{{Duration: 2 * time.Millisecond}, {Duration: 200 * time.Millisecond}, {Duration: time.Microsecond}}
	longest := longestSpan(spans)
	if longest != 200*time.Millisecond {
		t.Fatalf("longestSpan = %v; want 200ms", longest)
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{200 * time.Millisecond, "100"}, {2 * time.Millisecond, "1"}, {50 * time.Millisecond, "25"}, {time.Microsecond, "1"}} {
		if got := barWidth(tt.d, longest); got != tt.want {
			t.Errorf("barWidth(%v, %v) = %q; want %q", tt.d, longest, got, tt.want)
		}
	}
	if got := barWidth(time.Second, 0); got != "1" {
		t.Errorf("barWidth with no longest = %q; want 1", got)
	}
}

// summaryCounter counts the Summary calls of a fake source.
type summaryCounter struct {
	*fakeSource
	calls atomic.Int64
}

func (s *summaryCounter) Summary(bool) view.Summary {
	s.calls.Add(1)
	return s.fakeSource.Summary(false)
}

// A span list and a span's page read the spans they show, never a whole
// Summary (its cost grows with the methods): bucket bounds come in Config.
func TestSpanPagesComputeNoSummary(t *testing.T) {
	src := &summaryCounter{fakeSource: newFakeSource()}
	ts := newTestServer(t, src, view.Config{})
	for _, path := range []string{"/spans?bucket=1", "/api/spans?bucket=1", "/spans/" + testSpan, "/api/spans/" + testSpan} {
		if resp, body := testRequest(t, ts, "GET", "/debug/rpcs"+path); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %q; want 200", path, resp.StatusCode, body)
		}
	}
	if n := src.calls.Load(); n != 0 {
		t.Errorf("the span pages computed %d summaries; want 0", n)
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
