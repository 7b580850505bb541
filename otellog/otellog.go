// Package otellog feeds debugz from the OpenTelemetry logs SDK: register
// its Processor on the LoggerProvider beside your exporter, and the records
// logged through any OTel log bridge (otelslog, otelzap, …) in an RPC's
// context show on that RPC's page, as with debugz's own slog handler. It is
// a module of its own, so that the logs SDK reaches only the services that
// use it.
package otellog

import (
	"context"
	"log/slog"

	"github.com/debugz/debugz"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/trace"
)

// Processor is an OpenTelemetry logs SDK processor that keeps each record
// in a debugz.SpanProcessor (see debugz.SpanProcessor.Log). It never fails
// and never blocks the record's emitter on a reader.
type Processor struct {
	sp *debugz.SpanProcessor
}

var _ sdklog.Processor = (*Processor)(nil)

// NewProcessor returns a Processor keeping records in sp. It panics if sp
// is nil.
func NewProcessor(sp *debugz.SpanProcessor) *Processor {
	if sp == nil {
		panic("otellog: NewProcessor called with nil *debugz.SpanProcessor")
	}
	return &Processor{sp: sp}
}

// OnEmit keeps r: its time, severity, body as the message and its
// attributes, of their types: ints, floats and bools stay numbers and
// booleans; slices and maps read as JSON, bytes as base64 (OTel's own text
// for them). The record itself is not changed, so processors after this
// one see it as it was.
func (p *Processor) OnEmit(ctx context.Context, r *sdklog.Record) error {
	t := r.Timestamp()
	if t.IsZero() {
		t = r.ObservedTimestamp()
	}
	rec := slog.NewRecord(t, level(r.Severity()), r.Body().String(), 0)
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		rec.AddAttrs(slog.Attr{Key: string(kv.Key), Value: value(kv.Value)})
		return true
	})
	p.sp.Log(ctx, rec)
	return nil
}

// Enabled reports whether the processor keeps records like param: those of
// Info and above, and, in an RPC's span, every one.
func (p *Processor) Enabled(ctx context.Context, param sdklog.EnabledParameters) bool {
	return param.Severity >= log.SeverityInfo || trace.SpanFromContext(ctx).IsRecording()
}

// level maps an OTel severity to slog's levels: Debug, Info, Warn and
// Error line up with severity numbers 5, 9, 13 and 17.
func level(s log.Severity) slog.Level {
	switch {
	case s >= log.SeverityError:
		return slog.LevelError + slog.Level(s-log.SeverityError)
	case s >= log.SeverityWarn:
		return slog.LevelWarn + slog.Level(s-log.SeverityWarn)
	case s >= log.SeverityInfo:
		return slog.LevelInfo + slog.Level(s-log.SeverityInfo)
	case s >= log.SeverityDebug:
		return slog.LevelDebug + slog.Level(s-log.SeverityDebug)
	}
	return slog.LevelDebug - 4 // trace
}

// Shutdown does nothing: the records stay readable in the SpanProcessor.
func (p *Processor) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: nothing is buffered.
func (p *Processor) ForceFlush(context.Context) error { return nil }

// value is v as a slog value of the same type where slog has one, and as
// OTel's text for it otherwise: JSON for slices and maps, base64 for bytes.
func value(v attribute.Value) slog.Value {
	switch v.Type() {
	case attribute.BOOL:
		return slog.BoolValue(v.AsBool())
	case attribute.INT64:
		return slog.Int64Value(v.AsInt64())
	case attribute.FLOAT64:
		return slog.Float64Value(v.AsFloat64())
	case attribute.STRING:
		return slog.StringValue(v.AsString())
	}
	return slog.StringValue(v.String())
}
