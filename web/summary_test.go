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

// TestSummaryEmptyNamesEachInstrumentation: with no RPC seen, the summary
// says how each supported instrumentation is given the TracerProvider,
// and the causes common to all: the sampler, the ignored methods.
func TestSummaryEmptyNamesEachInstrumentation(t *testing.T) {
	var b strings.Builder
	if err := summaryView(summaryPage{page: page{Base: "./"}}).Render(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"debugz.NewSpanProcessor()", "sdktrace.WithSpanProcessor(sp)",
		"grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp)))",
		"opentelemetry.ServerOption(opentelemetry.Options{", "TracerProvider: tp, TextMapPropagator:",
		"grpc v1.72 or later", "v1.72.x also needs a MeterProvider", "v1.73 to v1.83", "grpcstats.NewHandler()",
		"otelconnect.NewInterceptor(otelconnect.WithTracerProvider(tp))", "connect.WithInterceptors(interceptor)",
		"debugz.RecordAll(sampler)", "grpc.health.v1.Health",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the empty summary does not say %q", want)
		}
	}
}
