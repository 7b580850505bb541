package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/semconv"
	"github.com/debugz/debugz/internal/view"
	"github.com/go-chi/chi/v5"
)

// tracePage is the waterfall at "/traces/{traceID}".
type tracePage struct {
	page
	Trace view.Trace
	Rows  []traceRow
	Logs  []traceLog // every span's log lines, in time order
}

// traceLog is a log line of a trace, with the span it belongs to.
type traceLog struct {
	view.LogLine
	Span view.Span
}

// traceLogs gathers the log lines of every span of t, in time order.
func traceLogs(t view.Trace) []traceLog {
	var out []traceLog
	for _, s := range t.Spans {
		for _, l := range s.Logs {
			out = append(out, traceLog{LogLine: l, Span: s})
		}
	}
	slices.SortStableFunc(out, func(a, b traceLog) int { return a.Time.Compare(b.Time) })
	return out
}

// traceRow is one span of the waterfall, placed on a 0–100 scale.
type traceRow struct {
	view.Span
	Depth     int     // nesting under its parent within the trace
	Orphan    bool    // its parent is not retained (evicted, or in another process)
	Parent    bool    // it has children in the waterfall, which can be folded
	OffsetPct float64 // start, as a percentage of the trace's extent
	WidthPct  float64 // duration, likewise; at least a sliver so it shows
}

// layoutTrace orders a trace's spans depth first under their parents, each
// parent's children by start, and places each on a 0–100 scale.
func layoutTrace(t view.Trace) []traceRow {
	ids := make(map[string]bool, len(t.Spans))
	for _, s := range t.Spans {
		ids[s.SpanID] = true
	}
	children := map[string][]view.Span{}
	var roots []view.Span
	for _, s := range t.Spans {
		if s.ParentSpanID != "" && ids[s.ParentSpanID] && s.ParentSpanID != s.SpanID {
			children[s.ParentSpanID] = append(children[s.ParentSpanID], s)
		} else {
			roots = append(roots, s)
		}
	}
	extent := float64(t.End.Sub(t.Start))
	rows := make([]traceRow, 0, len(t.Spans))
	seen := make(map[string]bool, len(t.Spans))
	var walk func(s view.Span, depth int)
	walk = func(s view.Span, depth int) {
		if seen[s.SpanID] {
			return
		}
		seen[s.SpanID] = true
		row := traceRow{Span: s, Depth: depth, WidthPct: 100, Orphan: s.ParentSpanID != "" && !ids[s.ParentSpanID],
			Parent: len(children[s.SpanID]) > 0}
		if extent > 0 {
			row.OffsetPct = 100 * float64(s.Start.Sub(t.Start)) / extent
			row.WidthPct = min(max(100*float64(s.Duration)/extent, 0.3), 100-row.OffsetPct)
		}
		rows = append(rows, row)
		for _, c := range children[s.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, s := range roots {
		walk(s, 0)
	}
	for _, s := range t.Spans { // spans in a cycle of parent IDs
		walk(s, 0)
	}
	return rows
}

// barClass is the CSS class of a waterfall bar: the severity of its gRPC
// code when it failed ("warn", "err"), or of its HTTP status (4xx the
// caller's, 5xx a fault), else its kind. A span without either is "err"
// when its OTel status is Error. (otelgrpc marks every failed client span
// Error, and otelhttp every client span answered 4xx, so the code, not the
// status, decides.)
func barClass(s view.Span) string {
	switch status := httpStatus(s); {
	case s.Running:
		return "running"
	case s.Code != "" && s.Code != "OK":
		return strings.TrimPrefix(codeClass(s.Code), "code ")
	case s.Code == "" && status >= 400:
		return strings.TrimPrefix(httpClass(status), "code ")
	case s.Code == "" && status == 0 && s.StatusCode == "Error":
		return "err"
	}
	switch s.Kind {
	case "server", "client":
		return s.Kind
	}
	return "other"
}

// httpStatus is the HTTP status code an HTTP span records, 0 for none.
func httpStatus(s view.Span) int {
	for _, a := range s.Attributes {
		if a.Key == semconv.HTTPResponseStatusCode || a.Key == semconv.HTTPStatusCode {
			if n, err := strconv.Atoi(a.Value); err == nil && n >= 100 && n <= 999 {
				return n
			}
		}
	}
	return 0
}

// httpClass is the CSS class of an HTTP status badge, by severity as for
// gRPC codes: 5xx a fault ("err"), 4xx the caller's ("warn"), else "ok".
func httpClass(status int) string {
	switch {
	case status >= 500:
		return "code err"
	case status >= 400:
		return "code warn"
	}
	return "code ok"
}

// depthClass is the indentation class of a waterfall row: "d0" … "d8".
func depthClass(depth int) string {
	return "d" + strconv.Itoa(min(max(depth, 0), 8))
}

// axisTick is one labelled guide line of the waterfall's time axis, at Pct
// percent of the trace's extent.
type axisTick struct {
	Pct   string
	Label string
}

// axisTicks puts guide lines on the waterfall's time axis at round
// durations (1, 2 or 5 times a power of ten: 0, 5ms, 10ms, …), at most
// six, from the trace's start.
func axisTicks(total time.Duration) []axisTick {
	if total <= 0 {
		return []axisTick{{Pct: "0", Label: "0"}}
	}
	step := time.Duration(1) // 1, 2, 5, 10, 20, 50, … ns
	for i := 0; total/step > 5; i++ {
		if i%3 == 1 {
			step = step * 5 / 2
		} else {
			step *= 2
		}
	}
	var ticks []axisTick
	for d := time.Duration(0); d <= total; d += step {
		ticks = append(ticks, axisTick{Pct: fmtFloat(100 * float64(d) / float64(total)), Label: fmtDurationShort(d)})
	}
	return ticks
}

// traceID validates the {traceID} path parameter.
func (h *handler) traceID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, err := parseID(chi.URLParam(r, "traceID"), 16)
	if err != nil {
		h.badRequest(w, r, badParam("traceID", "%s", err))
		return "", false
	}
	return id, true
}

// trace serves the waterfall at "/traces/{traceID}".
func (h *handler) trace(w http.ResponseWriter, r *http.Request) {
	id, ok := h.traceID(w, r)
	if !ok {
		return
	}
	t, ok := h.src.Trace(id)
	if !ok {
		h.fail(w, r, http.StatusNotFound, notRetained("span of trace "+id))
		return
	}
	p := h.newPage(r, "Trace "+id[:8], "")
	h.render(w, r, http.StatusOK, traceView(tracePage{page: p, Trace: t, Rows: layoutTrace(t), Logs: traceLogs(t)}))
}

// apiTrace serves /api/traces/{traceID}: OTLP JSON (docs/api.md).
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
