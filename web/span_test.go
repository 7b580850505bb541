package web

import (
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
