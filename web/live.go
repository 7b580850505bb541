package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
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
	d := detach(r)
	h.stream(w, r, func() templ.Component {
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
	h.stream(w, r, func() templ.Component {
		p, _ := h.spansPage(d)
		return spansTable(p)
	})
}

func (h *handler) liveActive(w http.ResponseWriter, r *http.Request) {
	d := detach(r)
	h.stream(w, r, func() templ.Component { return activeTable(h.activePage(d)) })
}

// detach copies what a feed's renderings read of the request that started
// it: the feed outlives the request, whose router context is reused.
func detach(r *http.Request) *http.Request {
	d := r.Clone(context.Background())
	d.URL.Path = "/live/"
	return d
}

// maxStreams caps the live streams (SSE and follow) one handler serves at
// once; one more is refused with 503 and Retry-After. writeTimeout is how
// long one write may take before a stalled reader is dropped.
const (
	maxStreams   = 100
	retryAfter   = "10"
	writeTimeout = 10 * time.Second
	keepAlive    = 15 // ticks between keep-alive comments on a quiet stream
)

// admit counts a new live stream, or answers 503 when maxStreams are open.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if h.streams.Add(1) > maxStreams {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", retryAfter)
		h.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf(
			"debugz serves at most %d live streams at once; this one was refused. The page itself still loads: reload it later, or close other debugz tabs.", maxStreams))
		return nil, false
	}
	return func() { h.streams.Add(-1) }, true
}

// startStream sets a stream's headers and admits it. A HEAD request gets
// the headers alone, a stream past the cap a 503: then ok is false. release
// frees the stream's place when it ends.
func (h *handler) startStream(w http.ResponseWriter, r *http.Request, contentType string) (release func(), ok bool) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead { // the headers a GET would have; no stream
		return nil, false
	}
	return h.admit(w, r)
}

// write sends b and flushes it within writeTimeout: a reader that does not
// read is dropped, and never holds a handler goroutine for good.
func (h *handler) write(rc *http.ResponseController, w http.ResponseWriter, b []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(h.writeTimeout)) // unsupported by some writers (tests): then none
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
}

// stream serves one live fragment as Server-Sent Events: the fragment of
// every stream of the same view (path and query) is rendered once per tick
// by a shared feed, whatever the number of viewers, and sent to each only
// when it changed.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, render func() templ.Component) {
	w.Header().Set("Cache-Control", "no-cache")
	release, ok := h.startStream(w, r, "text/event-stream")
	if !ok {
		return
	}
	defer release()
	f := h.feeds.join(r.URL.Path+"?"+r.URL.Query().Encode(), h.interval, render)
	defer h.feeds.leave(f)
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	var sent uint64
	quiet := 0
	for {
		data, version, changed := f.latest()
		if version != sent && data != nil {
			if err := h.write(rc, w, sseEvent(string(data))); err != nil {
				return
			}
			sent, quiet = version, 0
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-time.After(h.interval):
			if quiet++; quiet >= keepAlive {
				if err := h.write(rc, w, []byte(": keep-alive\n\n")); err != nil {
					return
				}
				quiet = 0
			}
		}
	}
}

// feeds are the shared renderings of live views, one per view that has
// viewers.
type feeds struct {
	mu sync.Mutex
	m  map[string]*feed
}

// feed renders one view once per interval while it has viewers, and keeps
// the latest rendering for all of them.
type feed struct {
	key     string
	viewers int // guarded by feeds.mu
	stop    chan struct{}

	mu      sync.Mutex
	data    []byte
	version uint64
	changed chan struct{} // closed when version advances
}

func (fs *feeds) join(key string, interval time.Duration, render func() templ.Component) *feed {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[string]*feed{}
	}
	f := fs.m[key]
	if f == nil {
		f = &feed{key: key, stop: make(chan struct{}), changed: make(chan struct{})}
		fs.m[key] = f
		f.render(render) // the first viewer gets it at once
		go f.run(interval, render)
	}
	f.viewers++
	return f
}

func (fs *feeds) leave(f *feed) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.viewers--; f.viewers == 0 {
		delete(fs.m, f.key)
		close(f.stop)
	}
}

func (f *feed) run(interval time.Duration, render func() templ.Component) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
			f.render(render)
		}
	}
}

// render renders the view and publishes it if it changed. A panic or an
// error keeps the previous rendering.
func (f *feed) render(render func() templ.Component) {
	defer func() { _ = recover() }()
	var buf bytes.Buffer
	if err := render().Render(context.Background(), &buf); err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if bytes.Equal(buf.Bytes(), f.data) {
		return
	}
	f.data = buf.Bytes()
	f.version++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *feed) latest() (data []byte, version uint64, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.data, f.version, f.changed
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
