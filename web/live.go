package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"
)

// Live pages: /live/summary, /live/spans, /live/active and /live/logs are
// Server-Sent Event streams. Each event's data is the page's live fragment
// rendered by templ (so escaped like the page), sent at once and then
// whenever it changed, until the client goes away. debugz.js swaps it into
// the page.
//
// /live/shared?v=summary%3Fsort%3Dcount&v=spans carries several of them on
// one stream, each v a fragment's name and query, its events named by the
// index of its v ("0", "1", …). The tabs of one browser share one such
// stream (static/live.js, a SharedWorker), so however many tabs are open
// they hold one of the browser's six connections to the host, not one each.

// fragment checks the query of a live fragment's request and returns what
// renders it.
type fragment func(r *http.Request) (render func() templ.Component, err *paramError)

// liveView is a live fragment and the parameters it takes.
type liveView struct {
	params []string
	f      fragment
}

// fragments are the live fragments by name.
func (h *handler) fragments() map[string]liveView {
	return map[string]liveView{
		"summary": {summaryParams, h.summaryFragment},
		"spans":   {queryParams, h.spansFragment},
		"active":  {nil, h.activeFragment},
		"logs":    {logParams, h.logsFragment},
	}
}

func (h *handler) summaryFragment(r *http.Request) (func() templ.Component, *paramError) {
	if _, err := h.summaryPage(r); err != nil {
		return nil, err
	}
	d := detach(r)
	return func() templ.Component {
		p, _ := h.summaryPage(d)
		return summaryTable(p)
	}, nil
}

func (h *handler) spansFragment(r *http.Request) (func() templ.Component, *paramError) {
	if _, err := h.spansPage(r); err != nil {
		return nil, err
	}
	d := detach(r)
	return func() templ.Component {
		p, _ := h.spansPage(d)
		return spansTable(p)
	}, nil
}

func (h *handler) activeFragment(r *http.Request) (func() templ.Component, *paramError) {
	d := detach(r)
	return func() templ.Component { return activeTable(h.activePage(d)) }, nil
}

// detach copies what a feed's renderings read of the request that started
// it: the feed outlives the request, whose router context is reused.
func detach(r *http.Request) *http.Request {
	d := r.Clone(context.Background())
	d.URL.Path = "/live/"
	return d
}

// live serves the live fragment name alone.
func (h *handler) live(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		render, err := h.fragments()[name].f(r)
		if err != nil {
			h.badRequest(w, r, err)
			return
		}
		h.serve(w, r, true, false, h.liveSource(name, r.URL.Query(), render))
	}
}

// liveShared serves the fragments named by the v parameters on one stream.
func (h *handler) liveShared(w http.ResponseWriter, r *http.Request) {
	srcs, err := h.sharedSources(r)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	h.serve(w, r, true, true, srcs...)
}

// sharedSources reads the views of a shared stream: one to maxSharedViews v
// parameters, each a fragment's name and its query.
func (h *handler) sharedSources(r *http.Request) ([]source, *paramError) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, malformedQuery(r.URL.RawQuery)
	}
	for name := range v {
		if name != "v" {
			return nil, &paramError{Param: cut(name), Msg: "unknown parameter: this stream takes only v"}
		}
	}
	views := v["v"]
	if len(views) == 0 || len(views) > maxSharedViews {
		return nil, badParam("v", "given %d times; give it 1 to %d times, once per live view", len(views), maxSharedViews)
	}
	fragments := h.fragments()
	var srcs []source
	for _, view := range views {
		if len(view) > 4*maxParamLen {
			return nil, badParam("v", "longer than %d bytes", 4*maxParamLen)
		}
		name, query, _ := strings.Cut(view, "?")
		fr, ok := fragments[name]
		if !ok {
			return nil, badParam("v", "%s is not a live view: give summary, spans, active or logs, with its query", quote(cut(name)))
		}
		d := detach(r)
		d.URL.RawQuery = query
		if err := strictQuery(d, fr.params); err != nil {
			return nil, badParam("v", "%s: %s", name, err.Error())
		}
		render, err := fr.f(d)
		if err != nil {
			return nil, badParam("v", "%s: %s", name, err.Error())
		}
		srcs = append(srcs, h.liveSource(name, d.URL.Query(), render))
	}
	return srcs, nil
}

// liveSource is the feed of a live fragment: it renders the fragment once
// per interval, whatever the number of viewers, and publishes it as an event
// when it changed. The key is the fragment's name and query, whatever stream
// asked for it.
func (h *handler) liveSource(name string, q url.Values, render func() templ.Component) source {
	var last []byte
	return source{key: "/live/" + name + "?" + q.Encode(), snapshot: true, read: func(buf *bytes.Buffer) (uint64, error) {
		if err := render().Render(context.Background(), buf); err != nil || bytes.Equal(buf.Bytes(), last) {
			return 0, err
		}
		last = bytes.Clone(buf.Bytes())
		buf.Reset()
		buf.Write(sseEvent(string(last)))
		return 1, nil
	}}
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
