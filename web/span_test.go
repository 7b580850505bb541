package web

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

func TestMessageTicks(t *testing.T) {
	s := view.Span{Duration: 2 * time.Millisecond, Events: []view.Event{
		{Name: "message", Offset: 0, Message: "RECEIVED", MessageID: "1", MessageSize: "12"},
		{Name: "cache miss", Offset: time.Millisecond},
		{Name: "message", Offset: 2 * time.Millisecond, Message: "SENT"},
		{Name: "message", Offset: 3 * time.Millisecond, Message: "SENT", MessageID: "2"},
	}}
	want := []tick{
		{X: "0", Sent: false, Title: "+0 RECEIVED #1 12 B"},
		{X: "1000", Sent: true, Title: "+2.00ms SENT"},
		{X: "1000", Sent: true, Title: "+3.00ms SENT #2"},
	}
	got := messageTicks(s)
	if len(got) != len(want) {
		t.Fatalf("messageTicks(%v) = %v; want %v", s.Events, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("messageTicks(…)[%d] = %v; want %v", i, got[i], want[i])
		}
	}
	if got := messageTicks(view.Span{Events: []view.Event{{Name: "message", Message: "SENT"}}}); len(got) != 1 || got[0].X != "0" {
		t.Errorf("messageTicks of a span without a duration = %v; want one tick at 0", got)
	}
}

func TestEventRowsMarkUnrecordedMessages(t *testing.T) {
	evs := []view.Event{
		{Message: "SENT", MessageID: "1"}, {Message: "RECEIVED", MessageID: "1"},
		{Message: "SENT", MessageID: "8"}, {Name: "other"}, {Message: "SENT", MessageID: "108"},
		{Message: "RECEIVED", MessageID: "2"},
	}
	var got []int
	for _, r := range eventRows(view.Span{Events: evs}) {
		got = append(got, r.Unrecorded)
	}
	if want := []int{0, 0, 6, 0, 99, 0}; !slices.Equal(got, want) {
		t.Errorf("unrecorded before each event = %v; want %v", got, want)
	}
}

func TestAttrTextShowsNanosecondsAsDuration(t *testing.T) {
	for _, tt := range []struct {
		a    view.Attr
		want string
	}{
		{view.Attr{Key: "debugz.deadline.budget_ns", Type: "int64", Value: "4999947431"}, "5.00s (4999947431 ns)"},
		{view.Attr{Key: "debugz.deadline.budget_ns", Type: "string", Value: "soon"}, "soon"},
		{view.Attr{Key: "user.id", Type: "int64", Value: "42"}, "42"},
	} {
		if got := attrText(tt.a); got != tt.want {
			t.Errorf("attrText(%v) = %q; want %q", tt.a, got, tt.want)
		}
	}
}

func TestRelatedSpans(t *testing.T) {
	client := view.Span{SpanID: "c", Method: "a.B/C", Kind: "client"}
	server := view.Span{SpanID: "s", ParentSpanID: "c", Method: "a.B/C", Kind: "server"}
	child := view.Span{SpanID: "k", ParentSpanID: "s", Name: "db.query", Kind: "internal"}
	other := view.Span{SpanID: "o", ParentSpanID: "x", Kind: "internal"}
	parent, children := related(server, view.Trace{Spans: []view.Span{client, server, child, other}})
	if parent == nil || parent.SpanID != "c" || len(children) != 1 || children[0].SpanID != "k" {
		t.Errorf("related(server) = %v, %v; want the client as parent and the query as child", parent, children)
	}
	if !otherSide(server, client) || otherSide(server, child) || otherSide(client, client) {
		t.Error("otherSide: want the client and server of one method only")
	}
}

// TestEventRowsInterleaveLogs: log lines fall between the events by time,
// and the first one kept after skipped ones says how many were not kept.
func TestEventRowsInterleaveLogs(t *testing.T) {
	s := view.Span{Events: []view.Event{{Name: "a", Offset: 1}, {Name: "c", Offset: 3}}}
	for i := range 16 {
		s.Logs = append(s.Logs, view.LogLine{Message: strconv.Itoa(i), Offset: time.Duration(2 + i*0)})
	}
	s.LogsSkipped = 5
	rows := eventRows(s)
	if len(rows) != 18 || rows[0].Name != "a" || rows[1].Log == nil || rows[17].Name != "c" {
		t.Fatalf("rows: %d, first %q, second a log %v, last %q; want a, 16 log lines, c", len(rows), rows[0].Name, rows[1].Log != nil, rows[17].Name)
	}
	if rows[9].NotKept != 5 || rows[9].Log.Message != "8" {
		t.Errorf("row 9 = %+v; want the 9th log line (8), after 5 not kept", rows[9])
	}
}

func TestOnlyPeer(t *testing.T) {
	o := view.ChannelzOverview{
		Servers: []view.ChannelzServer{{ID: 1, Sockets: []view.ChannelzSocket{{ID: 10, Remote: "127.0.0.1:1"}, {ID: 11, Remote: "127.0.0.1:2"}}}},
		Channels: []view.ChannelzChannel{{ID: 2, Subchannels: []view.ChannelzChannel{{ID: 3, Sockets: []view.ChannelzSocket{{ID: 12, Local: "127.0.0.1:2"}}}}},
			{ID: 4, Subchannels: []view.ChannelzChannel{{ID: 5, Sockets: []view.ChannelzSocket{{ID: 13, Local: "127.0.0.1:9"}}}}}},
	}
	f := onlyPeer(o, "127.0.0.1:2")
	if len(f.Servers) != 1 || len(f.Servers[0].Sockets) != 1 || f.Servers[0].Sockets[0].ID != 11 ||
		len(f.Channels) != 1 || f.Channels[0].ID != 2 {
		t.Errorf("onlyPeer = %+v; want server 1 with socket 11 and channel 2", f)
	}
}

// TestStacksOnDemand: a running call's page takes its stacks while the
// process has few goroutines, and above Config.StacksAbove offers them (a
// link to ?stacks=1) without asking the Source; the JSON asks only with
// ?stacks=1; a bad stacks value is a 400 naming it.
func TestStacksOnDemand(t *testing.T) {
	const running = "2222222222222222"
	for _, tt := range []struct {
		name      string
		above     int
		path      string
		dumps     int
		body, not string
	}{
		{"page, few goroutines", 0, "/spans/" + running, 1, "main.wait", "?stacks=1"},
		{"page, many goroutines", -1, "/spans/" + running, 0, `href="../spans/` + running + `?stacks=1"`, "main.wait"},
		{"page asked, many goroutines", -1, "/spans/" + running + "?stacks=1", 1, "main.wait", "?stacks=1"},
		{"page of an ended call", 0, "/spans/" + testSpan, 0, "FetchUser", "Where it is now"},
		{"JSON", 0, "/api/spans/" + running, 0, `"span_id":"` + running, "goroutines"},
		{"JSON asked", -1, "/api/spans/" + running + "?stacks=1", 1, `"goroutines":[{"count":2,"frames":["main.wait`, "?stacks"},
		{"JSON asked, ended call", 0, "/api/spans/" + testSpan + "?stacks=1", 0, `"span_id":"` + testSpan, "goroutines"},
		{"bad value", 0, "/api/spans/" + running + "?stacks=yes", 0, `"parameter":"stacks"`, "goroutines"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSource()
			src.add(view.Span{TraceID: testTrace, SpanID: running, Name: "a.S/Slow", Method: "a.S/Slow", Kind: "server",
				Start: fixedNow.Add(-time.Minute), Duration: time.Minute, Running: true})
			ts := newTestServer(t, src, view.Config{StacksAbove: tt.above})
			_, body := testRequest(t, ts, "GET", "/debug/rpcs"+tt.path)
			if !strings.Contains(body, tt.body) || strings.Contains(body, tt.not) {
				t.Errorf("GET %s: body lacks %q or holds %q:\n%.3000s", tt.path, tt.body, tt.not, body)
			}
			if src.dumps != tt.dumps {
				t.Errorf("GET %s took %d goroutine dumps; want %d", tt.path, src.dumps, tt.dumps)
			}
		})
	}
}
