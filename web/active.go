package web

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"time"

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

// active serves the in-flight page at "/active". While more calls are in
// flight than it lists, one rendering serves every request of the same
// path for a second (the Source shares its read of them that long too), so
// that 100 people reloading it cost one rendering a second, not 100.
func (h *handler) active(w http.ResponseWriter, r *http.Request) {
	body, err := h.activeHTML.load(r.URL.Path, time.Now(), func() ([]byte, bool, error) {
		var buf bytes.Buffer
		p := h.activePage(r)
		err := activeView(p).Render(r.Context(), &buf)
		return buf.Bytes(), p.More() > 0, err
	})
	if err != nil {
		h.report(fmt.Errorf("debugz: render %s: %w", r.URL.Path, err))
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // an error means the client went away
}

// sharedPage is a rendered page that serves every request of its path for
// up to a second.
type sharedPage struct {
	mu   sync.Mutex // held while rendering: one rendering at a time
	path string
	at   time.Time
	body []byte // read-only once stored
}

// load returns the page of path rendered less than a second before now, or
// else renders it, and keeps it when render says to share it.
func (s *sharedPage) load(path string, now time.Time, render func() (body []byte, share bool, err error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.body != nil && s.path == path && now.Sub(s.at) < time.Second && !now.Before(s.at) {
		return s.body, nil
	}
	body, share, err := render()
	s.path, s.at, s.body = "", time.Time{}, nil
	if share && err == nil {
		s.path, s.at, s.body = path, now, body
	}
	return body, err
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
