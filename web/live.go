package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// Live pages: /live/summary, /live/spans and /live/active are Server-Sent
// Event streams. Each event's data is the page's live fragment rendered by
// templ (so escaped like the page), sent at once and then every interval,
// until the client goes away. debugz.js swaps it into the page.

func (h *handler) liveSummary(w http.ResponseWriter, r *http.Request) {
	if _, err := h.summaryPage(r); err != nil {
		h.badRequest(w, r, err)
		return
	}
	h.stream(w, r, func() templ.Component {
		p, _ := h.summaryPage(r)
		return summaryTable(p)
	})
}

func (h *handler) liveSpans(w http.ResponseWriter, r *http.Request) {
	if _, err := h.spansPage(r); err != nil {
		h.badRequest(w, r, err)
		return
	}
	h.stream(w, r, func() templ.Component {
		p, _ := h.spansPage(r)
		return spansTable(p)
	})
}

func (h *handler) liveActive(w http.ResponseWriter, r *http.Request) {
	h.stream(w, r, func() templ.Component { return activeTable(h.activePage(r)) })
}

func (h *handler) stream(w http.ResponseWriter, r *http.Request, next func() templ.Component) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(h.interval)
	defer tick.Stop()
	var buf, prev bytes.Buffer
	for {
		buf.Reset()
		if err := next().Render(r.Context(), &buf); err != nil {
			return
		}
		if !bytes.Equal(buf.Bytes(), prev.Bytes()) { // send only what changed
			if _, err := w.Write(sseEvent(buf.String())); err != nil {
				return
			}
			prev.Reset()
			prev.Write(buf.Bytes())
		} else if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
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

// follow streams spans matching q that end after the request began, as
// NDJSON, oldest first, until the client goes away.
func (h *handler) follow(w http.ResponseWriter, r *http.Request, q Query) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	q.Limit = maxLimit
	seen := map[string]bool{}
	for _, s := range h.src.Spans(q) {
		seen[s.SpanID] = true
	}
	enc := json.NewEncoder(w)
	tick := time.NewTicker(h.interval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		spans := h.src.Spans(q)
		now := make(map[string]bool, len(spans))
		for _, s := range slices.Backward(spans) {
			now[s.SpanID] = true
			if !seen[s.SpanID] {
				if err := enc.Encode(toSpanJSON(s)); err != nil {
					return
				}
			}
		}
		seen = now // bounded by the result set
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
