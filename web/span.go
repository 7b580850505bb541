package web

import (
	"strconv"
	"time"
)

// spanPage is one span at "/spans/{spanID}".
type spanPage struct {
	page
	Span    Span
	Buckets []time.Duration
}

// tick is one message on a span's message timeline, placed on 0–1000.
type tick struct {
	X     string
	Sent  bool
	Title string
}

// messageTicks places the span's message events on its duration.
func messageTicks(s Span) []tick {
	var out []tick
	for _, e := range s.Events {
		if e.Message == "" {
			continue
		}
		t := tick{Sent: e.Message == "SENT", Title: fmtOffset(e.Offset) + " " + e.Message}
		if e.MessageID != "" {
			t.Title += " #" + e.MessageID
		}
		if e.MessageSize != "" {
			t.Title += " " + e.MessageSize + " B"
		}
		x := 0.0
		if s.Duration > 0 {
			x = min(max(1000*float64(e.Offset)/float64(s.Duration), 0), 1000)
		}
		t.X = strconv.Itoa(int(x))
		out = append(out, t)
	}
	return out
}
