package otellog_test

import (
	"context"
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
	if len(all) != 3 || all[2].Message != "outside any call" || all[2].TraceID.IsValid() {
		t.Errorf("the latest records = %+v; want all 3, the first outside any span", all)
	}
}
