// Package access decides who may read debug pages: the check in front of
// debugz's handler (web), and in front of any other handler through
// debugz.LocalOnly (pprof, expvar), so that both refuse the same requests.
package access

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/debugz/debugz/internal/textcut"
)

// Who may read. A request is served when both hold:
//
//   - Authorize allows it; without one, its connection is local: a Unix
//     socket, or TCP whose remote and local addresses are both loopback.
//     The local address is the one net/http puts in the request's context
//     (http.LocalAddrContextKey): a middleware that rewrites RemoteAddr from
//     X-Forwarded-For (chi's RealIP) cannot make a request that arrived on
//     a public address look local.
//   - Its Host names this machine: localhost (or a name under .localhost),
//     a loopback address, the address the request arrived on, or a name in
//     AllowedHosts, with any port; AllowedHosts "*" accepts any. A page on
//     another site that rebinds its name to 127.0.0.1 (DNS rebinding) sends
//     its own name as the Host, and is refused. An authorizer does not
//     lift this check: one that looks at the remote address would let such
//     a page in, since the browser connects from this machine.

// Policy is who may read; its zero value is the default checks above.
type Policy struct {
	Authorize    func(*http.Request) bool // nil: a local connection
	AllowedHosts []string                 // more names for the Host check; "*": any
	// Options names the options that change the policy in refusals
	// (debugz.NewHandler's); false for debugz.LocalOnly, which has none.
	Options bool
}

// AnyHost is the AllowedHosts entry that turns the Host check off.
const AnyHost = "*"

// Wrap returns next behind the policy: a request it refuses gets 403 and a
// text saying why.
func (p Policy) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := p.Refusal(r); why != "" {
			refuse(w, why)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Refusal is why r is refused, "" when it may be served.
func (p Policy) Refusal(r *http.Request) string {
	switch {
	case r.Header.Get("Sec-Fetch-Site") == "cross-site":
		// A page of another site sent it (the browser says so): such a page
		// can read nothing here, but it could open live streams, take their
		// slots and time the answers. A link followed from another site is
		// refused too; typing or pasting the address, a bookmark, or a link
		// on this machine's own pages (same-site, any port) is not. Clients
		// that send no Sec-Fetch-Site (curl, older browsers) are not affected.
		return "debugz refused a request sent by a page of another site (Sec-Fetch-Site: cross-site).\n" +
			"Open the dashboard's address directly: type or paste it into the address bar.\n"
	case p.Authorize != nil && !p.Authorize(r):
		return "debugz refused this request: the handler's authorizer did not allow it.\n"
	case p.Authorize == nil && !localConnection(r):
		why := "debugz serves only requests over a local connection (loopback or a Unix socket).\n" +
			"Forwarding headers do not count."
		if p.Options {
			why += " To serve others, use debugz.WithAuthorizer."
		}
		return why + "\n"
	case !hostAllowed(r, p.AllowedHosts):
		why := "debugz refused Host " + quote(r.Host) + ": it serves only requests addressed to this machine\n" +
			"(localhost, a loopback address, or the address it was reached on), so that a page on another site\n" +
			"cannot read it by pointing its own name at 127.0.0.1 (DNS rebinding).\n"
		if p.Options {
			why += "To serve it under this name, add debugz.WithAllowedHosts(" + quote(hostname(r.Host)) + ").\n"
		}
		return why
	}
	return ""
}

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
	case slices.ContainsFunc(allowed, func(a string) bool { return a == AnyHost || hostname(a) == host }):
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

// quote quotes s for a refusal, at most 64 bytes of it.
func quote(s string) string {
	if c := textcut.Prefix(s, 64); len(c) < len(s) {
		return strconv.Quote(c) + "…"
	}
	return strconv.Quote(s)
}

func refuse(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("403 Forbidden: " + msg))
}
