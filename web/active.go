package web

import (
	"net/http"

	"github.com/debugz/debugz/internal/view"
)

// maxActiveRows bounds the in-flight views (/active, /live/active and
// /api/active): the oldest calls, then how many more. With 10,000 calls in
// flight the whole table was 5.8 MB, sent again to every viewer each second.
const maxActiveRows = 100

// activePage lists the RPCs in flight at "/active".
type activePage struct {
	page
	Active []view.Active // the oldest, at most maxActiveRows
	Total  int           // in flight in all
}

// More is how many calls in flight the page does not list.
func (p activePage) More() int { return p.Total - len(p.Active) }

// activePage is the in-flight page of r. Its rows hold times (a call's
// start, its deadline), not durations from now: the page's script counts
// from them, and the live fragment changes only when the calls do.
func (h *handler) activePage(r *http.Request) activePage {
	p := h.newPage(r, "In flight", "active")
	p.Live = p.Base + "live/active"
	act, total := h.src.Active(maxActiveRows)
	return activePage{page: p, Active: act, Total: total}
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
	act, total := h.src.Active(maxActiveRows)
	out := struct {
		Active []activeJSON `json:"active"`
		Total  int          `json:"total"` // in flight in all; active lists the oldest 100
	}{Active: make([]activeJSON, 0, len(act)), Total: total}
	for _, a := range act {
		aj := activeJSON{Active: a, Elapsed: int64(now.Sub(a.Start))}
		if a.ProgressKnown {
			aj.MessagesSent, aj.MessagesReceived = &a.Sent, &a.Received
		}
		out.Active = append(out.Active, aj)
	}
	h.writeJSON(w, r, http.StatusOK, out)
}
