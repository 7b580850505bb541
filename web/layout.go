package web

import (
	"fmt"
	"strconv"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/internal/rpccode"
)

// page is what every page's layout needs.
type page struct {
	Title string
	Base  string    // relative path from this page to the mount point: "./" or "../"
	Nav   string    // which tab is current: "summary", "spans", "active", ""
	Now   time.Time // the time the page was rendered; components never call time.Now
	Live  string    // relative URL of the page's Server-Sent Events stream, "" when not live
	// Hold asks debugz.js to hold live updates while the reader is busy
	// with the page (pointing, scrolled, selecting): for lists whose rows move.
	Hold bool

	// TraceURL is the tracing backend's page of a trace, with "{traceID}" in
	// place of the ID; "" links trace IDs to the local waterfall.
	TraceURL string
	// Near words the near-deadline threshold for the pages' tooltips.
	Near nearWords
	// Process is which process this is, named in the header and the title.
	Process view.Process
	// Channelz says whether the connections pages exist.
	Channelz bool
	// Window is the time window the reader chose, window1m or window10m
	// (window= on the summary, since= on the span list and the logs), for
	// the tabs to carry; "" for none.
	Window string
	// Snapshot says whether api/snapshot exists; Banner heads the page
	// (Config.Banner).
	Snapshot bool
	Banner   string
}

// nearWords are the phrases that say what near its deadline means, worded
// once per handler from the threshold the source gave (Config.NearDeadline).
type nearWords struct {
	Span  string // "more than 80% of the deadline"
	Call  string // "used more than 80% of its deadline"
	Calls string // "calls that used more than 80% of their deadline"
}

// nearText words the near-deadline threshold; "most of" stands for the share
// when the source gave none.
func nearText(threshold float64) nearWords {
	share := "most of"
	if threshold > 0 {
		share = "more than " + fmtPercent(threshold) + " of"
	}
	return nearWords{
		Span:  share + " the deadline",
		Call:  "used " + share + " its deadline",
		Calls: "calls that used " + share + " their deadline",
	}
}

// codeClass is the CSS class of a status code badge, by severity: "ok";
// "warn" for codes that usually mean the caller asked for something wrong,
// was refused or gave up; "err" for server faults (rpccode.ServerFault) and
// codes it does not know; "none" for a span without a gRPC code.
func codeClass(name string) string {
	if name == "" {
		return "code none"
	}
	c, ok := rpccode.Parse(name)
	switch {
	case !ok || rpccode.ServerFault(c):
		return "code err"
	case c == 0:
		return "code ok"
	}
	return "code warn"
}

// kindClass is the CSS class of a span kind badge.
func kindClass(kind string) string {
	switch kind {
	case "server", "client":
		return "kind " + kind
	}
	return "kind other"
}

// spanTitle is what to call a span: its gRPC method, else its name.
func spanTitle(s view.Span) string {
	if s.Method != "" {
		return s.Method
	}
	if s.Name != "" {
		return s.Name
	}
	return "(unnamed span)"
}

// pageTitle is the document title: the page, then the service, so that tabs
// of several pages and services tell apart.
func pageTitle(p page) string {
	t := "debugz"
	if p.Process.Service != "" {
		t = p.Process.Service + " · " + t
	}
	if p.Title != "" {
		t = p.Title + " · " + t
	}
	return t
}

// processTitle says all there is of the process, for the header's tooltip.
func processTitle(p page) string {
	t := "host " + p.Process.Host + ", pid " + strconv.Itoa(p.Process.PID)
	if !p.Process.Start.IsZero() {
		t += ", started " + fmtTimestamp(p.Process.Start)
	}
	return t
}

// fmtUptime is a duration as a person reads an uptime: 3d 4h, 2h 5m, 7m, 12s.
func fmtUptime(d time.Duration) string {
	switch d = max(d, 0).Truncate(time.Second); {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
