package web

import (
	"strings"
	"testing"
	"time"

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
		!strings.Contains(body, "user.UserService/FetchUser") || !strings.Contains(body, "75%") ||
		!strings.Contains(body, "<b>200 samples</b>") || !strings.Contains(body, "main.hash") ||
		strings.Contains(body, "WithProfilerLabels()</code>:") {
		t.Errorf("GET /profile?seconds=2 = %d; want FetchUser at 75%%, the samples, its top function, no advice on labels:\n%.400s", resp.StatusCode, body)
	}
	_, body := testRequest(t, ts, "GET", "/debug/rpcs/api/profile?seconds=2")
	if !strings.Contains(body, `"method":"user.UserService/FetchUser","cpu_ns":1500000000,"samples":150,"top":[{"function":"main.hash","flat_ns":1000000000,"cum_ns":1200000000}],"share":0.75`) ||
		!strings.Contains(body, `"method":"","cpu_ns":500000000,"samples":50,"top":[],"share":0.25`) {
		t.Errorf("GET /api/profile = %s; want FetchUser's CPU, samples, top function and share; an empty top as []", body)
	}
	for _, q := range []string{"seconds=0", "seconds=31", "seconds=x"} {
		if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/profile?"+q); resp.StatusCode != 400 {
			t.Errorf("GET /api/profile?%s = %d; want 400", q, resp.StatusCode)
		}
	}
	// A process without labels: every sample outside a method, and the page
	// says how to get per-method figures.
	unlabelled := profilePage{page: page{Base: "./"}, Seconds: 5, Profile: &view.CPUProfile{Total: time.Second, Samples: 12,
		Methods: []view.MethodCPU{{CPU: time.Second, Samples: 12}}}}
	var b strings.Builder
	if err := profileView(unlabelled).Render(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "WithProfilerLabels()</code>:") || !strings.Contains(b.String(), "Only 12 samples") {
		t.Errorf("profile without labels:\n%s\nwant the advice to add grpcstats.WithProfilerLabels and that 12 samples are rough", b.String())
	}
	src.mu.Lock()
	src.profiling = true
	src.mu.Unlock()
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/api/profile?seconds=1"); resp.StatusCode != 409 {
		t.Errorf("GET /api/profile while another profile runs = %d; want 409", resp.StatusCode)
	}
}
