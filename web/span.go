package web

import (
	"cmp"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/view"
	"github.com/go-chi/chi/v5"
)

// spanPage is one span at "/spans/{spanID}".
type spanPage struct {
	page
	Span     view.Span
	Buckets  []time.Duration
	Parent   *view.Span  // its parent, when retained
	Children []view.Span // its children retained, by start
	// StacksOffered is the number of goroutines when a running call's page
	// offers its stacks (a link to ?stacks=1) instead of taking them; 0
	// when it took them or the call is not running.
	StacksOffered int
}

// defaultStacksAbove is view.Config.StacksAbove's default: with more
// goroutines than this, a running call's page offers its stacks instead of
// taking them (a dump of 25,000 goroutines takes about half a second of CPU).
const defaultStacksAbove = 10_000

// stacks adds a running span's goroutines to it when the request asks for
// them (?stacks=1) or, for a page (page true), when the process has no more
// goroutines than Config.StacksAbove; it returns the number of goroutines
// when it did not take them for a page. The JSON API takes them only when
// asked.
func (h *handler) stacks(r *http.Request, s *view.Span, page bool) (offered int, err *paramError) {
	var asked bool
	switch v := r.URL.Query().Get("stacks"); v {
	case "", "0", "false":
	case "1", "true":
		asked = true
	default:
		return 0, badParam("stacks", "must be 1 or 0, not %s", quote(v))
	}
	if !s.Running {
		return 0, nil
	}
	if !asked {
		if !page {
			return 0, nil
		}
		limit := cmp.Or(h.cfg.StacksAbove, defaultStacksAbove)
		if n := runtime.NumGoroutine(); n > limit || limit < 0 {
			return n, nil
		}
	}
	s.Goroutines, s.GoroutinesAt = h.src.Goroutines(s.SpanID)
	return 0, nil
}

// related finds s's parent and children in its trace t.
func related(s view.Span, t view.Trace) (parent *view.Span, children []view.Span) {
	for i := range t.Spans {
		switch c := &t.Spans[i]; {
		case c.SpanID == s.ParentSpanID && s.ParentSpanID != "":
			parent = c
		case c.ParentSpanID == s.SpanID && c.SpanID != s.SpanID:
			children = append(children, *c)
		}
	}
	return parent, children
}

// otherSide reports whether o is the other side of the call s: the same
// method, one a client span and the other a server span.
func otherSide(s, o view.Span) bool {
	return s.Method != "" && s.Method == o.Method && s.Kind != o.Kind &&
		(s.Kind == "client" || s.Kind == "server") && (o.Kind == "client" || o.Kind == "server")
}

// tick is one message on a span's message timeline, placed on 0–1000.
type tick struct {
	X     string
	Sent  bool
	Title string
}

// messageTicks places the span's message events on its duration.
func messageTicks(s view.Span) []tick {
	var out []tick
	for _, e := range s.Events {
		if e.Message == "" {
			continue
		}
		t := tick{Sent: e.Message == "SENT", Title: fmtOffset(e.Offset) + " " + e.Message}
		if e.MessageID != "" {
			t.Title += " #" + e.MessageID
		}
		if e.MessageSize != "" {
			t.Title += " " + e.MessageSize + " B"
		}
		x := 0.0
		if s.Duration > 0 {
			x = min(max(1000*float64(e.Offset)/float64(s.Duration), 0), 1000)
		}
		t.X = strconv.Itoa(int(x))
		out = append(out, t)
	}
	return out
}

// eventRow is a row of the span page's timeline: an event, with the
// messages of its direction the timeline skipped since the previous one of
// that direction, or a log line (Log), with the records not kept before it.
type eventRow struct {
	view.Event
	Unrecorded int
	Log        *view.LogLine
	NotKept    int
}

// eventRows merges s's events and log lines in time order. The message
// timeline keeps the first and last messages of each direction, so message
// 8 may be followed by message 108: that row says how many are missing;
// likewise the first log line kept after the skipped ones.
func eventRows(s view.Span) []eventRow {
	last := map[string]int{} // direction → the previous message ID
	out := make([]eventRow, 0, len(s.Events)+len(s.Logs))
	for _, e := range s.Events {
		r := eventRow{Event: e}
		if id, err := strconv.Atoi(e.MessageID); e.Message != "" && err == nil {
			if prev, ok := last[e.Message]; ok && id > prev+1 {
				r.Unrecorded = id - prev - 1
			}
			last[e.Message] = id
		}
		out = append(out, r)
	}
	for i := range s.Logs {
		r := eventRow{Event: view.Event{Time: s.Logs[i].Time, Offset: s.Logs[i].Offset}, Log: &s.Logs[i]}
		if i == logsSkippedAt(s) {
			r.NotKept = s.LogsSkipped
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b eventRow) int { return cmp.Compare(a.Offset, b.Offset) })
	return out
}

// attrText is an attribute's value for people: a count of nanoseconds (a key
// ending in _ns, such as debugz.deadline.budget_ns) also as a duration.
func attrText(a view.Attr) string {
	if a.Type == "int64" && strings.HasSuffix(a.Key, "_ns") {
		if ns, err := strconv.ParseInt(a.Value, 10, 64); err == nil {
			return fmtDuration(time.Duration(ns)) + " (" + a.Value + " ns)"
		}
	}
	return a.Value
}

// logsSkippedAt is the index of the first log line kept after the skipped
// ones: where the "not kept" row goes; -1 when none were skipped.
func logsSkippedAt(s view.Span) int {
	if s.LogsSkipped == 0 {
		return -1
	}
	return 8 // the first 8 are kept, then the last ones
}

// levelClass is the CSS class of a log level: warnings and errors stand out.
func levelClass(level string) string {
	switch {
	case strings.HasPrefix(level, "ERROR"):
		return "code err"
	case strings.HasPrefix(level, "WARN"):
		return "code warn"
	}
	return "code none"
}

// lookupSpan validates the {spanID} path parameter and finds the span.
func (h *handler) lookupSpan(w http.ResponseWriter, r *http.Request) (view.Span, bool) {
	id, err := parseID(chi.URLParam(r, "spanID"), 8)
	if err != nil {
		h.badRequest(w, r, badParam("spanID", "%s", err))
		return view.Span{}, false
	}
	s, ok := h.src.Span(id)
	if !ok {
		h.fail(w, r, http.StatusNotFound, notRetained("span "+id))
	}
	return s, ok
}

// span serves one span at "/spans/{spanID}".
func (h *handler) span(w http.ResponseWriter, r *http.Request) {
	s, ok := h.lookupSpan(w, r)
	if !ok {
		return
	}
	p := h.newPage(r, cmp.Or(s.Method, s.Name), "")
	sp := spanPage{page: p, Span: s, Buckets: h.cfg.Buckets}
	var err *paramError
	if sp.StacksOffered, err = h.stacks(r, &sp.Span, true); err != nil {
		h.badRequest(w, r, err)
		return
	}
	if t, ok := h.src.Trace(s.TraceID); ok {
		sp.Parent, sp.Children = related(s, t)
	}
	h.render(w, r, http.StatusOK, spanView(sp))
}

// apiSpan serves /api/spans/{spanID} (docs/api.md).
func (h *handler) apiSpan(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.lookupSpan(w, r); ok {
		if _, err := h.stacks(r, &s, false); err != nil {
			h.badRequest(w, r, err)
			return
		}
		out := spanDetailJSON{spanJSON: toSpanJSON(s), Resource: attrsJSON(s.Resource),
			Scope: scopeJSON{Name: s.Scope, Version: s.ScopeVersion}, StatusDetails: []statusDetailJSON{}, Logs: []logJSON{}, LogsSkipped: s.LogsSkipped}
		for _, d := range s.StatusDetails {
			out.StatusDetails = append(out.StatusDetails, statusDetailJSON(d))
		}
		for _, l := range s.Logs {
			out.Logs = append(out.Logs, logJSON{Time: l.Time, Level: l.Level, Message: l.Message, Attributes: attrsJSON(l.Attrs), SpanID: l.SpanID})
		}
		for _, g := range s.Goroutines {
			out.Goroutines = append(out.Goroutines, goroutineJSON{Count: g.Count, Frames: g.Frames})
		}
		h.writeJSON(w, r, http.StatusOK, out)
	}
}

// spanDetailJSON is one span at /api/spans/{spanID}: what the list gives,
// and the resource and instrumentation scope the span page shows.
type spanDetailJSON struct {
	spanJSON
	Resource      map[string]any     `json:"resource"`
	Scope         scopeJSON          `json:"scope"`
	StatusDetails []statusDetailJSON `json:"status_details"`       // the error status's details, in their order
	Logs          []logJSON          `json:"logs"`                 // what its handlers logged, oldest first
	LogsSkipped   int                `json:"logs_skipped"`         // logged between the first and the last kept
	Goroutines    []goroutineJSON    `json:"goroutines,omitempty"` // a running call's stacks, with ?stacks=1 only
}

// goroutineJSON is a stack that Count goroutines of a running call share.
type goroutineJSON struct {
	Count  int      `json:"count"`
	Frames []string `json:"frames"` // innermost first, "function\n\tfile:line"
}

// statusDetailJSON is one detail of a span's error status.
type statusDetailJSON struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// scopeJSON is a span's instrumentation scope.
type scopeJSON struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// logJSON is a log record of a call.
type logJSON struct {
	Time       time.Time      `json:"time"`
	Level      string         `json:"level"`
	Message    string         `json:"message"`
	Attributes map[string]any `json:"attributes"`
	SpanID     string         `json:"span_id"`
}
