package web

import (
	"net/http"

	"github.com/debugz/debugz/internal/access"
)

// Who may read the pages: see package access, whose checks debugz.LocalOnly
// shares. Config.Authorize replaces the local-connection check; the Host
// check stays unless Config.AllowedHosts holds "*". A request that the
// browser says a page of another site sent (Sec-Fetch-Site: cross-site) is
// refused whatever the options.

// authorize applies Config.Authorize and Config.AllowedHosts.
func (h *handler) authorize(next http.Handler) http.Handler {
	return access.Policy{Authorize: h.cfg.Authorize, AllowedHosts: h.cfg.AllowedHosts, Options: true}.Wrap(next)
}
