package debugz

import (
	"testing"

	"github.com/debugz/debugz/internal/view"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestMessageEventReaders: the pages and the counts read a message event
// alike, in the keys of every otelgrpc generation and of grpcstats'
// timeline, and leave other events alone.
func TestMessageEventReaders(t *testing.T) {
	tests := []struct {
		name    string
		event   sdktrace.Event
		want    view.Event
		counted messageStats
	}{
		{name: "not a message event", event: sdktrace.Event{Name: "work",
			Attributes: []attribute.KeyValue{attribute.String("message.type", "SENT")}}},
		{name: "timeline and otelgrpc ≤ v0.60", event: sdktrace.Event{Name: "message", Attributes: []attribute.KeyValue{
			attribute.String("message.type", "SENT"), attribute.Int64("message.id", 2), attribute.Int64("message.uncompressed_size", 30)}},
			want: view.Event{Message: "SENT", MessageID: "2", MessageSize: "30"}, counted: messageStats{known: true, sent: 1, bytesSent: 30}},
		{name: "otelgrpc v0.61 to v0.66", event: sdktrace.Event{Name: "message", Attributes: []attribute.KeyValue{
			attribute.String("rpc.message.type", "RECEIVED"), attribute.Int64("rpc.message.id", 1), attribute.Int64("rpc.message.uncompressed_size", 7)}},
			want: view.Event{Message: "RECEIVED", MessageID: "1", MessageSize: "7"}, counted: messageStats{known: true, received: 1, bytesReceived: 7}},
		{name: "no type: shown, not counted", event: sdktrace.Event{Name: "message", Attributes: []attribute.KeyValue{
			attribute.Int64("message.id", 3)}},
			want: view.Event{MessageID: "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var we view.Event
			readMessageEvent(&we, &tt.event)
			if we.Message != tt.want.Message || we.MessageID != tt.want.MessageID || we.MessageSize != tt.want.MessageSize {
				t.Errorf("readMessageEvent(%v) = %q %q %q; want %q %q %q", tt.event.Attributes,
					we.Message, we.MessageID, we.MessageSize, tt.want.Message, tt.want.MessageID, tt.want.MessageSize)
			}
			var m messageStats
			m.readMessageEvent(&tt.event)
			if m != tt.counted {
				t.Errorf("messageStats.readMessageEvent(%v) = %+v; want %+v", tt.event.Attributes, m, tt.counted)
			}
		})
	}
}
