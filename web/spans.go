package web

import (
	"cmp"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/internal/rpccode"
)

// spansPage is the filtered span list at "/spans".
type spansPage struct {
	page
	Query     view.Query
	Spans     []view.Span
	Methods   []string        // known methods, for the filter form
	Buckets   []time.Duration // lower bounds, for the filter form and labels
	Codes     []string        // canonical code names, for the filter form
	MinText   string          // the min, max and since parameters as the user typed them
	MaxText   string
	SinceText string
	LimitMax  int
	Matched   int    // retained spans matching the query, whatever the limit
	Older     string // URL of the next, older page; "" on the last
}

// codeSelected reports whether the code filter option value is selected.
func codeSelected(q view.Query, value string) bool {
	switch value {
	case "":
		return !q.Errors && q.Code < 0
	case "error":
		return q.Errors && q.Side == ""
	case "fault", "caller":
		return q.Errors && q.Side == value
	}
	return !q.Errors && q.Code >= 0 && rpccode.Name(q.Code) == value
}

// limitText is the limit field's value: "" when unset.
func limitText(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// describeQuery names the filter in words for the empty state:
// `method "a.B/C", kind server, code error`.
func describeQuery(q view.Query, buckets []time.Duration, minText, maxText, sinceText string) string {
	var parts []string
	if q.Method != "" {
		parts = append(parts, "method "+strconv.Quote(q.Method))
	}
	if q.Kind != "" {
		parts = append(parts, "kind "+q.Kind)
	}
	if q.Errors && q.Side == "fault" {
		parts = append(parts, "server faults")
	} else if q.Errors && q.Side == "caller" {
		parts = append(parts, "caller errors")
	} else if q.Errors {
		parts = append(parts, "code error")
	} else if q.Code >= 0 {
		parts = append(parts, "code "+rpccode.Name(q.Code))
	}
	if q.NearDeadline {
		parts = append(parts, "near deadline")
	}
	if q.Retried {
		parts = append(parts, "retried")
	}
	if q.Bucket >= 0 {
		if l := bucketRange(buckets, q.Bucket); l != "" {
			parts = append(parts, "latency "+l)
		} else {
			parts = append(parts, "bucket "+strconv.Itoa(q.Bucket))
		}
	}
	if minText != "" {
		parts = append(parts, "min "+minText)
	} else if q.Min > 0 {
		parts = append(parts, "min "+fmtDuration(q.Min))
	}
	if maxText != "" {
		parts = append(parts, "max "+maxText)
	} else if q.Max > 0 {
		parts = append(parts, "max "+fmtDuration(q.Max))
	}
	if q.Trace != "" {
		parts = append(parts, "trace "+q.Trace)
	}
	if sinceText != "" {
		parts = append(parts, "since "+sinceText)
	}
	return strings.Join(parts, ", ")
}

// longestSpan is the longest duration in spans, the full width of the
// duration bars.
func longestSpan(spans []view.Span) time.Duration {
	var d time.Duration
	for _, s := range spans {
		d = max(d, s.Duration)
	}
	return d
}

// barWidth is the width, out of 100, of the bar of duration d when longest
// fills the cell; at least 1, so that no call looks like none.
func barWidth(d, longest time.Duration) string {
	if longest <= 0 {
		return "1"
	}
	return fmtFloat(max(100*float64(d)/float64(longest), 1))
}

func (h *handler) spansPage(r *http.Request) (spansPage, *paramError) {
	v := r.URL.Query()
	q, err := parseQuery(v, len(h.cfg.Buckets), h.near)
	if err != nil {
		return spansPage{}, err
	}
	if q.Since, err = parseSince(v, h.cfg.Now()); err != nil {
		return spansPage{}, err
	}
	p := h.newPage(r, cmp.Or(q.Method, "Recent RPCs"), "spans")
	p.Live, p.Hold = p.Base+"live/spans?"+v.Encode(), true
	p.Window = v.Get("since") // kept by the tabs when it is one of the summary's windows
	sp := spansPage{
		page: p, Query: q, Spans: h.src.Spans(q), Methods: h.src.Methods(), Matched: h.src.Count(q),
		Buckets: h.cfg.Buckets, Codes: rpccode.Names(), MinText: v.Get("min"), MaxText: v.Get("max"), SinceText: v.Get("since"), LimitMax: maxLimit,
	}
	if n := len(sp.Spans); n > 0 && n < sp.Matched {
		last := sp.Spans[n-1]
		sp.Older = p.Base + olderPage(v, last.Start.Add(last.Duration))
	}
	return sp, nil
}

// spans serves the span list at "/spans".
func (h *handler) spans(w http.ResponseWriter, r *http.Request) {
	p, err := h.spansPage(r)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, spansView(p))
}

// apiSpans serves /api/spans, a page or (follow=1) a stream (docs/api.md).
func (h *handler) apiSpans(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	follow, err := parseFollow(v)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	q, err := parseQuery(v, len(h.cfg.Buckets), h.near)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	now := h.cfg.Now()
	if q.Since, err = parseSince(v, now); err != nil {
		h.badRequest(w, r, err)
		return
	}
	if follow {
		q.Since = time.Time{} // a follow sends what ends from now on
		h.follow(w, r, q)
		return
	}
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
	Attempts         int            `json:"attempts,omitempty"`      // where the instrumentation says
	Running          bool           `json:"running,omitempty"`       // in flight: duration_ns is so far
}

// eventJSON is a span event, its offset in nanoseconds.
type eventJSON struct {
	Name       string         `json:"name"`
	Time       time.Time      `json:"time"`
	Offset     int64          `json:"offset_ns"`
	Attributes map[string]any `json:"attributes"`
}

// toSpanJSON is the span object of docs/api.md.
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
	out.Running, out.Attempts = s.Running, s.Attempts
	for _, e := range s.Events {
		out.Events = append(out.Events, eventJSON{Name: e.Name, Time: e.Time, Offset: int64(e.Offset), Attributes: attrsJSON(e.Attributes)})
	}
	return out
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
