package web

import (
	"strings"
	"testing"
	"time"
)

func TestGroupMethods(t *testing.T) {
	ms := []Method{
		{Method: "b", Kind: "client"}, {Method: "z", Kind: "server"},
		{Method: "a", Kind: "server"}, {Method: "q", Kind: "producer"},
	}
	var got []string
	for _, g := range groupMethods(ms) {
		var names []string
		for _, m := range g.Methods {
			names = append(names, m.Method)
		}
		got = append(got, g.Title+":"+strings.Join(names, ","))
	}
	want := "Server:z,a Client:b Other:q"
	if strings.Join(got, " ") != want {
		t.Errorf("groupMethods(%v) = %v; want %v", ms, strings.Join(got, " "), want)
	}
	if g := groupMethods(nil); len(g) != 0 {
		t.Errorf("groupMethods(nil) = %v; want none", g)
	}
}

func TestHistBars(t *testing.T) {
	bars := histBars([]uint64{0, 1000, 1, 0}, bucketRanges([]time.Duration{0, time.Microsecond, time.Millisecond, time.Second}))
	if len(bars) != 2 {
		t.Fatalf("histBars(%q) = %v; want 2 bars", "0,1000,1,0", bars)
	}
	tests := []struct {
		name string
		got  histBar
		want histBar
	}{
		{"tallest fills the height", bars[0], histBar{X: "6", Y: "0", W: "5", H: "32"}},
		{"one still shows on a log scale", bars[1], histBar{X: "12", Y: "29", W: "5", H: "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("histBars bar = %v; want %v", tt.got, tt.want)
			}
		})
	}
}
