package web

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debugz/debugz/internal/view"
)

// TestAccessByDefault: without an authorizer, a request is served only over
// a local connection, judged by the connection's own addresses (a rewritten
// RemoteAddr does not count), and only for a Host that names this machine
// (not a page on another site rebound to 127.0.0.1).
func TestAccessByDefault(t *testing.T) {
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	unix := &net.UnixAddr{Name: "/tmp/debugz.sock", Net: "unix"}
	tests := []struct {
		name   string
		remote string
		local  net.Addr // nil: not served by net/http
		host   string
		status int
	}{
		{"loopback v4", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "localhost:6060", 200},
		{"loopback v6", "[::1]:4000", tcp("[::1]:6060"), "[::1]:6060", 200},
		{"host by IP", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "127.0.0.1:6060", 200},
		{"host under .localhost", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "app.localhost:6060", 200},
		{"host is the listener's own address", "127.0.0.2:4000", tcp("127.0.0.2:6060"), "127.0.0.2:6060", 200},
		{"allowed host", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "Debug.Internal:6060", 200},
		{"no Host (HTTP/1.0)", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "", 200},
		{"unix socket", "@", unix, "localhost", 200},
		{"unix socket, empty remote", "", unix, "localhost", 200},
		{"no local address, loopback remote", "127.0.0.1:4000", nil, "localhost", 200},
		{"DNS rebinding", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "evil.example", 403},
		{"DNS rebinding with port", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "attacker.com:6060", 403},
		{"rebinding to a name ending in localhost", "127.0.0.1:4000", tcp("127.0.0.1:6060"), "evillocalhost:6060", 403},
		{"RealIP rewrote the remote address", "127.0.0.1:4000", tcp("10.0.0.5:6060"), "10.0.0.5:6060", 403},
		{"remote not loopback", "10.1.2.3:4000", tcp("127.0.0.1:6060"), "localhost:6060", 403},
		{"remote v6 not loopback", "[2001:db8::1]:80", nil, "localhost", 403},
		{"garbage remote", "garbage", nil, "localhost", 403},
	}
	h := NewHandler(newFakeSource(), view.Config{AllowedHosts: []string{"debug.internal"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/summary", nil)
			req.RemoteAddr, req.Host = tt.remote, tt.host
			if tt.local != nil {
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, tt.local))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("GET from %q on %v, Host %q = %d; want %d", tt.remote, tt.local, tt.host, rec.Code, tt.status)
			}
		})
	}
	t.Run("refusal names the option", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/live/summary", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:4000", "Evil.Example:6060"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), `debugz.WithAllowedHosts("evil.example")`) {
			t.Errorf("rebound SSE request = %d %q; want 403 naming WithAllowedHosts", rec.Code, rec.Body.String())
		}
	})
	t.Run("custom authorizer replaces the connection check, not the Host check", func(t *testing.T) {
		// An authorizer that trusts addresses, as people write them: the
		// rebinding page's requests come from this machine's browser.
		byAddr := func(r *http.Request) bool {
			return strings.HasPrefix(r.RemoteAddr, "10.") || strings.HasPrefix(r.RemoteAddr, "127.")
		}
		for _, tt := range []struct {
			name, remote, host string
			allowed            []string
			status             int
		}{
			{"remote allowed by it", "10.1.2.3:4000", "localhost:6060", nil, 200},
			{"remote refused by it", "192.0.2.1:4000", "localhost:6060", nil, 403},
			{"DNS rebinding through it", "127.0.0.1:4000", "evil.example:6060", nil, 403},
			{"an allowed host", "10.1.2.3:4000", "debug.example.com", []string{"debug.example.com"}, 200},
			{"Host check turned off", "10.1.2.3:4000", "evil.example:6060", []string{"*"}, 200},
		} {
			h := NewHandler(newFakeSource(), view.Config{Authorize: byAddr, AllowedHosts: tt.allowed})
			req := httptest.NewRequest("GET", "/api/summary", nil)
			req.RemoteAddr, req.Host = tt.remote, tt.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("%s: GET from %s, Host %s, allowed %q = %d; want %d", tt.name, tt.remote, tt.host, tt.allowed, rec.Code, tt.status)
			}
		}
	})
}

// TestAccessOverRealServers: the same checks on real listeners, as
// net/http fills in the addresses: a Unix socket is served; a TCP listener
// on a non-loopback address is refused whatever X-Forwarded-For says, even
// behind a middleware that rewrites RemoteAddr from it.
func TestAccessOverRealServers(t *testing.T) {
	realIP := func(next http.Handler) http.Handler { // what chi's middleware.RealIP does
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ip := r.Header.Get("X-Forwarded-For"); ip != "" {
				r.RemoteAddr = ip
			}
			next.ServeHTTP(w, r)
		})
	}
	h := realIP(NewHandler(newFakeSource(), view.Config{}))

	sock := filepath.Join(t.TempDir(), "debugz.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	us := &http.Server{Handler: h}
	go us.Serve(ul)
	defer us.Close()
	uc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := uc.Get("http://localhost/api/summary")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET over a Unix socket = %d; want 200", resp.StatusCode)
	}

	// A non-loopback address of this machine, if it has one.
	var public netip.Addr
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				public = p.Addr()
				break
			}
		}
	}
	if !public.IsValid() {
		t.Log("no non-loopback IPv4 address: the TCP case is covered by TestAccessByDefault only")
		return
	}
	tl, err := net.Listen("tcp", net.JoinHostPort(public.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	ts := &http.Server{Handler: h}
	go ts.Serve(tl)
	defer ts.Close()
	req, _ := http.NewRequest("GET", "http://"+tl.Addr().String()+"/api/summary", nil)
	req.Header.Set("X-Forwarded-For", "127.0.0.1:1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("GET on %s with X-Forwarded-For 127.0.0.1 behind RealIP = %d; want 403", tl.Addr(), resp.StatusCode)
	}
}
