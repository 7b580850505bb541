package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/internal/rpccode"
)

// spansPage is the filtered span list at "/spans".
type spansPage struct {
	page
	Query    view.Query
	Spans    []view.Span
	Methods  []string        // known methods, for the filter form
	Buckets  []time.Duration // lower bounds, for the filter form and labels
	Codes    []string        // canonical code names, for the filter form
	MinText  string          // the min and max parameters as the user typed them
	MaxText  string
	LimitMax int
	Matched  int    // retained spans matching the query, whatever the limit
	Older    string // URL of the next, older page; "" on the last
}

// codeSelected reports whether the code filter option value is selected.
func codeSelected(q view.Query, value string) bool {
	switch value {
	case "":
		return !q.Errors && q.Code < 0
	case "error":
		return q.Errors
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
func describeQuery(q view.Query, buckets []time.Duration, minText, maxText string) string {
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
		parts = append(parts, "code "+rpccode.Name(q.Code))
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
