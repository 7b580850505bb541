package web

import (
	"net/http"
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
			if got := describeQuery(tt.q, b, tt.min, ""); got != tt.want {
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

func (s *summaryCounter) Summary() view.Summary {
	s.calls.Add(1)
	return s.fakeSource.Summary()
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
