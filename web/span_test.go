package web

import (
	"slices"
	"testing"
	"time"
)

func TestMessageTicks(t *testing.T) {
	s := Span{Duration: 2 * time.Millisecond, Events: []Event{
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
	if got := messageTicks(Span{Events: []Event{{Name: "message", Message: "SENT"}}}); len(got) != 1 || got[0].X != "0" {
		t.Errorf("messageTicks of a span without a duration = %v; want one tick at 0", got)
	}
}

func TestEventRowsMarkUnrecordedMessages(t *testing.T) {
	evs := []Event{
		{Message: "SENT", MessageID: "1"}, {Message: "RECEIVED", MessageID: "1"},
		{Message: "SENT", MessageID: "8"}, {Name: "other"}, {Message: "SENT", MessageID: "108"},
		{Message: "RECEIVED", MessageID: "2"},
	}
	var got []int
	for _, r := range eventRows(evs) {
		got = append(got, r.Unrecorded)
	}
	if want := []int{0, 0, 6, 0, 99, 0}; !slices.Equal(got, want) {
		t.Errorf("unrecorded before each event = %v; want %v", got, want)
	}
}

func TestAttrTextShowsNanosecondsAsDuration(t *testing.T) {
	for _, tt := range []struct {
		a    Attr
		want string
	}{
		{Attr{Key: "debugz.deadline.budget_ns", Type: "int64", Value: "4999947431"}, "5.00s (4999947431 ns)"},
		{Attr{Key: "debugz.deadline.budget_ns", Type: "string", Value: "soon"}, "soon"},
		{Attr{Key: "user.id", Type: "int64", Value: "42"}, "42"},
	} {
		if got := attrText(tt.a); got != tt.want {
			t.Errorf("attrText(%v) = %q; want %q", tt.a, got, tt.want)
		}
	}
}

func TestRelatedSpans(t *testing.T) {
	client := Span{SpanID: "c", Method: "a.B/C", Kind: "client"}
	server := Span{SpanID: "s", ParentSpanID: "c", Method: "a.B/C", Kind: "server"}
	child := Span{SpanID: "k", ParentSpanID: "s", Name: "db.query", Kind: "internal"}
	other := Span{SpanID: "o", ParentSpanID: "x", Kind: "internal"}
	parent, children := related(server, Trace{Spans: []Span{client, server, child, other}})
	if parent == nil || parent.SpanID != "c" || len(children) != 1 || children[0].SpanID != "k" {
		t.Errorf("related(server) = %v, %v; want the client as parent and the query as child", parent, children)
	}
	if !otherSide(server, client) || otherSide(server, child) || otherSide(client, client) {
		t.Error("otherSide: want the client and server of one method only")
	}
}
