package e2e_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/debugz/debugz"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceOTLPMatchesExporter: /api/traces/{traceID}, loaded by the
// Collector's pdata, says of every span what the SDK's own OTLP exporter
// sends for it: IDs, names, kinds, times, flags (W3C trace flags and the
// parent's remote bits), trace state, attributes, events, links with their
// flags, status, resource and scope with its attributes.
func TestTraceOTLPMatchesExporter(t *testing.T) {
	ctx := context.Background()
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(collector.Close)
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(collector.URL+"/v1/traces"),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}

	sp := debugz.NewSpanProcessor()
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "user"), attribute.Int64("service.instance", 3))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(sp),
		sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(exp))) // exports as each span ends
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	tracer := tp.Tracer("e2e", trace.WithInstrumentationVersion("v1.2.3"), trace.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"))
	// The same name and version with attributes: another scope.
	scoped := tp.Tracer("e2e", trace.WithInstrumentationVersion("v1.2.3"),
		trace.WithInstrumentationAttributes(attribute.String("scope.key", "v"), attribute.Bool("scope.flag", true)))

	rootCtx, root := tracer.Start(ctx, "root", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("s", "x"), attribute.Int64Slice("is", []int64{1, 2}), attribute.Float64("f", 1.5)))
	tid := root.SpanContext().TraceID()

	// A call from another process of the same trace: sampled, random trace
	// ID, with trace state.
	remoteCtx := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{
		"traceparent": "00-" + tid.String() + "-00f067aa0ba902b7-03", "tracestate": "vendor=v1"})
	_, server := tracer.Start(remoteCtx, "user.UserService/Get", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "user.UserService"),
			attribute.String("rpc.method", "Get"), attribute.Int64("rpc.grpc.status_code", 0)))
	server.AddEvent("message", trace.WithAttributes(attribute.String("message.type", "RECEIVED"), attribute.Int64("message.id", 1)))
	server.End()

	// Links without trace state: the SDK's exporter does not send a link's
	// (debugz does).
	otherTrace := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b8-01"})
	_, linked := tracer.Start(rootCtx, "linked", trace.WithLinks(
		trace.Link{SpanContext: trace.SpanContextFromContext(otherTrace), Attributes: []attribute.KeyValue{attribute.String("why", "remote")}},
		trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("why", "local")}}))
	linked.End()

	_, unset := tracer.Start(rootCtx, "unset", trace.WithAttributes(attribute.String("debugz.status.message", "not found")))
	unset.End()

	_, failed := tracer.Start(rootCtx, "failed", trace.WithAttributes(attribute.String("debugz.status.message", "ignored")))
	failed.SetStatus(codes.Error, "boom")
	failed.End()

	_, inScope := scoped.Start(rootCtx, "scoped")
	inScope.End()

	root.SetStatus(codes.Ok, "")
	root.End()

	mu.Lock()
	want := map[string]map[string]any{}
	for _, b := range bodies {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(b)
		if err != nil {
			t.Fatalf("exporter's request: %v", err)
		}
		addSpans(want, td)
	}
	mu.Unlock()
	if len(want) != 6 {
		t.Fatalf("exporter sent %d spans; want 6", len(want))
	}
	for _, w := range want { // the spans are the cases the comparison is for
		if w["name"] == "user.UserService/Get" && w["flags"] != hexFlags(0x303) {
			t.Fatalf("exporter sent flags %v for the span with a remote parent; want 0x303", w["flags"])
		}
		if w["name"] == "scoped" && len(w["scope.attributes"].(map[string]any)) != 2 {
			t.Fatalf("exporter sent scope attributes %v; want two", w["scope.attributes"])
		}
	}

	h := httptest.NewServer(debugz.NewHandler(sp))
	t.Cleanup(h.Close)
	resp, err := http.Get(h.URL + "/api/traces/" + tid.String())
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/traces/%s = %d, %v; want 200", tid, resp.StatusCode, err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	if err != nil {
		t.Fatalf("pdata cannot load the export: %v\n%s", err, body)
	}
	got := map[string]map[string]any{}
	addSpans(got, td)

	ids := slices.SortedFunc(maps.Keys(want), func(a, b string) int { return strings.Compare(want[a]["name"].(string), want[b]["name"].(string)) })
	for _, id := range ids {
		w := want[id]
		g, ok := got[id]
		if !ok {
			t.Errorf("span %s (%v) missing from the export", id, w["name"])
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if !reflect.DeepEqual(g[k], w[k]) {
				t.Errorf("span %q: %s = %v; want %v (the SDK exporter's)", w["name"], k, g[k], w[k])
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("export has %d spans; want %d", len(got), len(want))
	}
}

// addSpans adds to m, by span ID, every field of every span of td that the
// OTLP exporters set, with its resource and scope.
func addSpans(m map[string]map[string]any, td ptrace.Traces) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				var events, links []map[string]any
				for _, e := range s.Events().All() {
					events = append(events, map[string]any{"name": e.Name(), "time": e.Timestamp(),
						"attributes": e.Attributes().AsRaw(), "dropped": e.DroppedAttributesCount()})
				}
				for _, l := range s.Links().All() {
					links = append(links, map[string]any{"traceId": l.TraceID().String(), "spanId": l.SpanID().String(),
						"traceState": l.TraceState().AsRaw(), "flags": hexFlags(l.Flags()),
						"attributes": l.Attributes().AsRaw(), "dropped": l.DroppedAttributesCount()})
				}
				m[s.SpanID().String()] = map[string]any{
					"traceId":            s.TraceID().String(),
					"parentSpanId":       s.ParentSpanID().String(),
					"name":               s.Name(),
					"kind":               s.Kind().String(),
					"start":              s.StartTimestamp(),
					"end":                s.EndTimestamp(),
					"flags":              hexFlags(s.Flags()),
					"traceState":         s.TraceState().AsRaw(),
					"attributes":         s.Attributes().AsRaw(),
					"events":             events,
					"links":              links,
					"dropped":            [3]uint32{s.DroppedAttributesCount(), s.DroppedEventsCount(), s.DroppedLinksCount()},
					"status.code":        s.Status().Code().String(),
					"status.message":     s.Status().Message(),
					"resource":           rs.Resource().Attributes().AsRaw(),
					"resource.schemaUrl": rs.SchemaUrl(),
					"scope.name":         ss.Scope().Name(),
					"scope.version":      ss.Scope().Version(),
					"scope.attributes":   ss.Scope().Attributes().AsRaw(),
					"scope.schemaUrl":    ss.SchemaUrl(),
				}
			}
		}
	}
}

type hexFlags uint32

func (f hexFlags) String() string { return fmt.Sprintf("%#x", uint32(f)) }
