package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

func TestCodeClass(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"none", "", "code none"},
		{"ok", "OK", "code ok"},
		{"not found", "NOT_FOUND", "code warn"},
		{"invalid argument", "INVALID_ARGUMENT", "code warn"},
		{"cancelled", "CANCELLED", "code warn"},
		{"internal", "INTERNAL", "code err"},
		{"unavailable", "UNAVAILABLE", "code err"},
		{"deadline", "DEADLINE_EXCEEDED", "code err"},
		{"unknown", "UNKNOWN", "code err"},
		{"unknown number", "42", "code err"},
		{"out of range", "CODE(42)", "code err"},
		{"unauthenticated", "UNAUTHENTICATED", "code warn"},
		{"data loss", "DATA_LOSS", "code err"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeClass(tt.in); got != tt.want {
				t.Errorf("codeClass(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNearText(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want nearWords
	}{
		{"threshold", 0.8, nearWords{"more than 80% of the deadline", "used more than 80% of its deadline",
			"calls that used more than 80% of their deadline"}},
		{"rounds", 0.755, nearWords{"more than 76% of the deadline", "used more than 76% of its deadline",
			"calls that used more than 76% of their deadline"}},
		{"none given", 0, nearWords{"most of the deadline", "used most of its deadline", "calls that used most of their deadline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nearText(tt.in); got != tt.want {
				t.Errorf("nearText(%v) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
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
