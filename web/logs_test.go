package web

import (
	"strings"
	"testing"

	"github.com/debugz/debugz/internal/view"
)

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
