package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// summaryPage is the summary at "/".
type summaryPage struct {
	page
	Summary view.Summary
	Sort    string // "method" (default), "count", "errors" or "p99"
}

// sortKeys are the columns the summary sorts by, the default first.
var sortKeys = []string{"method", "count", "errors", "p99"}

// sortMethods orders rows by the chosen column, largest first, then by
// method and kind so that the order is stable between refreshes.
func sortMethods(ms []view.Method, by string) {
	key := func(m view.Method) float64 {
		switch by {
		case "count":
			return float64(m.Count)
		case "errors": // the server's faults first, then the callers' errors
			return float64(m.Faults)*(1<<40) + float64(m.Errors)
		case "p99":
			return float64(m.P99)
		}
		return 0
	}
	slices.SortStableFunc(ms, func(a, b view.Method) int {
		return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(a.Method, b.Method), cmp.Compare(b.Kind, a.Kind))
	})
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
	sortBy := cmp.Or(r.URL.Query().Get("sort"), "method")
	if !slices.Contains(sortKeys, sortBy) {
		return summaryPage{}, badParam("sort", "must be one of %s, not %s", strings.Join(sortKeys, ", "), quote(sortBy))
	}
	sum := h.src.Summary()
	sortMethods(sum.Methods, sortBy)
	p := h.newPage(r, "RPCs by method", "summary")
	p.Live = p.Base + "live/summary?sort=" + url.QueryEscape(sortBy)
	return summaryPage{page: p, Summary: sum, Sort: sortBy}, nil
}

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

// apiSummary serves /api/summary (docs/api.md).
func (h *handler) apiSummary(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, toSummaryJSON(h.src.Summary(), h.src.Process(), h.cfg.Now()))
}
