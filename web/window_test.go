package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

func TestParseSince(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"5m", fixedNow.Add(-5 * time.Minute), true},
		{" 90s ", fixedNow.Add(-90 * time.Second), true},
		{"2026-11-21T11:40:00Z", time.Date(2026, 11, 21, 11, 40, 0, 0, time.UTC), true},
		{"2026-11-21T11:40:00.5+01:00", time.Date(2026, 11, 21, 10, 40, 0, 5e8, time.UTC), true},
		{"0", time.Time{}, false},
		{"-5m", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2026-11-21", time.Time{}, false},
	} {
		got, err := parseSince(url.Values{"since": {tt.in}}, fixedNow)
		if tt.ok != (err == nil) || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && err.Param != "since" {
			t.Errorf("parseSince(%q) error names %q; want since", tt.in, err.Param)
		}
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]string{"": "all", "all": "all", "1m": "1m", "10m": "10m", "5m": "", "1M": ""} {
		got, err := parseWindow(url.Values{"window": {in}})
		if got != want || (err == nil) != (want != "") || err != nil && err.Param != "window" {
			t.Errorf("parseWindow(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// windowSource is a fake whose rows have figures over the last minute and
// the last 10 minutes, and which records the queries it is asked.
type windowSource struct {
	*fakeSource
	mu     sync.Mutex
	spansQ view.Query
	logsQ  view.LogQuery
	asked  []bool // the windows argument of each Summary call
}

func (s *windowSource) Summary(windows bool) view.Summary {
	s.mu.Lock()
	s.asked = append(s.asked, windows)
	s.mu.Unlock()
	sum := s.fakeSource.Summary(false)
	hot := view.Method{Method: "a.Hot/Now", Kind: "server", Count: 10, Errors: 0, Buckets: []uint64{0, 10, 0},
		Codes: []view.CodeCount{{Name: "OK", Count: 10}}, P99: time.Second,
		Last1m: view.Window{Count: 4, Errors: 3, Faults: 3}, Last10m: view.Window{Count: 10, Errors: 3, Faults: 3}}
	hot.In[0] = view.InWindow{Count: 4, Errors: 3, Faults: 3, Codes: []view.CodeCount{{Name: "OK", Count: 1}, {Code: 14, Name: "UNAVAILABLE", Count: 3}},
		Buckets: []uint64{0, 4, 0}, P50: 300 * time.Microsecond, P99: 900 * time.Microsecond, Max: 950 * time.Microsecond}
	hot.In[1] = view.InWindow{Count: 7777, Buckets: []uint64{0, 7777, 0}}
	sum.Methods[0].In[1] = view.InWindow{Count: 2, Errors: 1, Codes: []view.CodeCount{{Name: "OK", Count: 1}, {Code: 5, Name: "NOT_FOUND", Count: 1}}, Buckets: []uint64{0, 1, 1}}
	sum.Methods = append(sum.Methods, hot)
	return sum
}

func (s *windowSource) Spans(q view.Query) []view.Span {
	s.mu.Lock()
	s.spansQ = q
	s.mu.Unlock()
	return s.fakeSource.Spans(q)
}

func (s *windowSource) Logs(q view.LogQuery) []view.LogEntry {
	s.mu.Lock()
	s.logsQ = q
	s.mu.Unlock()
	return s.fakeSource.Logs(q)
}

// TestSummaryWindow: window=1m and window=10m put each row's figures over
// that window in place of those since start, in the page and in JSON; the
// page keeps the window in its sort links and narrows the links behind
// its counts with since=.
func TestSummaryWindow(t *testing.T) {
	src := &windowSource{fakeSource: newFakeSource()}
	ts := newTestServer(t, src, view.Config{})
	counts := func(window string) map[string]any {
		_, body := testRequest(t, ts, "GET", "/debug/rpcs/api/summary?window="+window)
		var got struct {
			Window  string
			Methods []struct {
				Method string
				Count  uint64
				Errors uint64
				Faults uint64
				Codes  map[string]uint64
				P99    time.Duration `json:"p99_ns"`
			}
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		out := map[string]any{"window": got.Window}
		for _, m := range got.Methods {
			out[m.Method] = []any{m.Count, m.Errors, m.Faults, m.Codes["UNAVAILABLE"], m.P99}
		}
		return out
	}
	for window, want := range map[string]string{
		"all": "map[a.Hot/Now:[10 0 0 0 1s] user.UserService/FetchUser:[3 1 0 0 2ms] window:all]",
		"1m":  "map[a.Hot/Now:[4 3 3 3 900µs] user.UserService/FetchUser:[0 0 0 0 0s] window:1m]",
		"10m": "map[a.Hot/Now:[7777 0 0 0 0s] user.UserService/FetchUser:[2 1 0 0 0s] window:10m]",
	} {
		if got := fmt.Sprint(counts(window)); got != want {
			t.Errorf("/api/summary?window=%s: %s; want %s", window, got, want)
		}
	}

	_, page := testRequest(t, ts, "GET", "/debug/rpcs/?window=1m&sort=errors")
	for _, want := range []string{
		`href="./?sort=count&amp;window=1m"`, // a sort link keeps the window
		`href="./?sort=errors"`,              // the chooser keeps the sort
		`href="./spans?method=a.Hot%2FNow&amp;kind=server&amp;since=1m&amp;code=UNAVAILABLE"`, // a chip's calls, in the window
		`href="./spans?method=a.Hot%2FNow&amp;kind=server&amp;since=1m&amp;code=fault"`,       // the faults behind the count
		`data-live="./live/summary?sort=errors&amp;window=1m"`,
		`UNAVAILABLE: <span class="count">3 calls</span>`,
		"Latency (the last minute)", "server faults", "caller errors",
		`href="./spans?since=1m"`, `href="./logs?since=1m"`, // the tabs keep the window
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/?window=1m&sort=errors lacks %s", want)
		}
	}
	if i, j := strings.Index(page, "a.Hot/"), strings.Index(page, "user.UserService/"); i < 0 || j < 0 || i > j {
		t.Errorf("/?window=1m&sort=errors: a.Hot/Now (3 faults in the window) is not above FetchUser (none)")
	}
	_, page = testRequest(t, ts, "GET", "/debug/rpcs/?window=10m")
	if !strings.Contains(page, ">7,777<") {
		t.Errorf("/?window=10m does not show a.Hot/Now's 7,777 calls of the last 10 minutes")
	}
}

// TestSortEveryColumn: every column of the summary sorts, the error rates
// of the last minute and the last 10 minutes included, and a row without
// calls in the window sorts below one with.
// TestWindowsReadOnlyWhenAsked: a summary since start does not ask the
// source for the time windows (a read of every row's slots); a windowed one
// does, on the page and in JSON.
func TestWindowsReadOnlyWhenAsked(t *testing.T) {
	src := &windowSource{fakeSource: newFakeSource()}
	ts := newTestServer(t, src, view.Config{})
	for _, c := range []struct {
		path string
		want bool
	}{{"/", false}, {"/?window=all", false}, {"/api/summary", false}, {"/?window=1m", true}, {"/api/summary?window=10m", true}} {
		src.mu.Lock()
		src.asked = nil
		src.mu.Unlock()
		if resp, body := testRequest(t, ts, "GET", "/debug/rpcs"+c.path); resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d\n%.300s", c.path, resp.StatusCode, body)
		}
		src.mu.Lock()
		asked := src.asked
		src.mu.Unlock()
		if len(asked) == 0 || asked[len(asked)-1] != c.want {
			t.Errorf("GET %s asked the source for Summary(%v); want windows %v", c.path, asked, c.want)
		}
	}
}

func TestSortEveryColumn(t *testing.T) {
	ms := func() []view.Method {
		return []view.Method{
			{Method: "quiet", Buckets: []uint64{5, 0, 0}},
			{Method: "failing", Count: 3, Active: 2, Last1m: view.Window{Count: 2, Errors: 2}, Last10m: view.Window{Count: 10, Errors: 2},
				P50: 3, P99: 3, Max: 3, Rate: 2, MsgCalls: 1, MsgSent: 9, Buckets: []uint64{0, 0, 7}},
			{Method: "fine", Count: 9, Active: 1, Last1m: view.Window{Count: 9}, Last10m: view.Window{Count: 10, Errors: 5},
				P50: 1, P99: 1, Max: 1, Rate: 1, Buckets: []uint64{1, 1, 1}},
		}
	}
	for key, want := range map[string]string{
		"method": "failing fine quiet", "active": "failing fine quiet", "count": "fine failing quiet",
		"error_rate_1m": "failing fine quiet", "error_rate_10m": "fine failing quiet",
		"p50": "failing fine quiet", "p99": "failing fine quiet", "max": "failing fine quiet",
		"per_call": "failing fine quiet", "rate": "failing fine quiet",
		"bucket0": "quiet fine failing", "bucket2": "failing fine quiet",
	} {
		if !validSort(key, 3) {
			t.Errorf("sort=%s is not taken", key)
		}
		rows := ms()
		if key == "method" {
			sortMethods(rows, "")
		} else {
			sortMethods(rows, key)
		}
		var got []string
		for _, m := range rows {
			got = append(got, m.Method)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("sort=%s: %s; want %s", key, strings.Join(got, " "), want)
		}
	}
	for _, bad := range []string{"bucket3", "bucket-1", "bucket01", "bucket", "fastest"} {
		if validSort(bad, 3) {
			t.Errorf("sort=%s is taken; want a 400", bad)
		}
	}
}

// TestSinceReachesTheSource: since= on the span list, the logs and their
// JSON becomes the query's Since, a duration counted back from now; a bad
// one, or a bad window, is a 400 naming it.
func TestSinceReachesTheSource(t *testing.T) {
	src := &windowSource{fakeSource: newFakeSource()}
	ts := newTestServer(t, src, view.Config{})
	for _, path := range []string{"/api/spans?since=5m", "/spans?since=5m&code=caller"} {
		if resp, body := testRequest(t, ts, "GET", "/debug/rpcs"+path); resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d\n%.300s", path, resp.StatusCode, body)
		}
		src.mu.Lock()
		q := src.spansQ
		src.mu.Unlock()
		if !q.Since.Equal(fixedNow.Add(-5 * time.Minute)) {
			t.Errorf("GET %s: the source was asked Since %v; want 5 minutes before now", path, q.Since)
		}
	}
	if src.spansQ.Side != "caller" || !src.spansQ.Errors {
		t.Errorf("code=caller: query %+v; want the callers' errors", src.spansQ)
	}
	for _, path := range []string{"/api/logs?since=2026-11-21T11:00:00Z", "/logs?since=2026-11-21T11:00:00Z"} {
		if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs"+path); resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		src.mu.Lock()
		q := src.logsQ
		src.mu.Unlock()
		if !q.Since.Equal(fixedNow.Add(-time.Hour)) {
			t.Errorf("GET %s: the source was asked Since %v; want 11:00", path, q.Since)
		}
	}
	_, page := testRequest(t, ts, "GET", "/debug/rpcs/spans?since=10m")
	if !strings.Contains(page, `name="since" value="10m"`) || !strings.Contains(page, `href="./?window=10m"`) {
		t.Errorf("/spans?since=10m does not offer the since field with 10m in it, or a Summary tab in that window")
	}
	for _, tt := range []struct{ path, param string }{
		{"/api/summary?window=5m", "window"}, {"/api/spans?since=soon", "since"}, {"/api/logs?since=-1m", "since"},
	} {
		resp, body := testRequest(t, ts, "GET", "/debug/rpcs"+tt.path)
		var e struct{ Parameter string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != 400 || e.Parameter != tt.param {
			t.Errorf("GET %s = %d %s; want 400 naming %s", tt.path, resp.StatusCode, body, tt.param)
		}
	}
	for _, path := range []string{"/?window=5m", "/spans?since=soon", "/logs?since=0", "/live/summary?window=2m"} {
		if resp, body := testRequest(t, ts, "GET", "/debug/rpcs"+path); resp.StatusCode != 400 || !strings.Contains(body, "window") && !strings.Contains(body, "since") {
			t.Errorf("GET %s = %d; want 400 naming the parameter", path, resp.StatusCode)
		}
	}
}
