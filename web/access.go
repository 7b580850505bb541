package web

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Who may read the pages. Unless Config.Authorize replaces it, a request is
// served when both hold:
//
//   - Its connection is local: a Unix socket, or TCP whose remote and local
//     addresses are both loopback. The local address is the one net/http
//     puts in the request's context (http.LocalAddrContextKey): a middleware
//     that rewrites RemoteAddr from X-Forwarded-For (chi's RealIP) cannot
//     make a request that arrived on a public address look local.
//   - Its Host names this machine: localhost (or a name under .localhost),
//     a loopback address, the address the request arrived on, or a name in
//     Config.AllowedHosts, with any port. A page on another site that
//     rebinds its name to 127.0.0.1 (DNS rebinding) sends its own name as
//     the Host, and is refused.

// localConnection reports whether r came over a local connection.
func localConnection(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	switch {
	case !ok:
		// Served without net/http's server (a test recorder, a custom
		// transport): the remote address is all there is.
	case a.Network() == "unix" || a.Network() == "unixpacket":
		return true // a peer on this machine; its RemoteAddr is "@" or ""
	case !loopback(a.String()):
		return false
	}
	return loopback(r.RemoteAddr)
}

// loopback reports whether addr, "host:port" or a bare host, is a loopback IP.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// hostAllowed reports whether r's Host names this machine or one of allowed.
func hostAllowed(r *http.Request, allowed []string) bool {
	if r.Host == "" {
		return true // HTTP/1.0 without Host: not a browser
	}
	host := hostname(r.Host)
	switch {
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		return true // browsers resolve these to loopback themselves
	case loopback(host):
		return true
	case slices.ContainsFunc(allowed, func(a string) bool { return hostname(a) == host }):
		return true
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if local, _, err := net.SplitHostPort(a.String()); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().String() == unmapped(local) {
				return true // the address the request arrived on
			}
		}
	}
	return false
}

// hostname is the lowercase host of a Host header or an allowed name, without
// port, brackets or a trailing dot.
func hostname(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

func unmapped(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return a.Unmap().String()
}

// authorize applies Config.Authorize, or the default checks above.
func (h *handler) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case h.cfg.Authorize != nil:
			if !h.cfg.Authorize(r) {
				refuse(w, "debugz refused this request: the handler's authorizer did not allow it.\n")
				return
			}
		case !localConnection(r):
			refuse(w, "debugz serves only requests over a local connection (loopback or a Unix socket).\n"+
				"Forwarding headers do not count. To serve others, use debugz.WithAuthorizer.\n")
			return
		case !hostAllowed(r, h.cfg.AllowedHosts):
			refuse(w, "debugz refused Host "+quote(r.Host)+": it serves only requests addressed to this machine\n"+
				"(localhost, a loopback address, or the address it was reached on), so that a page on another site\n"+
				"cannot read it by pointing its own name at 127.0.0.1 (DNS rebinding).\n"+
				"To serve it under this name, add debugz.WithAllowedHosts("+quote(hostname(r.Host))+").\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("403 Forbidden: " + msg))
}

// sameSite refuses a request that a browser says a page of another site
// sent (Sec-Fetch-Site: cross-site), on every route: such a page can read
// nothing here, but it could open live streams, take their slots and time
// the answers. A link followed from another site is refused too; typing or
// pasting the address, a bookmark, or a link on this machine's own pages
// (same-site, any port) is not. Clients that send no Sec-Fetch-Site
// (curl, older browsers) are not affected.
func sameSite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			refuse(w, "debugz refused a request sent by a page of another site (Sec-Fetch-Site: cross-site).\n"+
				"Open the dashboard's address directly: type or paste it into the address bar.\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}
