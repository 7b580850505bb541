package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/view"
)

// summaryPage is the summary at "/".
type summaryPage struct {
	page
	Summary view.Summary
	Sort    string // a sortKeys entry: "method" (default), "count", "errors", …
	// Window is what the counts, codes, buckets and quantiles cover:
	// windowAll (since start), window10m or window1m.
	Window string
}

// sortKeys are the columns the summary sorts by, the default first; the
// latency buckets' are "bucket" and their index.
var sortKeys = []string{"method", "active", "count", "errors", "error_rate_1m", "error_rate_10m",
	"p50", "p99", "max", "per_call", "rate"}

// validSort reports whether key is a sort key of a summary of n buckets.
func validSort(key string, n int) bool {
	if b, ok := strings.CutPrefix(key, "bucket"); ok {
		i, err := strconv.Atoi(b)
		return err == nil && i >= 0 && i < n && b == strconv.Itoa(i)
	}
	return slices.Contains(sortKeys, key)
}

// sortMethods orders rows by the chosen column, largest first, then by
// method and kind so that the order is stable between refreshes. A row
// without calls for a rate sorts last.
func sortMethods(ms []view.Method, by string) {
	key := func(m view.Method) float64 {
		switch by {
		case "active":
			return float64(m.Active)
		case "count":
			return float64(m.Count)
		case "errors": // the server's faults first, then the callers' errors
			return float64(m.Faults)*(1<<40) + float64(m.Errors)
		case "error_rate_1m":
			return ratio(m.Last1m.Errors, m.Last1m.Count)
		case "error_rate_10m":
			return ratio(m.Last10m.Errors, m.Last10m.Count)
		case "p50":
			return float64(m.P50)
		case "p99":
			return float64(m.P99)
		case "max":
			return float64(m.Max)
		case "per_call":
			return ratio(m.MsgSent+m.MsgReceived, m.MsgCalls)
		case "rate":
			return m.Rate
		}
		if b, ok := strings.CutPrefix(by, "bucket"); ok {
			i, _ := strconv.Atoi(b)
			return float64(bucketCount(m.Buckets, i))
		}
		return 0
	}
	slices.SortStableFunc(ms, func(a, b view.Method) int {
		return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(a.Method, b.Method), cmp.Compare(b.Kind, a.Kind))
	})
}

// ratio is n/of, or -1 (below any share) when of is 0.
func ratio(n, of uint64) float64 {
	if of == 0 {
		return -1
	}
	return float64(n) / float64(of)
}

// inWindow puts each row's figures over window (window1m or window10m) in
// place of those since start: Count, Errors, Faults, Codes, Buckets and
// the quantiles. The rest (in flight, the rates, latency now, messages,
// logs) reads as without a window.
func inWindow(ms []view.Method, window string) {
	i := 0
	switch window {
	case window1m:
	case window10m:
		i = 1
	default:
		return
	}
	for j := range ms {
		m, w := &ms[j], ms[j].In[i]
		m.Count, m.Errors, m.Faults, m.Codes = w.Count, w.Errors, w.Faults, w.Codes
		m.Buckets = w.Buckets
		if len(m.Buckets) == 0 { // a row the source has no window for
			m.Buckets = make([]uint64, len(ms[j].Buckets))
		}
		m.P50, m.P90, m.P99, m.Max = w.P50, w.P90, w.P99, w.Max
	}
}

// windowed reports whether window is a recent window, not since start.
func windowed(window string) bool { return window == window1m || window == window10m }

// windowName says what a window covers, for headings and tooltips.
func windowName(window string) string {
	switch window {
	case window1m:
		return "the last minute"
	case window10m:
		return "the last 10 minutes"
	}
	return "since start"
}

// windowURL is the summary at key's sort in window, for the window's and
// the columns' links; the defaults are left out of the URL.
func windowURL(base, sortBy, window string) templ.SafeURL {
	u := sortURL(base, sortBy)
	if !windowed(window) {
		return u
	}
	return withQuery(u, "window", window)
}

// tabPath is the path of a tab that keeps the window the reader chose:
// the summary's window=, the span list's and the logs' since=.
func tabPath(p page, path string) string {
	if !windowed(p.Window) {
		return path
	}
	if path == "" {
		return "?window=" + p.Window
	}
	return path + "?since=" + p.Window
}

// inWindowURL narrows u, a link to the spans or logs behind a count, to
// the summary's window: since=1m or since=10m.
func inWindowURL(u templ.SafeURL, window string) templ.SafeURL {
	if !windowed(window) {
		return u
	}
	return withQuery(u, "since", window)
}

// errorRate is the share of a window's calls that failed, as a percentage
// to read during an incident; "–" without calls.
func errorRate(w view.Window) string {
	if w.Count == 0 {
		return "–"
	}
	return fmtPercent(float64(w.Errors) / float64(w.Count))
}

// windowsTitle says what a row's error cell counts, for its tooltip.
func windowsTitle(m view.Method) string {
	return fmt.Sprintf("since start: %s errors in %s calls, %s of them server faults\n"+
		"last minute: %s errors in %s calls (%s faults)\nlast 10 minutes: %s errors in %s calls (%s faults)",
		fmtCount(m.Errors), fmtCount(m.Count), fmtCount(m.Faults),
		fmtCount(m.Last1m.Errors), fmtCount(m.Last1m.Count), fmtCount(m.Last1m.Faults),
		fmtCount(m.Last10m.Errors), fmtCount(m.Last10m.Count), fmtCount(m.Last10m.Faults))
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

// The summary's empty state: the snippets that connect each instrumentation
// debugz counts to the TracerProvider its span processor is on.
const (
	processorSnippet = `sp := debugz.NewSpanProcessor()
tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))`

	otelgrpcSnippet = `// go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc
srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp))))
conn, err := grpc.NewClient(target, grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp))), …)`

	grpcPluginSnippet = `// opentelemetry: google.golang.org/grpc/stats/opentelemetry
// experimental: google.golang.org/grpc/experimental/opentelemetry
srv := grpc.NewServer(
	opentelemetry.ServerOption(opentelemetry.Options{
		TraceOptions: experimental.TraceOptions{TracerProvider: tp, TextMapPropagator: propagation.TraceContext{}},
	}),
	grpc.StatsHandler(grpcstats.NewHandler()), // exact codes, and the method of server spans
)
conn, err := grpc.NewClient(target, opentelemetry.DialOption(opentelemetry.Options{TraceOptions: …}), …)`

	otelconnectSnippet = `// connectrpc.com/otelconnect
interceptor, err := otelconnect.NewInterceptor(otelconnect.WithTracerProvider(tp))
…
path, h := greetv1connect.NewGreetServiceHandler(svc, connect.WithInterceptors(interceptor))`
)

// methodGroup is the summary rows of one kind.
type methodGroup struct {
	Title   string
	Kind    string
	Methods []view.Method
}

// groupMethods splits the summary rows into server, client and other kinds,
// keeping the order they come in (the handler sorts them), and drops empty
// groups.
func groupMethods(ms []view.Method) []methodGroup {
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
func summaryColumns(s view.Summary) int {
	n := 9 + len(s.Buckets)
	if hasMessages(s) {
		n++
	}
	return n
}

// hasMessages reports whether any row knows its calls' messages (from
// grpcstats.WrapHandler), so the summary shows the per-call message columns.
func hasMessages(s view.Summary) bool {
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

// bytesPerCall is the average bytes per call, or "–".
func bytesPerCall(total, calls uint64) string {
	if calls == 0 {
		return "–"
	}
	return fmtBytes(float64(total) / float64(calls))
}

// bucketRanges labels every latency bucket with its range, once per page.
func bucketRanges(buckets []time.Duration) []string {
	out := make([]string, len(buckets))
	for i := range buckets {
		out[i] = bucketRange(buckets, i)
	}
	return out
}

// bucketCount is counts[i], or 0 when the row has fewer buckets.
func bucketCount(counts []uint64, i int) uint64 {
	if i < 0 || i >= len(counts) {
		return 0
	}
	return counts[i]
}

// splitMethod splits "pkg.Service/Method" after its slash, so that a narrow
// screen can wrap the service above the method; a name without one is all
// method.
func splitMethod(full string) (service, method string) {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i+1], full[i+1:]
	}
	return "", full
}

// summary serves the summary page at "/".
func (h *handler) summary(w http.ResponseWriter, r *http.Request) {
	// The mount point itself without its slash ("/debug/rpcs"): every link
	// is relative, so send the browser to "/debug/rpcs/" first.
	if p, _, _ := strings.Cut(r.RequestURI, "?"); p != "" && !strings.HasSuffix(p, "/") {
		target := p[strings.LastIndexByte(p, '/')+1:] + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", target) // relative: http.Redirect would resolve it against r.URL.Path
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	p, perr := h.summaryPage(r)
	if perr != nil {
		h.badRequest(w, r, perr)
		return
	}
	h.render(w, r, http.StatusOK, summaryView(p))
}

func (h *handler) summaryPage(r *http.Request) (summaryPage, *paramError) {
	v := r.URL.Query()
	sortBy := cmp.Or(v.Get("sort"), "method")
	if !validSort(sortBy, len(h.cfg.Buckets)) {
		return summaryPage{}, badParam("sort", "must be one of %s or bucket and a bucket's index (bucket0); not %s", strings.Join(sortKeys, ", "), quote(sortBy))
	}
	window, err := parseWindow(v)
	if err != nil {
		return summaryPage{}, err
	}
	sum := h.src.Summary(windowed(window))
	inWindow(sum.Methods, window)
	sortMethods(sum.Methods, sortBy)
	p := h.newPage(r, "RPCs by method", "summary")
	p.Live = p.Base + "live/summary" + string(windowURL("", sortBy, window))
	p.Window = window
	return summaryPage{page: p, Summary: sum, Sort: sortBy, Window: window}, nil
}

// summaryJSON is /api/summary (docs/api.md): the view's summary, with the
// time of the answer, the process that gave it and the window it covers.
type summaryJSON struct {
	AsOf    time.Time    `json:"as_of"`
	Process view.Process `json:"process"`
	Window  string       `json:"window"`
	view.Summary
	Methods []methodJSON `json:"methods"`
}

// methodJSON is a row of the summary with its codes as an object, code name
// to count in code order: one buffer holds every row's, where a map a row
// was a tenth of /api/summary's time.
type methodJSON struct {
	view.Method
	Codes json.RawMessage `json:"codes"`
}

func toSummaryJSON(s view.Summary, p view.Process, window string, now time.Time) summaryJSON {
	out := summaryJSON{AsOf: now, Process: p, Window: window, Summary: s, Methods: make([]methodJSON, len(s.Methods))}
	buf := make([]byte, 0, 40*len(s.Methods))
	for i, m := range s.Methods {
		from := len(buf)
		buf = append(buf, '{')
		for j, c := range m.Codes {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendQuote(buf, c.Name)
			buf = append(buf, ':')
			buf = strconv.AppendUint(buf, c.Count, 10)
		}
		buf = append(buf, '}')
		out.Methods[i] = methodJSON{Method: m, Codes: buf[from:len(buf):len(buf)]}
	}
	return out
}

// apiSummary serves /api/summary (docs/api.md).
func (h *handler) apiSummary(w http.ResponseWriter, r *http.Request) {
	window, err := parseWindow(r.URL.Query())
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	sum := h.src.Summary(windowed(window))
	inWindow(sum.Methods, window)
	h.writeJSON(w, r, http.StatusOK, toSummaryJSON(sum, h.src.Process(), window, h.cfg.Now()))
}

// bucketKey is the sort key of latency bucket i's column.
func bucketKey(i int) string { return "bucket" + strconv.Itoa(i) }

// faultNames and callerNames list the codes of each side of an error, for
// the legend.
func faultNames() string  { return codeNames(true) }
func callerNames() string { return codeNames(false) }

func codeNames(fault bool) string {
	var names []string
	for c := 1; c <= rpccode.Max; c++ {
		if rpccode.ServerFault(c) == fault {
			names = append(names, rpccode.Name(c))
		}
	}
	return strings.Join(names, ", ")
}
