package web

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/textcut"
)

// Query limits: the default and the most a request may ask for.
const (
	defaultLimit = 100
	maxLimit     = 1000
	maxParamLen  = 1024
)

// paramError is a malformed request parameter; its message names the
// parameter and says what was wrong, and nothing about the server.
type paramError struct {
	Param string
	Msg   string
}

func (e *paramError) Error() string { return fmt.Sprintf("parameter %s: %s", quote(e.Param), e.Msg) }

func badParam(name, format string, args ...any) *paramError {
	return &paramError{Param: name, Msg: fmt.Sprintf(format, args...)}
}

// queryParams are the parameters parseQuery reads.
var queryParams = []string{"method", "kind", "bucket", "code", "deadline", "retried", "min", "max", "trace", "before", "since", "peer", "limit"}

// The parameters each page takes (see NewHandler); any other is a 400.
var (
	summaryParams    = []string{"sort", "window"}
	apiParams        = []string{"pretty"} // JSON indented for people
	apiSummaryParams = []string{"window", "pretty"}
	profileParams    = []string{"seconds"}
	apiProfileParams = []string{"seconds", "pretty"}
	apiSpansParams   = append(slices.Clip(queryParams), "follow", "pretty")
)

// strictQuery parses r's query for a page that takes the parameters allowed:
// a parameter it does not take (a typo like ?methd=), one given twice, one
// longer than maxParamLen, or a query that does not parse (a ';' between
// parameters) is an error naming it, whose message quotes at most 64 bytes
// of anything the request sent.
func strictQuery(r *http.Request, allowed []string) *paramError {
	raw := r.URL.RawQuery
	v, err := url.ParseQuery(raw)
	if err != nil {
		return malformedQuery(raw)
	}
	for _, name := range slices.Sorted(maps.Keys(v)) {
		vals := v[name]
		switch {
		case !slices.Contains(allowed, name):
			takes := "no parameters"
			if len(allowed) > 0 {
				takes = "only " + strings.Join(allowed, ", ")
			}
			return &paramError{Param: cut(name), Msg: "unknown parameter: this page takes " + takes}
		case len(vals) > 1:
			return badParam(name, "given %d times; give it once", len(vals))
		case len(vals[0]) > maxParamLen:
			return badParam(name, "longer than %d bytes", maxParamLen)
		}
	}
	return nil
}

// malformedQuery names the first parameter of raw that url.ParseQuery
// rejects: one with a ';' or a bad %-escape.
func malformedQuery(raw string) *paramError {
	for part := range strings.SplitSeq(raw, "&") {
		if _, err := url.ParseQuery(part); err != nil {
			name, _, _ := strings.Cut(part, "=")
			name, _, _ = strings.Cut(name, ";")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			return &paramError{Param: cut(name), Msg: "malformed: join parameters with '&', not ';', and escape '%' as %25"}
		}
	}
	return &paramError{Msg: "malformed query"}
}

// cut cuts a name the request sent to 64 bytes, for an error to name.
func cut(s string) string { return textcut.Ellipsis(s, 64) }

// parseQuery reads the span filter of /spans and /api/spans, for a source of
// so many latency buckets; near words its near-deadline threshold for an
// error message. strictQuery has checked which parameters are given.
func parseQuery(v url.Values, buckets int, near nearWords) (view.Query, *paramError) {
	q := view.Query{Bucket: -1, Code: -1, Limit: defaultLimit}
	q.Method = strings.TrimPrefix(strings.TrimSpace(v.Get("method")), "/")
	switch k := v.Get("kind"); k {
	case "", "any":
	case "server", "client":
		q.Kind = k
	default:
		return q, badParam("kind", "must be server or client, not %s", quote(k))
	}
	if s := v.Get("bucket"); s != "" && s != "any" {
		b, err := strconv.Atoi(s)
		if err != nil || b < 0 || b >= buckets {
			return q, badParam("bucket", "must be a bucket index from 0 to %d, not %s", buckets-1, quote(s))
		}
		q.Bucket = b
	}
	switch s := v.Get("code"); {
	case s == "" || s == "any":
	case strings.EqualFold(s, "error") || strings.EqualFold(s, "errors"):
		q.Errors = true
	case strings.EqualFold(s, "fault") || strings.EqualFold(s, "caller"): // the server's faults, the callers' errors
		q.Errors, q.Side = true, strings.ToLower(s)
	default:
		c, ok := rpccode.Parse(s)
		if !ok {
			return q, badParam("code", "must be a gRPC code name like NOT_FOUND, a number from 0 to %d, error, fault or caller; not %s", rpccode.Max, quote(s))
		}
		q.Code = c
	}
	switch s := v.Get("deadline"); s {
	case "", "any":
	case "near":
		q.NearDeadline = true
	default:
		return q, badParam("deadline", "must be near (%s), not %s", near.Calls, quote(s))
	}
	switch s := v.Get("retried"); s {
	case "", "any", "0":
	case "1":
		q.Retried = true
	default:
		return q, badParam("retried", "must be 1 (client calls of more than one attempt) or 0, not %s", quote(s))
	}
	var err *paramError
	if q.Min, err = parseDuration(v, "min"); err != nil {
		return q, err
	}
	if q.Max, err = parseDuration(v, "max"); err != nil {
		return q, err
	}
	if q.Max > 0 && q.Min > q.Max {
		return q, badParam("min", "%v is above max %v", q.Min, q.Max)
	}
	if q.Trace, err = parseTrace(v); err != nil {
		return q, err
	}
	q.Peer = strings.TrimSpace(v.Get("peer"))
	if s := v.Get("before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, badParam("before", "must be a time like 2026-11-22T07:40:00.123456789Z (the next field of a page of /api/spans), not %s", quote(s))
		}
		q.Before = t
	}
	if q.Limit, err = parseLimit(v); err != nil {
		return q, err
	}
	return q, nil
}

// parseLimit reads the limit parameter: defaultLimit when absent.
func parseLimit(v url.Values) (int, *paramError) {
	s := v.Get("limit")
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badParam("limit", "must be a whole number from 1 to %d, not %s", maxLimit, quote(s))
	}
	return n, nil
}

// parseTrace reads the trace parameter: a trace ID in lowercase, "" when absent.
func parseTrace(v url.Values) (string, *paramError) {
	s := v.Get("trace")
	if s == "" {
		return "", nil
	}
	id, err := parseID(s, 16)
	if err != nil {
		return "", badParam("trace", "%s", err)
	}
	return id, nil
}

// parseFollow takes the follow parameter out of v: whether to stream.
func parseFollow(v url.Values) (bool, *paramError) {
	f := v.Get("follow")
	v.Del("follow")
	switch f {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, badParam("follow", "must be 1 or 0, not %s", quote(f))
}

func parseDuration(v url.Values, name string) (time.Duration, *paramError) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if n, nerr := strconv.ParseFloat(s, 64); nerr == nil && n == 0 {
			return 0, nil
		}
		return 0, badParam(name, "must be a duration like 250ms or 1.5s, not %s", quote(s))
	}
	if d < 0 {
		return 0, badParam(name, "must not be negative, not %s", quote(s))
	}
	return d, nil
}

// parseID checks a hex trace (16 bytes) or span (8 bytes) ID and returns it
// in lowercase.
func parseID(s string, size int) (string, error) {
	if len(s) != 2*size {
		return "", fmt.Errorf("must be %d hex digits, not %d characters", 2*size, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("must be %d hex digits", 2*size)
	}
	for _, c := range b {
		if c != 0 {
			return strings.ToLower(s), nil
		}
	}
	return "", fmt.Errorf("must not be all zeros")
}

// quote quotes s for a message, cut to 64 bytes: an error never echoes a
// long parameter back.
func quote(s string) string {
	if c := cut(s); len(c) < len(s) {
		return strconv.Quote(strings.TrimSuffix(c, "…")) + "…"
	}
	return strconv.Quote(s)
}

// The summary's windows: since start, or the calls that ended in the last
// minute or the last 10 minutes (view.Method.In).
const (
	windowAll = "all"
	window1m  = "1m"
	window10m = "10m"
)

// windows are the window parameter's values, the default first.
var windows = []string{windowAll, window10m, window1m}

// parseWindow reads the summary's window parameter: "all" when absent.
func parseWindow(v url.Values) (string, *paramError) {
	switch w := v.Get("window"); w {
	case "", windowAll:
		return windowAll, nil
	case window1m, window10m:
		return w, nil
	default:
		return "", badParam("window", "must be 1m (the last minute), 10m (the last 10 minutes) or all (since start), not %s", quote(w))
	}
}

// parseSince reads the since parameter of the span list and the logs: a
// duration before now ("5m", "90s") or a time ("2026-11-22T07:40:00Z");
// the zero time, for any, when absent.
func parseSince(v url.Values, now time.Time) (time.Time, *paramError) {
	s := strings.TrimSpace(v.Get("since"))
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, badParam("since", "must be a positive duration like 5m, not %s", quote(s))
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badParam("since", "must be a duration before now like 5m or 1h, or a time like 2026-11-22T07:40:00Z; not %s", quote(s))
	}
	return t, nil
}
