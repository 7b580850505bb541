package otellog_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/otellog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestRecordsReachTheRPC: a record emitted through the OTel logs SDK in an
// RPC's context is kept with that RPC, with its severity as a slog level,
// its body as the message and its attributes; one emitted outside any span
// is on the logs page only.
func TestRecordsReachTheRPC(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(otellog.NewProcessor(sp)))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	logger := lp.Logger("test")

	emit := func(ctx context.Context, sev log.Severity, body string) {
		var r log.Record
		r.SetSeverity(sev)
		r.SetBody(attribute.StringValue(body))
		r.AddAttributes(attribute.String("user.id", "42"))
		logger.Emit(ctx, r)
	}
	emit(context.Background(), log.SeverityInfo, "outside any call")
	ctx, span := tp.Tracer("test").Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
	emit(ctx, log.SeverityWarn, "cache miss")
	emit(ctx, log.SeverityError2, "payment declined")
	span.End()

	got, ok := sp.Span(span.SpanContext().SpanID())
	if !ok {
		t.Fatal("the span is not retained")
	}
	if len(got.Logs) != 2 || got.Logs[0].Message != "cache miss" || got.Logs[0].Level.String() != "WARN" ||
		got.Logs[1].Level.String() != "ERROR+1" || len(got.Logs[1].Attrs) != 1 || got.Logs[1].Attrs[0].Value.String() != "42" {
		t.Errorf("the span's logs = %+v; want cache miss (WARN) and payment declined (ERROR+1, user.id=42)", got.Logs)
	}
	all := sp.Logs(debugz.LogFilter{})
	if len(all) != 3 || all[2].Message != "outside any call" || all[2].Span.IsValid() {
		t.Errorf("the latest records = %+v; want all 3, the first outside any span", all)
	}
}

// TestTypedAttributesKeepTheirTypes: an OTel record's int, float and bool
// attributes stay numbers and booleans through /api/logs, and slices, maps
// and bytes read as JSON-like text rather than Go's %v.
func TestTypedAttributesKeepTheirTypes(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(otellog.NewProcessor(sp)))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	var r log.Record
	r.SetSeverity(log.SeverityInfo)
	r.SetBody(attribute.StringValue("typed"))
	r.AddAttributes(attribute.Int("req", 10), attribute.Float64("ratio", 0.5), attribute.Bool("ok", true),
		attribute.String("user", "ann"), attribute.StringSlice("tags", []string{"a", "b"}),
		attribute.Int64Slice("ids", []int64{1, 2}), attribute.Map("m", attribute.Int("k", 1)), attribute.ByteSlice("raw", []byte{0xca, 0xfe}))
	lp.Logger("test").Emit(context.Background(), r)

	recs := sp.Logs(debugz.LogFilter{})
	if len(recs) != 1 {
		t.Fatalf("Logs() = %d records; want 1", len(recs))
	}
	kinds := map[string]slog.Kind{}
	for _, a := range recs[0].Attrs {
		kinds[a.Key] = a.Value.Kind()
	}
	for key, want := range map[string]slog.Kind{"req": slog.KindInt64, "ratio": slog.KindFloat64, "ok": slog.KindBool, "user": slog.KindString} {
		if kinds[key] != want {
			t.Errorf("Logs()[0] attribute %s is a %v; want %v", key, kinds[key], want)
		}
	}

	req := httptest.NewRequest("GET", "http://localhost/api/logs", nil)
	req.RemoteAddr = "127.0.0.1:1234"
	rec := httptest.NewRecorder()
	debugz.NewHandler(sp).ServeHTTP(rec, req)
	var out struct {
		Logs []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"logs"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Logs) != 1 {
		t.Fatalf("/api/logs = %d %s (%v); want 1 record", rec.Code, rec.Body, err)
	}
	got := out.Logs[0].Attributes
	for key, want := range map[string]any{"req": 10.0, "ratio": 0.5, "ok": true, "user": "ann",
		"tags": `["a","b"]`, "ids": "[1,2]", "m": `{"k":1}`, "raw": "yv4="} {
		if got[key] != want {
			t.Errorf("/api/logs attribute %s = %#v; want %#v", key, got[key], want)
		}
	}
}

// TestLongKeysCut: a record's keys are cut like its values when kept (to
// 128 bytes), so that records with huge keys pin no more than others.
func TestLongKeysCut(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(otellog.NewProcessor(sp)))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	var r log.Record
	r.SetSeverity(log.SeverityInfo)
	r.SetBody(attribute.StringValue("huge key"))
	r.AddAttributes(attribute.String(strings.Repeat("k", 100<<10), strings.Repeat("v", 100<<10)))
	lp.Logger("test").Emit(context.Background(), r)
	recs := sp.Logs(debugz.LogFilter{})
	if len(recs) != 1 || len(recs[0].Attrs) != 1 || len(recs[0].Attrs[0].Key) > 128 || len(recs[0].Attrs[0].Value.String()) > 256 {
		t.Fatalf("kept %+v; want one attribute, key ≤ 128 bytes and value ≤ 256", recs)
	}
}
