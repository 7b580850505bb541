package web

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/debugz/debugz/internal/view"
)

// TestSnapshotRoute: with Config.Snapshot, every page links to
// api/snapshot, which serves what it writes as a named download, and a
// failure is a 500 that says why; without it neither exists. Config.Banner
// heads every page.
func TestSnapshotRoute(t *testing.T) {
	var fail atomic.Bool
	ts := newTestServer(t, newFakeSource(), view.Config{Banner: "Snapshot of checkout", Snapshot: func(w io.Writer) error {
		if fail.Load() {
			return errors.New("disk full")
		}
		_, err := io.WriteString(w, "the moment")
		return err
	}})
	for _, path := range []string{"/debug/rpcs/", "/debug/rpcs/spans/" + testSpan, "/debug/rpcs/logs"} {
		resp, body := testRequest(t, ts, "GET", path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		if !strings.Contains(body, `api/snapshot" download`) || !strings.Contains(body, `<p class="banner" role="note">Snapshot of checkout</p>`) {
			t.Errorf("GET %s: no Save snapshot link or no banner", path)
		}
	}
	resp, body := testRequest(t, ts, "GET", "/debug/rpcs/api/snapshot")
	if resp.StatusCode != http.StatusOK || body != "the moment" || resp.Header.Get("Content-Type") != "application/gzip" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="debugz-`) {
		t.Errorf("GET api/snapshot = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	fail.Store(true)
	if resp, body := testRequest(t, ts, "GET", "/debug/rpcs/api/snapshot"); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "disk full") {
		t.Errorf("failed GET api/snapshot = %d %q", resp.StatusCode, body)
	}

	plain := newTestServer(t, newFakeSource(), view.Config{})
	if resp, _ := testRequest(t, plain, "GET", "/debug/rpcs/api/snapshot"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET api/snapshot without Config.Snapshot = %d", resp.StatusCode)
	}
	if _, body := testRequest(t, plain, "GET", "/debug/rpcs/"); strings.Contains(body, "api/snapshot") || strings.Contains(body, `class="banner"`) {
		t.Error("a Save snapshot link or a banner without Config.Snapshot or Banner")
	}
}
