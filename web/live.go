package web

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/a-h/templ"
)

// Live pages: /live/summary, /live/spans, /live/active and /live/logs are
// Server-Sent Event streams. Each event's data is the page's live fragment
// rendered by templ (so escaped like the page), sent at once and then
// whenever it changed, until the client goes away. debugz.js swaps it into
// the page.

func (h *handler) liveSummary(w http.ResponseWriter, r *http.Request) {
	if _, err := h.summaryPage(r); err != nil {
		h.badRequest(w, r, err)
		return
	}
	d := detach(r)
	h.live(w, r, func() templ.Component {
		p, _ := h.summaryPage(d)
		return summaryTable(p)
	})
}

func (h *handler) liveSpans(w http.ResponseWriter, r *http.Request) {
	if _, err := h.spansPage(r); err != nil {
		h.badRequest(w, r, err)
		return
	}
	d := detach(r)
	h.live(w, r, func() templ.Component {
		p, _ := h.spansPage(d)
		return spansTable(p)
	})
}

func (h *handler) liveActive(w http.ResponseWriter, r *http.Request) {
	d := detach(r)
	h.live(w, r, func() templ.Component { return activeTable(h.activePage(d)) })
}

// detach copies what a feed's renderings read of the request that started
// it: the feed outlives the request, whose router context is reused.
func detach(r *http.Request) *http.Request {
	d := r.Clone(context.Background())
	d.URL.Path = "/live/"
	return d
}

// live serves a live fragment: the feed of its view (path and query) renders
// it once per interval, whatever the number of viewers, and publishes it as
// an event when it changed.
func (h *handler) live(w http.ResponseWriter, r *http.Request, render func() templ.Component) {
	var last []byte
	h.serve(w, r, r.URL.Path+"?"+r.URL.Query().Encode(), true, func(buf *bytes.Buffer) (uint64, error) {
		if err := render().Render(context.Background(), buf); err != nil || bytes.Equal(buf.Bytes(), last) {
			return 0, err
		}
		last = bytes.Clone(buf.Bytes())
		buf.Reset()
		buf.Write(sseEvent(string(last)))
		return 1, nil
	})
}

// sseEvent frames data as one Server-Sent Event, a data: line per line.
func sseEvent(data string) []byte {
	// A lone \r ends an SSE line too; a value holding one must not end the
	// data line early (or start a field of its own).
	data = strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
	var b strings.Builder
	for line := range strings.Lines(data) {
		b.WriteString("data: ")
		b.WriteString(strings.TrimRight(line, "\r\n"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return []byte(b.String())
}
