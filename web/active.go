package web

import (
	"net/http"

	"github.com/debugz/debugz/internal/view"
)

// activePage lists the RPCs in flight at "/active".
type activePage struct {
	page
	Active []view.Active
}

// activePage is the in-flight page of r.
func (h *handler) activePage(r *http.Request) activePage {
	p := h.newPage(r, "In flight", "active")
	p.Live = p.Base + "live/active"
	return activePage{page: p, Active: h.src.Active()}
}

// active serves the in-flight page at "/active".
func (h *handler) active(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, activeView(h.activePage(r)))
}

// activeJSON is an RPC in flight at /api/active: the view's, with how long
// it has run and, when the gRPC layer says, its messages so far.
type activeJSON struct {
	view.Active
	Elapsed          int64   `json:"elapsed_ns"`
	MessagesSent     *uint64 `json:"messages_sent,omitempty"`
	MessagesReceived *uint64 `json:"messages_received,omitempty"`
}

// apiActive serves /api/active (docs/api.md).
func (h *handler) apiActive(w http.ResponseWriter, r *http.Request) {
	now := h.cfg.Now()
	act := h.src.Active()
	out := struct {
		Active []activeJSON `json:"active"`
	}{Active: make([]activeJSON, 0, len(act))}
	for _, a := range act {
		aj := activeJSON{Active: a, Elapsed: int64(now.Sub(a.Start))}
		if a.ProgressKnown {
			aj.MessagesSent, aj.MessagesReceived = &a.Sent, &a.Received
		}
		out.Active = append(out.Active, aj)
	}
	h.writeJSON(w, r, http.StatusOK, out)
}
