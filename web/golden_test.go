package web

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/a-h/templ"
	"github.com/debugz/debugz/internal/rpccode"
	"golang.org/x/net/html"
)

// Golden pages: every full page rendered from fixed view models and compared
// with web/testdata/<name>.golden.html. Regenerate with
//
//	go test ./web -run TestGolden -update
var updateGolden = flag.Bool("update", false, "rewrite web/testdata/*.golden.html")

const (
	goldenEvilMethod = "evil.Svc/<script>alert(1)</script>"
	goldenEvilScript = "<script>alert(1)</script>"
	goldenEvilImg    = `"><img src=x onerror=alert(1)>`
	goldenTraceID    = "4bf92f3577b34da6a3ce929d0e0e4736"
	goldenRootID     = "00f067aa0ba902b7"
	goldenChildID    = "b7ad6b7169203331"
	goldenLeafID     = "53995c3f42cd8ad8"

	// goldenNearDeadline is the threshold the root package passes.
	goldenNearDeadline = 0.8
)

var (
	goldenNow     = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	goldenBuckets = []time.Duration{0, 100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond,
		100 * time.Millisecond, time.Second, 10 * time.Second}
)

func goldenPage(title, base, nav, live string) page {
	return page{Title: title, Base: base, Nav: nav, Now: goldenNow, Live: live, Near: nearText(goldenNearDeadline),
		Process: view.Process{Service: "usersvc <b>", Version: "v1.4.2", Host: "api-7f9c", PID: 4242, Start: goldenNow.Add(-50 * time.Hour)}}
}

func goldenSummary() summaryPage {
	return summaryPage{
		page: goldenPage("RPCs", "./", "summary", "./live/summary?sort=count"),
		Sort: "count",
		Summary: view.Summary{
			Capacity: 8192, Retained: 1234, Evicted: 99, Buckets: goldenBuckets,
			Methods: []view.Method{
				{
					Method: "user.UserService/FetchUser", Kind: "server", Count: 12345, Errors: 7, Active: 1,
					Last1m: view.Window{Count: 120}, Last10m: view.Window{Count: 1180, Errors: 2},
					Codes:   []view.CodeCount{{Code: 0, Name: "OK", Count: 12338}, {Code: 5, Name: "NOT_FOUND", Count: 7}},
					Buckets: []uint64{10, 11000, 1300, 30, 5, 0, 0},
					P50:     81 * time.Microsecond, P90: 140 * time.Microsecond, P99: 900 * time.Microsecond,
					Max: 2100 * time.Microsecond, Rate: 2, LastSeen: goldenNow.Add(-time.Second),
					Recent:   view.Latency{Count: 120, P50: 95 * time.Microsecond, P90: 210 * time.Microsecond, P99: 4 * time.Millisecond, Max: 4200 * time.Microsecond},
					MsgCalls: 12345, MsgSent: 12345, MsgReceived: 12345, BytesSent: 12345 * 210, BytesReceived: 12345 * 12, NearDeadline: 3,
				},
				{
					Method: "user.UserService/UpdateUser", Kind: "server", Count: 230, Errors: 12, Faults: 8,
					Last1m: view.Window{Count: 20, Errors: 3, Faults: 2}, Last10m: view.Window{Count: 200, Errors: 9, Faults: 6},
					LogWarnings: 4, LogErrors: 1, Retried: 2,
					Codes:   []view.CodeCount{{Code: 0, Name: "OK", Count: 218}, {Code: 3, Name: "INVALID_ARGUMENT", Count: 4}, {Code: 13, Name: "INTERNAL", Count: 3}, {Code: 14, Name: "UNAVAILABLE", Count: 5}},
					Buckets: []uint64{0, 20, 150, 55, 4, 1, 0},
					P50:     3200 * time.Microsecond, P90: 12 * time.Millisecond, P99: 180 * time.Millisecond,
					Max: 1500 * time.Millisecond, Rate: 0.25,
				},
				{
					Method: goldenEvilMethod, Kind: "server", Count: 3, Errors: 3,
					Codes:   []view.CodeCount{{Code: 2, Name: "UNKNOWN", Count: 3}},
					Buckets: []uint64{0, 3, 0, 0, 0, 0, 0},
					P50:     120 * time.Microsecond, P90: 150 * time.Microsecond, P99: 150 * time.Microsecond,
					Max: 150 * time.Microsecond, Rate: 0.05,
				},
				{Method: "stream.Feed/Subscribe", Kind: "server", Active: 2, Buckets: make([]uint64, 7)},
				{
					Method: "billing.Billing/Charge", Kind: "client", Count: 50, Errors: 2,
					Codes:   []view.CodeCount{{Code: 0, Name: "OK", Count: 48}, {Code: 4, Name: "DEADLINE_EXCEEDED", Count: 2}},
					Buckets: []uint64{0, 0, 10, 38, 0, 2, 0},
					P50:     15 * time.Millisecond, P90: 42 * time.Millisecond, P99: 2 * time.Second,
					Max: 2 * time.Second, Rate: 0.8,
				},
			},
		},
	}
}

func goldenSpans() []view.Span {
	start := goldenNow.Add(-3 * time.Second)
	return []view.Span{
		{
			TraceID: goldenTraceID, SpanID: goldenChildID, ParentSpanID: goldenRootID,
			Name: "user.UserService/FetchUser", Method: "user.UserService/FetchUser", Kind: "server",
			Code: "NOT_FOUND", CodeNum: 5, StatusCode: "Unset", StatusMessage: "user 42 not found",
			Start: start.Add(1200 * time.Microsecond), Duration: 2100 * time.Microsecond, Bucket: 2,
			Peer: "127.0.0.1:53412", Sampled: true,
		},
		{
			TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "e457b5a2e4d86bd1",
			Name: goldenEvilMethod, Method: goldenEvilMethod, Kind: "server",
			Code: "UNKNOWN", CodeNum: 2, StatusCode: "Error", StatusMessage: goldenEvilImg,
			Start: start.Add(-400 * time.Millisecond), Duration: 150 * time.Microsecond, Bucket: 1,
			Peer: "[::1]:60001", Sampled: true,
		},
		{
			TraceID: "5b8efff798038103d269b633813fc60c", SpanID: "eee19b7ec3c1b174",
			Name: "user.UserService/FetchUser", Method: "user.UserService/FetchUser", Kind: "server",
			Code: "INTERNAL", CodeNum: 13, StatusCode: "Error", StatusMessage: "db: connection reset",
			Start: start.Add(-2 * time.Second), Duration: 1500 * time.Millisecond, Bucket: 5,
			Peer: "10.0.3.7:41022", Sampled: false,
		},
	}
}

func goldenSpansPage() spansPage {
	return spansPage{
		page:    goldenPage("RPCs", "./", "spans", "./live/spans?errors=&kind=server&method=user.UserService%2FFetchUser&min=1ms"),
		Query:   view.Query{Method: "user.UserService/FetchUser", Kind: "server", Bucket: -1, Code: -1, Errors: true, Min: time.Millisecond, Limit: 100},
		Spans:   goldenSpans(),
		Matched: 250,
		Older:   "./spans?before=2026-11-21T11%3A59%3A58Z&kind=server&method=user.UserService%2FFetchUser",
		Methods: []string{"billing.Billing/Charge", goldenEvilMethod, "stream.Feed/Subscribe",
			"user.UserService/FetchUser", "user.UserService/UpdateUser"},
		Buckets:  goldenBuckets,
		Codes:    rpccode.Names(),
		MinText:  "1ms",
		LimitMax: 1000,
	}
}

func goldenSpanPage() spanPage {
	s := goldenSpans()[0]
	s.Truncated = true
	s.Attributes = []view.Attr{
		{Key: "evil.img", Value: goldenEvilImg, Type: "string"},
		{Key: "evil.script", Value: goldenEvilScript, Type: "string"},
		{Key: "network.peer.address", Value: "127.0.0.1", Type: "string"},
		{Key: "network.peer.port", Value: "53412", Type: "int64"},
		{Key: "rpc.method", Value: "user.UserService/FetchUser", Type: "string"},
		{Key: "rpc.response.status_code", Value: "NOT_FOUND", Type: "string"},
		{Key: "rpc.system.name", Value: "grpc", Type: "string"},
		{Key: "user.token", Value: "[redacted]", Type: "string"},
	}
	s.Events = []view.Event{
		{Name: "message", Time: s.Start.Add(40 * time.Microsecond), Offset: 40 * time.Microsecond,
			Attributes: []view.Attr{{Key: "rpc.message.type", Value: "RECEIVED", Type: "string"}, {Key: "rpc.message.id", Value: "1", Type: "int64"}},
			Message:    "RECEIVED", MessageID: "1"},
		{Name: "cache miss " + goldenEvilScript, Time: s.Start.Add(1234 * time.Microsecond), Offset: 1234 * time.Microsecond},
	}
	s.Resource = []view.Attr{
		{Key: "service.name", Value: "userd", Type: "string"},
		{Key: "telemetry.sdk.language", Value: "go", Type: "string"},
	}
	s.Scope = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	s.ScopeVersion = "0.72.0"
	s.MessagesKnown, s.MessagesSent, s.MessagesReceived, s.BytesSent, s.BytesReceived = true, 1, 1, 210, 12
	s.DeadlineUsed, s.DeadlineKnown, s.NearDeadline = 0.93, true, true
	client := view.Span{TraceID: s.TraceID, SpanID: "a3ce929d0e0e4736", Name: s.Method, Method: s.Method, Kind: "client",
		Code: "NOT_FOUND", CodeNum: 5, StatusMessage: "user 42 not found", Duration: 2500 * time.Microsecond}
	child := view.Span{TraceID: s.TraceID, SpanID: goldenLeafID, ParentSpanID: s.SpanID, Name: "db.query " + goldenEvilScript,
		Kind: "internal", Duration: 600 * time.Microsecond}
	return spanPage{page: goldenPage("user.UserService/FetchUser", "../", "spans", ""), Span: s, Buckets: goldenBuckets,
		Parent: &client, Children: []view.Span{child}}
}

func goldenTracePage() tracePage {
	start := goldenNow.Add(-3 * time.Second)
	root := view.Span{
		TraceID: goldenTraceID, SpanID: goldenRootID, Name: "GET /users/42", Kind: "internal",
		StatusCode: "Unset", Start: start, Duration: 4 * time.Millisecond, Sampled: true,
	}
	client := view.Span{
		TraceID: goldenTraceID, SpanID: "a3ce929d0e0e4736", ParentSpanID: goldenRootID,
		Name: "user.UserService/FetchUser", Method: "user.UserService/FetchUser", Kind: "client",
		Code: "NOT_FOUND", CodeNum: 5, StatusCode: "Error", Start: start.Add(time.Millisecond),
		Duration: 2500 * time.Microsecond, Bucket: 2, Peer: "127.0.0.1:50051", Sampled: true,
	}
	server := goldenSpans()[0]
	server.ParentSpanID = client.SpanID
	server.Logs = []view.LogLine{{Time: server.Start.Add(time.Millisecond), Level: "WARN", Message: "cache miss " + goldenEvilScript}}
	leaf := view.Span{
		TraceID: goldenTraceID, SpanID: goldenLeafID, ParentSpanID: server.SpanID,
		Name: goldenEvilMethod, Method: goldenEvilMethod, Kind: "client", Code: "OK",
		StatusCode: "Unset", Start: start.Add(1500 * time.Microsecond), Duration: 600 * time.Microsecond, Bucket: 1,
	}
	running := view.Span{
		TraceID: goldenTraceID, SpanID: "7777777777777777", ParentSpanID: server.SpanID,
		Name: "payment.PaymentService/Charge", Method: "payment.PaymentService/Charge", Kind: "client",
		Start: start.Add(2 * time.Millisecond), Duration: 2 * time.Millisecond, Running: true,
	}
	orphan := view.Span{
		TraceID: goldenTraceID, SpanID: "8888888888888888", ParentSpanID: "9999999999999999",
		Name: "cache.lookup", Kind: "internal", StatusCode: "Unset", Start: start.Add(3 * time.Millisecond), Duration: 100 * time.Microsecond,
	}
	t := view.Trace{TraceID: goldenTraceID, Start: start, End: start.Add(4 * time.Millisecond), Spans: []view.Span{root, client, server, leaf, running, orphan}}
	return tracePage{
		page:  goldenPage("Trace "+shortID(goldenTraceID), "../", "", ""),
		Trace: t,
		Logs:  traceLogs(t),
		Rows: []traceRow{
			{Span: root, Depth: 0, OffsetPct: 0, WidthPct: 100},
			{Span: client, Depth: 1, OffsetPct: 25, WidthPct: 62.5},
			{Span: server, Depth: 2, OffsetPct: 30, WidthPct: 52.5},
			{Span: leaf, Depth: 3, OffsetPct: 37.5, WidthPct: 15},
			{Span: running, Depth: 3, OffsetPct: 50, WidthPct: 50},
			{Span: orphan, Depth: 0, OffsetPct: 75, WidthPct: 2.5, Orphan: true},
		},
	}
}

func goldenActivePage() activePage {
	return activePage{
		page: goldenPage("In flight", "./", "active", "./live/active"),
		Active: []view.Active{
			{TraceID: "7d2b0e1c9a4f4e3b8c6d5a4b3c2d1e0f", SpanID: "1a2b3c4d5e6f7a8b", Method: "stream.Feed/Subscribe",
				Kind: "server", Start: goldenNow.Add(-95 * time.Second), Peer: "127.0.0.1:53000",
				ProgressKnown: true, Sent: 1200, Received: 3},
			{TraceID: goldenTraceID, SpanID: "2b3c4d5e6f7a8b9c", Method: goldenEvilMethod,
				Kind: "client", Start: goldenNow.Add(-1234 * time.Millisecond), Peer: goldenEvilImg,
				ProgressKnown: true, Sent: 1, Deadline: goldenNow.Add(766 * time.Millisecond)},
			{TraceID: goldenTraceID, SpanID: "3c4d5e6f7a8b9c0d", Method: "user.UserService/FetchUser",
				Kind: "server", Start: goldenNow.Add(-6 * time.Second), Deadline: goldenNow.Add(-time.Second)},
		},
		Total: 5, // 2 more than listed
	}
}

// goldenCases are the pages under test, by golden file name.
func goldenCases() []struct {
	name string
	c    templ.Component
} {
	emptySummary := goldenSummary()
	emptySummary.Summary.Methods = nil
	emptySummary.Sort = "method"
	emptySummary.Live = "./live/summary?sort=method"
	emptySpans := goldenSpansPage()
	emptySpans.Spans = nil
	emptySpans.Query.Method = goldenEvilMethod
	emptySpans.Query.Errors = false
	emptySpans.Query.Code = 4
	emptySpans.Query.Bucket = 6
	emptyActive := goldenActivePage()
	emptyActive.Active = nil
	return []struct {
		name string
		c    templ.Component
	}{
		{"summary", summaryView(goldenSummary())},
		{"summary_empty", summaryView(emptySummary)},
		{"spans", spansView(goldenSpansPage())},
		{"spans_empty", spansView(emptySpans)},
		{"span", spanView(goldenSpanPage())},
		{"trace", traceView(goldenTracePage())},
		{"active", activeView(goldenActivePage())},
		{"active_empty", activeView(emptyActive)},
		{"error_404", errorView(errorPage{page: goldenPage("Not Found", "../", "", ""), Status: 404,
			Message: `span "0123456789abcdef" is not retained`})},
		{"error_400", errorView(errorPage{page: goldenPage("Bad Request", "./", "", ""), Status: 400,
			Message: `parameter "min": time: invalid duration "` + goldenEvilScript + `"`})},
	}
}

func goldenRender(t *testing.T, c templ.Component) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := goldenFormat(goldenRender(t, tc.c))
			path := filepath.Join("testdata", tc.name+".golden.html")
			actual := filepath.Join("testdata", tc.name+".actual.html")
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				_ = os.Remove(actual)
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./web -run TestGolden -update to create it)", err)
			}
			if got == goldenFormat(string(want)) {
				_ = os.Remove(actual)
				return
			}
			if err := os.WriteFile(actual, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Errorf("%s differs from %s at %s\n(diff %s %s; rerun with -update if the change is intended)",
				actual, path, goldenFirstDiff(goldenFormat(string(want)), got), path, actual)
		})
	}
}

// goldenFirstDiff describes the first line where want and got differ.
func goldenFirstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	line := func(lines []string) string {
		if i < len(lines) {
			return strings.TrimSpace(lines[i])
		}
		return "(end of file)"
	}
	return fmt.Sprintf("line %d:\n want: %s\n  got: %s", i+1, line(w), line(g))
}

// goldenFormat puts each token of a page on a line of its own, indented by
// its depth, so that golden files are readable and diff line by line. Text
// stays byte for byte: the only whitespace goldenFormat adds is a newline and
// the indentation before each token, and goldenTokens strips exactly that, so
// a formatted page formats to itself and a golden file equals the page it was
// written from however it was formatted.
func goldenFormat(page string) string {
	var b strings.Builder
	for _, t := range goldenTokens(page) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(goldenIndent(t.depth))
		b.WriteString(t.raw)
	}
	b.WriteByte('\n')
	return b.String()
}

// goldenToken is a token of a page as it was rendered, with its depth.
type goldenToken struct {
	raw   string
	depth int
}

// goldenTokens splits a page, formatted or not, into the tokens it was
// rendered as: text loses the newline and indentation goldenFormat puts
// before it and before the next token, and text that was only that goes.
func goldenTokens(page string) []goldenToken {
	type token struct {
		goldenToken
		text bool
	}
	var toks []token
	z := html.NewTokenizer(strings.NewReader(page))
	depth := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		t := token{goldenToken{raw: string(z.Raw()), depth: depth}, tt == html.TextToken}
		switch tt {
		case html.StartTagToken:
			if name, _ := z.TagName(); !goldenVoid[string(name)] {
				depth++
			}
		case html.EndTagToken:
			depth = max(depth-1, 0)
			t.depth = depth
		}
		toks = append(toks, t)
	}
	out := make([]goldenToken, 0, len(toks))
	for i, t := range toks {
		if t.text {
			next := 0
			if i+1 < len(toks) {
				next = toks[i+1].depth
			}
			t.raw = strings.TrimPrefix(t.raw, "\n"+goldenIndent(t.depth))
			t.raw = strings.TrimSuffix(t.raw, "\n"+goldenIndent(next))
			if t.raw == "" {
				continue
			}
		}
		out = append(out, t.goldenToken)
	}
	return out
}

func goldenIndent(depth int) string { return strings.Repeat("  ", depth) }

// goldenVoid are the elements that have no end tag.
var goldenVoid = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true,
	"hr": true, "img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// The formatting loses nothing: every page formats to itself formatted, and
// its tokens, without the formatting, are the page as rendered.
func TestGoldenFormatIsLossless(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			page := goldenRender(t, tc.c)
			formatted := goldenFormat(page)
			if again := goldenFormat(formatted); again != formatted {
				t.Errorf("goldenFormat(goldenFormat(%s)) differs from goldenFormat(%s) at %s", tc.name, tc.name, goldenFirstDiff(formatted, again))
			}
			var b strings.Builder
			for _, tok := range goldenTokens(formatted) {
				b.WriteString(tok.raw)
			}
			if b.String() != page {
				t.Errorf("goldenTokens(goldenFormat(%s)) = %.200q…; want the page as rendered", tc.name, b.String())
			}
		})
	}
}

// The hostile method name, attribute values and messages stay text.
func TestGoldenEscapesScript(t *testing.T) {
	for _, tc := range goldenCases() {
		if tc.name == "summary_empty" || tc.name == "active_empty" || tc.name == "error_404" {
			continue // no hostile input on these pages
		}
		t.Run(tc.name, func(t *testing.T) {
			got := goldenRender(t, tc.c)
			if strings.Contains(got, "<script>alert") {
				t.Errorf("%s contains an unescaped <script>alert", tc.name)
			}
			if strings.Contains(got, "<img") {
				t.Errorf("%s contains an unescaped <img", tc.name)
			}
			if !strings.Contains(got, "&lt;script&gt;alert") && !strings.Contains(got, "%3Cscript%3Ealert") {
				t.Errorf("%s does not contain the escaped &lt;script&gt;alert", tc.name)
			}
		})
	}
	got := goldenRender(t, summaryView(goldenSummary()))
	if !strings.Contains(got, "&lt;script&gt;alert") {
		t.Errorf("summary does not show the method name escaped as &lt;script&gt;alert")
	}
	if !strings.Contains(got, "method=evil.Svc%2F%3Cscript%3Ealert%281%29%3C%2Fscript%3E") {
		t.Errorf("summary does not link to the method with its name query-escaped")
	}
}

// Every page must work under the Content-Security-Policy the handler sends:
// no inline style or script, no event-handler attribute, nothing from
// another host.
func TestGoldenCSPHygiene(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := goldenRender(t, tc.c)
			for _, bad := range []string{" style=", "http://", "https://", "javascript:"} {
				if strings.Contains(got, bad) {
					t.Errorf("%s contains %q", tc.name, bad)
				}
			}
			z := html.NewTokenizer(strings.NewReader(got))
			inScript := false
			for {
				tt := z.Next()
				switch tt {
				case html.ErrorToken:
					if z.Err() != io.EOF {
						t.Fatalf("tokenize: %v", z.Err())
					}
					return
				case html.TextToken:
					if inScript && strings.TrimSpace(string(z.Text())) != "" {
						t.Errorf("%s has an inline script: %q", tc.name, z.Text())
					}
				case html.EndTagToken:
					inScript = false
				case html.StartTagToken, html.SelfClosingTagToken:
					tok := z.Token()
					if tok.Data == "script" {
						inScript = true
						if !goldenHasAttr(tok, "src") {
							t.Errorf("%s has a <script> without src", tc.name)
						}
					}
					for _, a := range tok.Attr {
						if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
							t.Errorf("%s: <%s %s=%q> is forbidden by the CSP", tc.name, tok.Data, a.Key, a.Val)
						}
						if (a.Key == "href" || a.Key == "src" || a.Key == "action") &&
							(strings.HasPrefix(a.Val, "/") || strings.Contains(a.Val, "//")) {
							t.Errorf("%s: <%s %s=%q> is not a relative link", tc.name, tok.Data, a.Key, a.Val)
						}
					}
				}
			}
		})
	}
}

func goldenHasAttr(tok html.Token, key string) bool {
	for _, a := range tok.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
