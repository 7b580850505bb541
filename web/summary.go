package web

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// summaryPage is the summary at "/".
type summaryPage struct {
	page
	Summary Summary
	Sort    string // "method" (default), "count", "errors" or "p99"
}

// sortKeys are the columns the summary sorts by, the default first.
var sortKeys = []string{"method", "count", "errors", "p99"}

// sortMethods orders rows by the chosen column, largest first, then by
// method and kind so that the order is stable between refreshes.
func sortMethods(ms []Method, by string) {
	key := func(m Method) float64 {
		switch by {
		case "count":
			return float64(m.Count)
		case "errors":
			return float64(m.Errors)
		case "p99":
			return float64(m.P99)
		}
		return 0
	}
	slices.SortStableFunc(ms, func(a, b Method) int {
		return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(a.Method, b.Method), cmp.Compare(b.Kind, a.Kind))
	})
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

// setupSnippet is the setup the summary's empty state shows.
const setupSnippet = `sp := debugz.NewSpanProcessor()
tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp))))`

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
