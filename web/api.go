package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// summaryJSON is /api/summary (docs/api.md): the view's summary, with the
// time of the answer and the process that gave it.
type summaryJSON struct {
	AsOf    time.Time    `json:"as_of"`
	Process view.Process `json:"process"`
	view.Summary
	Methods []methodJSON `json:"methods"`
}

// methodJSON is a row of the summary with its codes as an object, code name
// to count.
type methodJSON struct {
	view.Method
	Codes map[string]uint64 `json:"codes"`
}

// spansJSON is a page of /api/spans: the newest Limit matches ending
// before the page's "before", how many retained spans match the query
// (before included), and the query of the next, older page.
type spansJSON struct {
	AsOf      time.Time  `json:"as_of"`
	Spans     []spanJSON `json:"spans"`
	Matched   int        `json:"matched"`   // retained spans matching the query
	Truncated bool       `json:"truncated"` // more match than this page holds
	Next      string     `json:"next,omitempty"`
}

type spanJSON struct {
	TraceID          string         `json:"trace_id"`
	SpanID           string         `json:"span_id"`
	ParentSpanID     string         `json:"parent_span_id"`
	Name             string         `json:"name"`
	Method           string         `json:"method"`
	Kind             string         `json:"kind"`
	Code             string         `json:"code"`
	StatusMessage    string         `json:"status_message"`
	Start            time.Time      `json:"start"`
	Duration         int64          `json:"duration_ns"`
	Peer             string         `json:"peer,omitempty"`
	Sampled          bool           `json:"sampled"`
	Truncated        bool           `json:"truncated,omitempty"`
	Attributes       map[string]any `json:"attributes"`
	Events           []eventJSON    `json:"events"`
	MessagesSent     *int64         `json:"messages_sent,omitempty"`
	MessagesReceived *int64         `json:"messages_received,omitempty"`
	BytesSent        *int64         `json:"bytes_sent,omitempty"`
	BytesReceived    *int64         `json:"bytes_received,omitempty"`
	DeadlineUsed     *float64       `json:"deadline_used,omitempty"` // present, even 0, when known
	Running          bool           `json:"running,omitempty"`       // in flight: duration_ns is so far
}

// spanDetailJSON is one span at /api/spans/{spanID}: what the list gives,
// and the resource and instrumentation scope the span page shows.
type spanDetailJSON struct {
	spanJSON
	Resource    map[string]any `json:"resource"`
	Scope       scopeJSON      `json:"scope"`
	Logs        []logJSON      `json:"logs"`         // what its handlers logged, oldest first
	LogsSkipped int            `json:"logs_skipped"` // logged between the first and the last kept
}

type logJSON struct {
	Time       time.Time      `json:"time"`
	Level      string         `json:"level"`
	Message    string         `json:"message"`
	Attributes map[string]any `json:"attributes"`
	SpanID     string         `json:"span_id"`
}

type scopeJSON struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type eventJSON struct {
	Name       string         `json:"name"`
	Time       time.Time      `json:"time"`
	Offset     int64          `json:"offset_ns"`
	Attributes map[string]any `json:"attributes"`
}

// activeJSON is an RPC in flight at /api/active: the view's, with how long
// it has run and, when the gRPC layer says, its messages so far.
type activeJSON struct {
	view.Active
	Elapsed          int64   `json:"elapsed_ns"`
	MessagesSent     *uint64 `json:"messages_sent,omitempty"`
	MessagesReceived *uint64 `json:"messages_received,omitempty"`
}

func attrsJSON(attrs []view.Attr) map[string]any {
	m := make(map[string]any, len(attrs))
	for _, a := range attrs {
		m[a.Key] = a.JSON
	}
	return m
}

func toSummaryJSON(s view.Summary, p view.Process, now time.Time) summaryJSON {
	out := summaryJSON{AsOf: now, Process: p, Summary: s, Methods: make([]methodJSON, 0, len(s.Methods))}
	for _, m := range s.Methods {
		mj := methodJSON{Method: m, Codes: make(map[string]uint64, len(m.Codes))}
		for _, c := range m.Codes {
			mj.Codes[c.Name] = c.Count
		}
		out.Methods = append(out.Methods, mj)
	}
	return out
}

func toSpanJSON(s view.Span) spanJSON {
	out := spanJSON{TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Name: s.Name,
		Method: s.Method, Kind: s.Kind, Code: s.Code, StatusMessage: s.StatusMessage, Start: s.Start,
		Duration: int64(s.Duration), Peer: s.Peer, Sampled: s.Sampled, Truncated: s.Truncated,
		Attributes: attrsJSON(s.Attributes), Events: make([]eventJSON, 0, len(s.Events))}
	if s.MessagesKnown {
		out.MessagesSent, out.MessagesReceived = &s.MessagesSent, &s.MessagesReceived
		out.BytesSent, out.BytesReceived = &s.BytesSent, &s.BytesReceived
	}
	if s.DeadlineKnown {
		out.DeadlineUsed = &s.DeadlineUsed
	}
	out.Running = s.Running
	for _, e := range s.Events {
		out.Events = append(out.Events, eventJSON{Name: e.Name, Time: e.Time, Offset: int64(e.Offset), Attributes: attrsJSON(e.Attributes)})
	}
	return out
}

func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var b []byte
	var err error
	if r.URL.Query().Has("pretty") { // for people at a terminal; programs get compact JSON
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		h.report(fmt.Errorf("debugz: encode %s: %w", r.URL.Path, err))
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // an error means the client went away
}

func (h *handler) apiSummary(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, toSummaryJSON(h.src.Summary(), h.src.Process(), h.cfg.Now()))
}

func (h *handler) apiSpans(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	follow, err := parseFollow(v)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	q, err := parseQuery(v, len(h.src.Summary().Buckets), h.near)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	if follow {
		h.follow(w, r, q)
		return
	}
	now := h.cfg.Now()
	spans := h.src.Spans(q)
	out := spansJSON{AsOf: now, Spans: make([]spanJSON, 0, len(spans)), Matched: h.src.Count(q)}
	for _, s := range spans {
		out.Spans = append(out.Spans, toSpanJSON(s))
	}
	if out.Truncated = len(spans) < out.Matched; out.Truncated && len(spans) > 0 {
		last := spans[len(spans)-1]
		out.Next = olderPage(v, last.Start.Add(last.Duration))
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

func (h *handler) apiSpan(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.lookupSpan(w, r); ok {
		out := spanDetailJSON{spanJSON: toSpanJSON(s), Resource: attrsJSON(s.Resource),
			Scope: scopeJSON{Name: s.Scope, Version: s.ScopeVersion}, Logs: []logJSON{}, LogsSkipped: s.LogsSkipped}
		for _, l := range s.Logs {
			out.Logs = append(out.Logs, logJSON{Time: l.Time, Level: l.Level, Message: l.Message, Attributes: attrsJSON(l.Attrs), SpanID: l.SpanID})
		}
		h.writeJSON(w, r, http.StatusOK, out)
	}
}

func (h *handler) apiTrace(w http.ResponseWriter, r *http.Request) {
	id, ok := h.traceID(w, r)
	if !ok {
		return
	}
	b, found, err := h.src.TraceOTLP(id)
	switch {
	case err != nil:
		h.report(fmt.Errorf("debugz: export trace %s: %w", id, err))
		h.fail(w, r, http.StatusInternalServerError, "trace "+id+" could not be encoded as OTLP JSON; the error was reported")
		return
	case !found:
		h.fail(w, r, http.StatusNotFound, notRetained("span of trace "+id))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `inline; filename="trace-`+id+`.json"`)
	_, _ = w.Write(b)
}

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

// olderPage is the query string of the page of spans that ended before end,
// the end of the last span shown, with the other parameters kept: paging
// follows end times, so spans that ended in the same nanosecond as the last
// one shown may be skipped.
func olderPage(v url.Values, end time.Time) string {
	next := url.Values{}
	for k, vs := range v {
		if k != "before" && k != "follow" {
			next[k] = vs
		}
	}
	next.Set("before", end.UTC().Format(time.RFC3339Nano))
	return "spans?" + next.Encode()
}
