package debugz

import (
	"math"

	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// messageStats is what a span says about the messages of its call: from the
// attributes grpcstats.WrapHandler sets, or else from the message events of old
// otelgrpc versions.
type messageStats struct {
	known                    bool // the span said anything about messages
	sent, received           int64
	bytesSent, bytesReceived int64
	deadlineUsed             float64 // fraction of the deadline used; 0 without one
}

// read reads one of grpcstats' span attributes (semconv.DebugzPrefix).
func (m *messageStats) read(key string, v attribute.Value) {
	switch key {
	case semconv.MessagesSent:
		m.sent, m.known = v.AsInt64(), true
	case semconv.MessagesReceived:
		m.received, m.known = v.AsInt64(), true
	case semconv.BytesSent:
		m.bytesSent = v.AsInt64()
	case semconv.BytesReceived:
		m.bytesReceived = v.AsInt64()
	case semconv.DeadlineUsed:
		if f := v.AsFloat64(); f >= 0 && !math.IsInf(f, 1) { // not NaN either
			m.deadlineUsed = f
		}
	}
}

// readMessageEvent counts a message event (see [messageEventOf]), for spans
// that carry no counts of their own.
func (m *messageStats) readMessageEvent(e *sdktrace.Event) {
	if me, ok := messageEventOf(e); ok {
		m.count(&me)
	}
}

// sizeEvent is readMessageEvent and the size of e's name and attributes
// ([attrsSize]) in one pass: OnEnd reads each attribute once.
func (m *messageStats) sizeEvent(e *sdktrace.Event) int {
	n := len(e.Name)
	me, ok, grpcGo := messageEventName(e.Name)
	if !ok {
		return n + attrsSize(e.Attributes)
	}
	for i := range e.Attributes {
		kv := &e.Attributes[i]
		if n += attrSize(kv); kv.Value.Type() > attribute.STRING {
			n += compositeSize(kv)
		}
		me.read(kv, grpcGo)
	}
	m.count(&me)
	return n
}

// count counts the message me describes, if it says its direction.
func (m *messageStats) count(me *messageEvent) {
	if me.typ == "" {
		return
	}
	m.known = true
	var size int64
	if me.size != nil {
		size = me.size.AsInt64()
	}
	if me.typ == semconv.MessageTypeSent {
		m.sent++
		m.bytesSent += size
	} else {
		m.received++
		m.bytesReceived += size
	}
}

// messageEvent is what a message event says about its message: its
// direction, and its attributes of each kind, nil where it says nothing
// (they point into the event's attributes).
type messageEvent struct {
	typ  string           // semconv.MessageTypeSent or MessageTypeReceived (or what else the event says); "" if nothing
	id   *attribute.Value // its number, per direction
	size *attribute.Value // bytes (uncompressed, but in grpc-go's plugin)
}

// messageEventOf is the one reader of message events: those of grpcstats'
// timeline and of otelgrpc before v0.67 (keys message.* before v0.61,
// rpc.message.* from it), and those of grpc-go's plugin ("Outbound
// message", "Inbound message": 0-based sequence-number, message-size). ok is
// false for any other event.
func messageEventOf(e *sdktrace.Event) (me messageEvent, ok bool) {
	me, ok, grpcGo := messageEventName(e.Name)
	if !ok {
		return me, false
	}
	for i := range e.Attributes {
		me.read(&e.Attributes[i], grpcGo)
	}
	return me, true
}

// messageEventName tells by its name whether an event is a message event,
// and grpcGo whether grpc-go's plugin made it, which names the direction.
func messageEventName(name string) (me messageEvent, ok, grpcGo bool) {
	switch name {
	case semconv.EventMessage:
		return me, true, false
	case semconv.GRPCGoEventOutbound, semconv.GRPCGoEventOutboundOld:
		return messageEvent{typ: semconv.MessageTypeSent}, true, true
	case semconv.GRPCGoEventInbound, semconv.GRPCGoEventInboundOld:
		return messageEvent{typ: semconv.MessageTypeReceived}, true, true
	}
	return me, false, false
}

// read reads one attribute of a message event, of grpc-go's plugin or not.
func (me *messageEvent) read(kv *attribute.KeyValue, grpcGo bool) {
	if grpcGo {
		switch kv.Key {
		case semconv.GRPCGoSequenceNumber:
			me.id = &kv.Value
		case semconv.GRPCGoMessageSize:
			me.size = &kv.Value
		}
		return
	}
	switch kv.Key {
	case semconv.MessageType, semconv.RPCMessageType:
		if me.typ = kv.Value.AsString(); kv.Value.Type() != attribute.STRING {
			me.typ = kv.Value.String()
		}
	case semconv.MessageID, semconv.RPCMessageID:
		me.id = &kv.Value
	case semconv.MessageUncompressedSize, semconv.RPCMessageUncompressedSize:
		me.size = &kv.Value
	}
}
