package otlp

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/debugz/debugz/internal/redact"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Log is what the encoding needs of a log record.
type Log struct {
	Time       time.Time
	Level      slog.Level
	Message    string
	Attributes []attribute.KeyValue
	Span       trace.SpanContext // invalid outside any span
}

// LogsJSON renders log records in the OTLP/JSON encoding (an
// ExportLogsServiceRequest with hex trace and span IDs, compact) under one resource
// and the scope "github.com/debugz/debugz", with the message, the
// attributes and the resource's attributes redacted by red (nil for none).
// slog's levels map to OpenTelemetry's severities as the otelslog bridge
// maps them: Info is 9, each level above or below one more or less.
func LogsJSON(logs []Log, res *resource.Resource, red *redact.Redactor) ([]byte, error) {
	sl := &logspb.ScopeLogs{Scope: &commonpb.InstrumentationScope{Name: "github.com/debugz/debugz"}}
	rl := &logspb.ResourceLogs{Resource: &resourcepb.Resource{}, ScopeLogs: []*logspb.ScopeLogs{sl}}
	if res != nil {
		rl.Resource.Attributes = attrs(res.Attributes(), red)
		rl.SchemaUrl = res.SchemaURL()
	}
	for i := range logs {
		sl.LogRecords = append(sl.LogRecords, logRecord(&logs[i], red))
	}
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{rl}})
	if err != nil {
		return nil, fmt.Errorf("debugz: encode OTLP logs: %w", err)
	}
	if b, err = convertIDs(b, base64ToHex); err != nil {
		return nil, err
	}
	return compact(b)
}

func logRecord(l *Log, red *redact.Redactor) *logspb.LogRecord {
	rec := &logspb.LogRecord{
		TimeUnixNano:   uint64(l.Time.UnixNano()),
		SeverityNumber: logspb.SeverityNumber(min(max(int(l.Level)+9, 1), 24)),
		SeverityText:   l.Level.String(),
		Body:           value(attribute.StringValue(red.String(l.Message))),
		Attributes:     attrs(l.Attributes, red),
	}
	if l.Span.IsValid() {
		tid, sid := l.Span.TraceID(), l.Span.SpanID()
		rec.TraceId, rec.SpanId, rec.Flags = tid[:], sid[:], uint32(l.Span.TraceFlags())
	}
	return rec
}

// LogSize is at least the bytes l takes in a [LogsJSON] document, with its
// comma: a snapshot counts them before it keeps a record.
func LogSize(l *Log, red *redact.Redactor) int {
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(logRecord(l, red))
	if err != nil {
		return 0 // LogsJSON fails on it too
	}
	return len(b) + 8 + 4 + 1 // hex IDs are longer than base64 ones: 32 digits for 24, 16 for 12
}
