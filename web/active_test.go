package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// inFlight is n calls in flight, the oldest first, a second apart.
func inFlight(n int) []view.Active {
	out := make([]view.Active, n)
	for i := range out {
		out[i] = view.Active{TraceID: testTrace, SpanID: fmt.Sprintf("%016x", i+1), Method: "a.S/M", Kind: "server",
			Start: fixedNow.Add(time.Duration(i-n) * time.Second), Deadline: fixedNow.Add(time.Hour)}
	}
	return out
}

// TestInFlightViewsBounded: with 1,000 calls in flight, /active and
// /api/active list the oldest maxActiveRows and say how many more there
// are.
func TestInFlightViewsBounded(t *testing.T) {
	src := newFakeSource()
	src.inFlight = inFlight(1000)
	ts := newTestServer(t, src, view.Config{})
	_, page := testRequest(t, ts, "GET", "/debug/rpcs/active")
	if n := strings.Count(page, "<tr>") - 1; n != maxActiveRows || !strings.Contains(page, "900 more RPCs in flight") ||
		!strings.Contains(page, "1,000 RPCs in flight, the oldest 100 listed") {
		t.Errorf("/active with 1,000 in flight: %d rows; want %d, the oldest, and \"900 more\":\n%.1000s", n, maxActiveRows, page)
	}
	if !strings.Contains(page, src.inFlight[0].Start.Format("15:04:05.000")) || strings.Contains(page, "0000000000000101") {
		t.Errorf("/active does not list the oldest calls first")
	}
	_, body := testRequest(t, ts, "GET", "/debug/rpcs/api/active")
	var got struct {
		Active []struct {
			SpanID string `json:"span_id"`
		} `json:"active"`
		Total int `json:"total"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Active) != maxActiveRows || got.Total != 1000 || got.Active[0].SpanID != "0000000000000001" {
		t.Errorf("/api/active = %d calls (first %v), total %d; want the oldest %d of 1000", len(got.Active), got.Active[0], got.Total, maxActiveRows)
	}
}

// TestInFlightFragmentStable: the live fragment of the in-flight view is
// the same a second later when no call started or ended (it holds times,
// not durations from now), so the live update does not send it again.
func TestInFlightFragmentStable(t *testing.T) {
	src := newFakeSource()
	src.inFlight = inFlight(3)
	now := fixedNow
	h := newHandler(src, view.Config{Now: func() time.Time { return now }})
	render := func() []byte {
		var b bytes.Buffer
		if err := activeTable(h.activePage(httptest.NewRequest("GET", "/live/active", nil))).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	before := render()
	now = now.Add(time.Second)
	if after := render(); !bytes.Equal(before, after) {
		t.Errorf("the in-flight fragment changed a second later with the same calls:\n%s\n---\n%s", before, after)
	}
}

// TestInFlightPageShared: while more calls are in flight than the page
// lists, one rendering serves the requests of the next second; with fewer,
// every request reads afresh.
func TestInFlightPageShared(t *testing.T) {
	for _, tt := range []struct {
		n, reads int
	}{{1000, 1}, {3, 3}} {
		src := newFakeSource()
		src.inFlight = inFlight(tt.n)
		ts := newTestServer(t, src, view.Config{})
		var first string
		for i := range 3 {
			_, body := testRequest(t, ts, "GET", "/debug/rpcs/active")
			if i == 0 {
				first = body
			} else if body != first {
				t.Errorf("%d in flight: request %d answered a different page", tt.n, i)
			}
		}
		if src.activeReads != tt.reads {
			t.Errorf("%d in flight: 3 requests read the calls in flight %d times; want %d", tt.n, src.activeReads, tt.reads)
		}
	}
}
