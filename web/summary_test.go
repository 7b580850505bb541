package web

import (
	"strings"
	"testing"

	"github.com/debugz/debugz/internal/view"
)

func TestGroupMethods(t *testing.T) {
	ms := []view.Method{
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

// TestSortErrorsPutsFaultsFirst: sorting by errors ranks the server's
// faults above any number of callers' errors.
func TestSortErrorsPutsFaultsFirst(t *testing.T) {
	ms := []view.Method{{Method: "callers", Errors: 5000}, {Method: "fault", Errors: 3, Faults: 1}, {Method: "clean"}}
	sortMethods(ms, "errors")
	if got := ms[0].Method + "," + ms[1].Method + "," + ms[2].Method; got != "fault,callers,clean" {
		t.Errorf("sorted by errors: %s; want fault,callers,clean", got)
	}
	for _, tt := range []struct {
		w    view.Window
		want string
	}{{view.Window{Count: 8, Errors: 1}, "12%"}, {view.Window{Count: 400, Errors: 1}, "0.3%"}, {view.Window{Count: 100000, Errors: 1}, "<0.1%"},
		{view.Window{Count: 40, Errors: 1}, "2.5%"}, {view.Window{Count: 3, Errors: 3}, "100%"}, {view.Window{Count: 3}, "0%"}} {
		if got := errorRate(tt.w); got != tt.want {
			t.Errorf("errorRate(%d of %d) = %q; want %q", tt.w.Errors, tt.w.Count, got, tt.want)
		}
	}
	if got := errorRate(view.Window{}); got != "–" {
		t.Errorf("errorRate of no calls = %q; want –", got)
	}
}
