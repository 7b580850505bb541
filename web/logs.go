package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/a-h/templ"
)

// The logs page at "/logs" and "/api/logs": the latest records the
// service's handlers logged (through the root's LogHandler), RPC or not,
// newest first, filtered by level, method, trace and text.

var (
	logLevels = []string{"DEBUG", "INFO", "WARN", "ERROR"}
	logParams = []string{"level", "method", "trace", "text", "since", "limit"}
)

// parseLogQuery reads a LogQuery; strictQuery has checked which parameters
// are given.
func parseLogQuery(v url.Values, now time.Time) (view.LogQuery, *paramError) {
	q := view.LogQuery{Method: strings.TrimPrefix(strings.TrimSpace(v.Get("method")), "/"), Text: v.Get("text"), Limit: defaultLimit}
	switch l := strings.ToUpper(v.Get("level")); l {
	case "", "DEBUG", "INFO", "WARN", "ERROR":
		q.Level = l
	default:
		return q, badParam("level", "must be one of %s, not %s", strings.Join(logLevels, ", "), quote(v.Get("level")))
	}
	var err *paramError
	if q.Trace, err = parseTrace(v); err != nil {
		return q, err
	}
	if q.Since, err = parseSince(v, now); err != nil {
		return q, err
	}
	if q.Limit, err = parseLimit(v); err != nil {
		return q, err
	}
	return q, nil
}

// logsPage is "/logs".
type logsPage struct {
	page
	Query     view.LogQuery
	SinceText string // the since parameter as the user typed it
	Logs      []view.LogEntry
}

func (h *handler) logsPage(r *http.Request) (logsPage, *paramError) {
	q, err := parseLogQuery(r.URL.Query(), h.cfg.Now())
	if err != nil {
		return logsPage{}, err
	}
	p := h.newPage(r, "Logs", "logs")
	p.Live, p.Hold = p.Base+"live/logs?"+r.URL.Query().Encode(), true
	p.Window = r.URL.Query().Get("since") // kept by the tabs when it is one of the summary's windows
	return logsPage{page: p, Query: q, SinceText: r.URL.Query().Get("since"), Logs: h.src.Logs(q)}, nil
}

func (h *handler) logs(w http.ResponseWriter, r *http.Request) {
	p, err := h.logsPage(r)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, logsView(p))
}

func (h *handler) logsFragment(r *http.Request) (func() templ.Component, *paramError) {
	if _, err := h.logsPage(r); err != nil {
		return nil, err
	}
	d := detach(r)
	return func() templ.Component {
		p, _ := h.logsPage(d)
		return logsTable(p)
	}, nil
}

func (h *handler) apiLogs(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	follow, err := parseFollow(v)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	q, err := parseLogQuery(v, h.cfg.Now())
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	if follow {
		q.Since = time.Time{} // a follow sends what is logged from now on
		h.followLogs(w, r, q)
		return
	}
	out := struct {
		AsOf time.Time   `json:"as_of"`
		Logs []entryJSON `json:"logs"`
	}{AsOf: h.cfg.Now(), Logs: []entryJSON{}}
	for _, l := range h.src.Logs(q) {
		out.Logs = append(out.Logs, toEntryJSON(l))
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// entryJSON is a log record in /api/logs.
type entryJSON struct {
	Time       time.Time      `json:"time"`
	Level      string         `json:"level"`
	Message    string         `json:"message"`
	Attributes map[string]any `json:"attributes"`
	TraceID    string         `json:"trace_id,omitempty"`
	SpanID     string         `json:"span_id,omitempty"`
	SpanName   string         `json:"span_name,omitempty"`
	Method     string         `json:"method,omitempty"`
}

func toEntryJSON(l view.LogEntry) entryJSON {
	return entryJSON{Time: l.Time, Level: l.Level, Message: l.Message, Attributes: attrsJSON(l.Attrs),
		TraceID: l.TraceID, SpanID: l.SpanID, SpanName: l.SpanName, Method: l.Method}
}

// loggedIn is the name of the span a record was logged in, to show beside
// its call's method; "" when it is the call's own span (or outside any).
func loggedIn(l view.LogEntry) string {
	if strings.TrimPrefix(l.SpanName, "/") == l.Method {
		return ""
	}
	return l.SpanName
}
