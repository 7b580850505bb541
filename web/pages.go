package web

import (
	"time"
)

// page is what every page's layout needs.
type page struct {
	Title string
	Base  string    // relative path from this page to the mount point: "./" or "../"
	Nav   string    // which tab is current: "summary", "spans", "active", ""
	Now   time.Time // the time the page was rendered; components never call time.Now
	Live  string    // relative URL of the page's Server-Sent Events stream, "" when not live

	// TraceURL is the tracing backend's page of a trace, with "{traceID}" in
	// place of the ID; "" links trace IDs to the local waterfall.
	TraceURL string
}

// summaryPage is the summary at "/".
type summaryPage struct {
	page
	Summary Summary
	Sort    string // "method" (default), "count", "errors" or "p99"
}

// spansPage is the filtered span list at "/spans".
type spansPage struct {
	page
	Query    Query
	Spans    []Span
	Methods  []string        // known methods, for the filter form
	Buckets  []time.Duration // lower bounds, for the filter form and labels
	Codes    []string        // canonical code names, for the filter form
	MinText  string          // the min and max parameters as the user typed them
	MaxText  string
	LimitMax int
}

// spanPage is one span at "/spans/{spanID}".
type spanPage struct {
	page
	Span    Span
	Buckets []time.Duration
}

// tracePage is the waterfall at "/traces/{traceID}".
type tracePage struct {
	page
	Trace Trace
	Rows  []traceRow
}

// traceRow is one span of the waterfall, placed on a 0–100 scale.
type traceRow struct {
	Span
	Depth     int     // nesting under its parent within the trace
	OffsetPct float64 // start, as a percentage of the trace's extent
	WidthPct  float64 // duration, likewise; at least a sliver so it shows
}

// activePage lists the RPCs in flight at "/active".
type activePage struct {
	page
	Active []Active
}

// errorPage explains a 400 or 404.
type errorPage struct {
	page
	Status  int
	Message string
}
