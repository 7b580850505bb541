package web

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// This file holds the formatting and URL helpers the components use, so that
// what the pages show can be unit-tested without rendering them.

// fmtDuration formats d with three significant digits and a unit: "0",
// "812ns", "81.0µs", "1.20ms", "2.10s"; from a minute on it rounds to the
// second: "1m5s".
func fmtDuration(d time.Duration) string {
	if d < 0 {
		if d == math.MinInt64 { // -d overflows back to itself
			d++
		}
		return "-" + fmtDuration(-d)
	}
	switch {
	case d == 0:
		return "0"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond), "µs", time.Millisecond)
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond), "ms", time.Second)
	case d < 59950*time.Millisecond:
		return sig3(float64(d)/float64(time.Second), "s", time.Minute)
	}
	return d.Round(time.Second).String()
}

// sig3 formats v, in [1, 1000) of unit, with three significant digits; when
// rounding would carry it to 1000, it formats next, the next unit, instead.
func sig3(v float64, unit string, next time.Duration) string {
	switch {
	case v < 9.995:
		return strconv.FormatFloat(v, 'f', 2, 64) + unit
	case v < 99.95:
		return strconv.FormatFloat(v, 'f', 1, 64) + unit
	case v < 999.5:
		return strconv.FormatFloat(v, 'f', 0, 64) + unit
	}
	return fmtDuration(next)
}

// fmtDurationShort is fmtDuration without trailing zeros: "100µs", "2.5ms".
func fmtDurationShort(d time.Duration) string {
	s := fmtDuration(d)
	i := strings.IndexFunc(s, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if i < 0 || !strings.Contains(s[:i], ".") {
		return s
	}
	num := strings.TrimRight(strings.TrimRight(s[:i], "0"), ".")
	return num + s[i:]
}

// fmtBucket labels a latency bucket by its lower bound: "≥0", "≥100µs".
func fmtBucket(lower time.Duration) string {
	return "≥" + fmtDurationShort(lower)
}

// bucketRange describes bucket i as a range: "100µs – 1ms", "≥10s".
func bucketRange(buckets []time.Duration, i int) string {
	if i < 0 || i >= len(buckets) {
		return ""
	}
	if i == len(buckets)-1 {
		return fmtBucket(buckets[i])
	}
	return fmtDurationShort(buckets[i]) + " – " + fmtDurationShort(buckets[i+1])
}

// fmtCount formats n with comma thousands separators: 12345 → "12,345".
func fmtCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// fmtInt is fmtCount for an int; negative values show as "0".
func fmtInt(n int) string {
	if n < 0 {
		return "0"
	}
	return fmtCount(uint64(n))
}

// fmtRate formats a per-second rate: "0", "<0.01", "0.25", "12.5", "1,234".
func fmtRate(r float64) string {
	switch {
	case r <= 0 || math.IsNaN(r):
		return "0"
	case r < 0.01:
		return "<0.01"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 2, 64)
	case r < 100:
		return strconv.FormatFloat(r, 'f', 1, 64)
	case r >= math.MaxUint64:
		return "∞"
	}
	return fmtCount(uint64(math.Round(r)))
}

// fmtTime formats the time of day with milliseconds: "15:04:05.000".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Format("15:04:05.000")
}

// fmtTimestamp formats a full timestamp with milliseconds and zone offset.
func fmtTimestamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Format("2006-01-02 15:04:05.000 -07:00")
}

// fmtOffset formats an event's offset from its span's start: "+1.23ms".
func fmtOffset(d time.Duration) string {
	if d < 0 {
		return fmtDuration(d)
	}
	return "+" + fmtDuration(d)
}

// shortID is the first 8 characters of a hex ID followed by "…".
func shortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}

// statusText is "404 Not Found".
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

// codeName is the canonical name of a gRPC code, or its number as text.
func codeName(code int) string {
	if code >= 0 && code < len(codeNames) {
		return codeNames[code]
	}
	return strconv.Itoa(code)
}

// codeClass is the CSS class of a status code badge, by severity: "ok";
// "warn" for codes that usually mean the caller asked for something wrong or
// gave up; "err" for codes that usually mean the server or network failed
// (and for codes it does not know); "none" for a span without a gRPC code.
func codeClass(name string) string {
	switch name {
	case "":
		return "code none"
	case "OK":
		return "code ok"
	case "CANCELLED", "CANCELED", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNAUTHENTICATED":
		return "code warn"
	}
	return "code err"
}

// kindClass is the CSS class of a span kind badge.
func kindClass(kind string) string {
	switch kind {
	case "server", "client":
		return "kind " + kind
	}
	return "kind other"
}

// barClass is the CSS class of a waterfall bar: the severity of its gRPC
// code when it failed ("warn", "err"), else its kind. A span without a gRPC
// code is "err" when its OTel status is Error. (otelgrpc marks every failed
// client span Error, so the code, not the status, decides for gRPC spans.)
func barClass(s Span) string {
	switch {
	case s.Code == "" && s.StatusCode == "Error":
		return "err"
	case s.Code != "" && s.Code != "OK":
		return strings.TrimPrefix(codeClass(s.Code), "code ")
	}
	switch s.Kind {
	case "server", "client":
		return s.Kind
	}
	return "other"
}

// depthClass is the indentation class of a waterfall row: "d0" … "d8".
func depthClass(depth int) string {
	return "d" + strconv.Itoa(min(max(depth, 0), 8))
}

// spanTitle is what to call a span: its gRPC method, else its name.
func spanTitle(s Span) string {
	if s.Method != "" {
		return s.Method
	}
	if s.Name != "" {
		return s.Name
	}
	return "(unnamed span)"
}

// setupSnippet is the setup the summary's empty state shows.
const setupSnippet = `sp := debugz.NewSpanProcessor()
tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp))))`

// link joins base and a fixed path of the handler: link("../", "spans").
func link(base, path string) templ.SafeURL {
	return templ.SafeURL(base + path)
}

// spansURL is the span list filtered by the key/value pairs kv, each value
// query-escaped: spansURL("./", "method", m, "kind", "server").
func spansURL(base string, kv ...string) templ.SafeURL {
	return templ.SafeURL(base + "spans" + query(kv...))
}

// query builds "?k=v&…" in the order given, skipping empty values.
func query(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// spanURL is the page of one span.
func spanURL(base, spanID string) templ.SafeURL {
	return templ.SafeURL(base + "spans/" + url.PathEscape(spanID))
}

// traceURL is the waterfall of one trace.
func traceURL(base, traceID string) templ.SafeURL {
	return templ.SafeURL(base + "traces/" + url.PathEscape(traceID))
}

// traceLink is where a trace ID links to: the tracing backend when a URL
// template is configured, the local waterfall otherwise.
func traceLink(p page, traceID string) templ.SafeURL {
	if p.TraceURL == "" {
		return traceURL(p.Base, traceID)
	}
	return templ.SafeURL(strings.ReplaceAll(p.TraceURL, "{traceID}", url.PathEscape(traceID)))
}

// apiSpanURL is the JSON of one span.
func apiSpanURL(base, spanID string) templ.SafeURL {
	return templ.SafeURL(base + "api/spans/" + url.PathEscape(spanID))
}

// apiTraceURL is the OTLP JSON of one trace.
func apiTraceURL(base, traceID string) templ.SafeURL {
	return templ.SafeURL(base + "api/traces/" + url.PathEscape(traceID))
}

// sortURL is the summary sorted by key.
func sortURL(base, key string) templ.SafeURL {
	if key == "" || key == "method" {
		return templ.SafeURL(base)
	}
	return templ.SafeURL(base + query("sort", key))
}

// sortDirection is the aria-sort value of the summary's sort key.
func sortDirection(key string) string {
	if key == "method" || key == "" {
		return "ascending"
	}
	return "descending"
}

// sortArrow shows the sort direction of the summary's sort key.
func sortArrow(key string) string {
	if sortDirection(key) == "ascending" {
		return "▲"
	}
	return "▼"
}

// methodGroup is the summary rows of one kind.
type methodGroup struct {
	Title   string
	Kind    string
	Methods []Method
}

// groupMethods splits the summary rows into server, client and other kinds,
// keeping the order they come in (the handler sorts them), and drops empty
// groups.
func groupMethods(ms []Method) []methodGroup {
	groups := []methodGroup{{Title: "Server", Kind: "server"}, {Title: "Client", Kind: "client"}, {Title: "Other", Kind: ""}}
	for _, m := range ms {
		i := 2
		switch m.Kind {
		case "server":
			i = 0
		case "client":
			i = 1
		}
		groups[i].Methods = append(groups[i].Methods, m)
	}
	return slices.DeleteFunc(groups, func(g methodGroup) bool { return len(g.Methods) == 0 })
}

// summaryColumns is the number of columns of the summary table.
func summaryColumns(s Summary) int {
	n := 11 + len(s.Buckets)
	if hasMessages(s) {
		n += 2
	}
	return n
}

// hasMessages reports whether any row knows its calls' messages (from
// WrapStatsHandler), so the summary shows the per-call message columns.
func hasMessages(s Summary) bool {
	for _, m := range s.Methods {
		if m.MsgCalls > 0 {
			return true
		}
	}
	return false
}

// perCall formats total/calls as a short average: "1", "2.5", "1.2k".
func perCall(total, calls uint64) string {
	if calls == 0 {
		return "–"
	}
	avg := float64(total) / float64(calls)
	if avg >= 1000 {
		return fmtFloat(avg/1000) + "k"
	}
	if avg >= 10 {
		return strconv.FormatFloat(avg, 'f', 0, 64)
	}
	return fmtFloat(avg)
}

// fmtBytes formats a byte count with a binary unit: "812 B", "1.2 KiB".
func fmtBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(n, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
}

// bytesPerCall is the average bytes per call, or "–".
func bytesPerCall(total, calls uint64) string {
	if calls == 0 {
		return "–"
	}
	return fmtBytes(float64(total) / float64(calls))
}

// fmtPercent formats a share: 0.953 → "95%".
func fmtPercent(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

// nearDeadline is the share of its deadline beyond which a call is flagged.
const nearDeadline = 0.8

// tick is one message on a span's message timeline, placed on 0–1000.
type tick struct {
	X     string
	Sent  bool
	Title string
}

// messageTicks places the span's message events on its duration.
func messageTicks(s Span) []tick {
	var out []tick
	for _, e := range s.Events {
		if e.Name != "message" {
			continue
		}
		t := tick{Title: fmtOffset(e.Offset)}
		for _, a := range e.Attributes {
			switch a.Key {
			case "message.type", "rpc.message.type":
				t.Sent = a.Value == "SENT"
				t.Title += " " + a.Value
			case "message.id", "rpc.message.id":
				t.Title += " #" + a.Value
			case "message.uncompressed_size", "rpc.message.uncompressed_size":
				t.Title += " " + a.Value + " B"
			}
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

// histBar is one bar of a summary row's histogram, in a 0 0 W H viewBox.
type histBar struct {
	X, Y, W, H string
}

// Histogram geometry: each bucket gets histStep units, bars histBarW wide.
const (
	histStep = 6
	histBarW = 5
	histH    = 32
)

// histViewBox is the viewBox of a histogram of n buckets.
func histViewBox(n int) string {
	return "0 0 " + strconv.Itoa(max(n*histStep-1, 1)) + " " + strconv.Itoa(histH)
}

// histBars draws bucket counts as bars on a log scale relative to the row's
// largest bucket, so that a rare slow call still shows beside a busy fast
// bucket. Empty buckets get no bar.
func histBars(counts []uint64, ranges []string) []histBar {
	var top uint64
	for _, c := range counts {
		top = max(top, c)
	}
	var bars []histBar
	for i, c := range counts {
		if c == 0 {
			continue
		}
		h := max(int(float64(histH)*math.Log1p(float64(c))/math.Log1p(float64(top))+0.5), 1)
		bars = append(bars, histBar{X: strconv.Itoa(i * histStep), Y: strconv.Itoa(histH - h),
			W: strconv.Itoa(histBarW), H: strconv.Itoa(h)})
	}
	return bars
}

// histTitle is the tooltip of a whole histogram.
func histTitle(counts []uint64, ranges []string) string {
	var b strings.Builder
	b.WriteString("Latency histogram (log scale)")
	for i, c := range counts {
		b.WriteByte('\n')
		if i < len(ranges) {
			b.WriteString(ranges[i])
		}
		b.WriteString(": ")
		b.WriteString(fmtCount(c))
	}
	return b.String()
}

// bucketRanges labels every latency bucket with its range, once per page.
func bucketRanges(buckets []time.Duration) []string {
	out := make([]string, len(buckets))
	for i := range buckets {
		out[i] = bucketRange(buckets, i)
	}
	return out
}

// fmtFloat formats an SVG coordinate with at most two decimals.
func fmtFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

// bucketCount is counts[i], or 0 when the row has fewer buckets.
func bucketCount(counts []uint64, i int) uint64 {
	if i < 0 || i >= len(counts) {
		return 0
	}
	return counts[i]
}

// codeSelected reports whether the code filter option value is selected.
func codeSelected(q Query, value string) bool {
	switch value {
	case "":
		return !q.Errors && q.Code < 0
	case "error":
		return q.Errors
	}
	return !q.Errors && q.Code >= 0 && codeName(q.Code) == value
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
func describeQuery(q Query, buckets []time.Duration, minText, maxText string) string {
	var parts []string
	if q.Method != "" {
		parts = append(parts, "method "+strconv.Quote(q.Method))
	}
	if q.Kind != "" {
		parts = append(parts, "kind "+q.Kind)
	}
	if q.Errors {
		parts = append(parts, "code error")
	} else if q.Code >= 0 {
		parts = append(parts, "code "+codeName(q.Code))
	}
	if q.NearDeadline {
		parts = append(parts, "near deadline")
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
	return strings.Join(parts, ", ")
}

// axisTicks labels the waterfall's time axis at 0, 25, 50, 75 and 100%.
func axisTicks(total time.Duration) []string {
	ticks := make([]string, 5)
	for i := range ticks {
		ticks[i] = fmtDurationShort(total * time.Duration(i) / 4)
	}
	return ticks
}

// plural is "1 span", "2 spans".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtInt(n) + " " + many
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
