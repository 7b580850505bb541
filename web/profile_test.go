package web

import (
	"strings"
	"testing"

	"github.com/debugz/debugz/internal/view"
)

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
