package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/debugz/debugz/internal/view"
)

func TestURLs(t *testing.T) {
	tests := []struct {
		name string
		got  templ.SafeURL
		want string
	}{
		{"plain method", spansURL("./", "method", "user.UserService/FetchUser", "kind", "server"),
			"./spans?method=user.UserService%2FFetchUser&kind=server"},
		{"hostile method", spansURL("./", "method", `a/<script>"&x=1 ?`),
			"./spans?method=a%2F%3Cscript%3E%22%26x%3D1+%3F"},
		{"empty values dropped", spansURL("../", "method", "", "code", "error"), "../spans?code=error"},
		{"no values", spansURL("./"), "./spans"},
		{"span", spanURL("../", "00f067aa0ba902b7"), "../spans/00f067aa0ba902b7"},
		{"span escapes", spanURL("./", "a/b?c"), "./spans/a%2Fb%3Fc"},
		{"trace", traceURL("./", "4bf92f3577b34da6a3ce929d0e0e4736"), "./traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"api span", apiSpanURL("../", "x"), "../api/spans/x"},
		{"api trace", apiTraceURL("../", "y"), "../api/traces/y"},
		{"sort default", sortURL("./", "method"), "./"},
		{"sort", sortURL("./", "p99"), "./?sort=p99"},
		{"with query", withQuery(spansURL("./", "method", "a.B/C"), "code", "NOT_FOUND"), "./spans?method=a.B%2FC&code=NOT_FOUND"},
		{"with query escapes", withQuery(spansURL("./"), "code", "<x>&y"), "./spans?code=%3Cx%3E%26y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("%s = %v; want %v", tt.name, tt.got, tt.want)
			}
		})
	}
}

func TestTraceIDsLinkToTemplate(t *testing.T) {
	const tmpl = "http://localhost:16686/trace/{traceID}"
	tests := []struct {
		name, traceURL, want string
	}{
		{"template set", tmpl, `href="http://localhost:16686/trace/` + testTrace + `"`},
		{"local by default", "", `traces/` + testTrace + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, newFakeSource(), view.Config{TraceURL: tt.traceURL})
			for _, path := range []string{"/debug/rpcs/spans", "/debug/rpcs/spans/" + testSpan, "/debug/rpcs/active"} {
				_, body := testRequest(t, ts, "GET", path)
				if !strings.Contains(body, tt.want) {
					t.Errorf("GET %s: no trace link %s", path, tt.want)
				}
				if tt.traceURL == "" && strings.Contains(body, "16686") {
					t.Errorf("GET %s links to a tracing backend with none configured", path)
				}
			}
		})
	}
}

// Every page's links reach the mount point, however deep the page: the
// channel page, two levels down, lost its CSS, JS and links when they were
// one level too shallow.
func TestBaseClimbsToTheMount(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/", "./"},
		{"/spans", "./"},
		{"/spans/", "../"},
		{"/spans/00f067aa0ba902b7", "../"},
		{"/channelz/channels/5", "../../"},
		{"/live/spans", "./"},
	} {
		r := httptest.NewRequest("GET", tt.path, nil)
		if got := base(r); got != tt.want {
			t.Errorf("base(%q) = %q; want %q", tt.path, got, tt.want)
		}
	}
}
