package grpcstats

// Span attributes that [WrapHandler] sets on every recording gRPC span when
// the RPC ends, and that the debugz engine and dashboard read. Prefer
// AttrMessagesSent and AttrMessagesReceived to counting [EventMessage] events,
// which are only a sample of the messages. Every one of them starts with
// "debugz.".
const (
	// AttrMessagesSent is the number of messages this side sent (int64).
	AttrMessagesSent = "debugz.messages.sent"
	// AttrMessagesReceived is the number of messages this side received (int64).
	AttrMessagesReceived = "debugz.messages.received"
	// AttrBytesSent is the sum of the uncompressed sizes of the messages sent
	// (int64), without any framing.
	AttrBytesSent = "debugz.bytes.sent"
	// AttrBytesReceived is the sum of the uncompressed sizes of the messages
	// received (int64), without any framing.
	AttrBytesReceived = "debugz.bytes.received"
	// AttrBytesSentWire is the sum of the wire lengths of the messages sent
	// (int64): compressed payload plus the 5-byte gRPC message header, as grpc
	// reports it in [stats.OutPayload.WireLength]; HTTP/2 framing is not counted.
	AttrBytesSentWire = "debugz.bytes.sent.wire"
	// AttrBytesReceivedWire is the sum of the wire lengths of the messages
	// received (int64), as grpc reports it in [stats.InPayload.WireLength].
	AttrBytesReceivedWire = "debugz.bytes.received.wire"
	// AttrDeadlineBudget is the time from the start of the RPC to its deadline,
	// in nanoseconds (int64). It is set only when the RPC had a deadline.
	AttrDeadlineBudget = "debugz.deadline.budget_ns"
	// AttrDeadlineUsed is the duration of the RPC divided by its deadline budget
	// (float64): 0.5 means it took half the time it was given, 1 or more that it
	// ran out. It is set only when the RPC had a deadline still ahead at its start.
	AttrDeadlineUsed = "debugz.deadline.used"
	// AttrCompressor is the name of the compressor the RPC used ("gzip"). It is
	// set only when one other than identity was used.
	AttrCompressor = "debugz.compressor"
	// AttrStatusMessage is the message of the status the RPC ended with
	// (string), set only when the code is not OK and the message not empty,
	// at most 1 KiB. otelgrpc sets no status description on a server span
	// whose code it does not count as a server error (NOT_FOUND,
	// FAILED_PRECONDITION, …), so without it a server never says why a call
	// failed; the span's status is left as otelgrpc set it.
	AttrStatusMessage = "debugz.status.message"
)

// The message timeline: span events that [WrapHandler] adds when the RPC
// ends, in the shape otelgrpc gave its message events up to v0.60, so that
// the engine reads both alike.
const (
	// EventMessage is the name of the span events of the message timeline.
	EventMessage = "message"
	// AttrMessageType is [MessageTypeSent] or [MessageTypeReceived] on an
	// [EventMessage] event.
	AttrMessageType = "message.type"
	// AttrMessageID is the 1-based number of the message in its direction (int64).
	AttrMessageID = "message.id"
	// AttrMessageUncompressedSize is the message's uncompressed size in bytes (int64).
	AttrMessageUncompressedSize = "message.uncompressed_size"
	// AttrMessageCompressedSize is the message's compressed size in bytes,
	// without framing (int64); equal to the uncompressed size without compression.
	AttrMessageCompressedSize = "message.compressed_size"
	// AttrMessageText is the captured text of a message ([WithMessageCapture]):
	// its prototext, redacted field by field, at most 1 KiB.
	AttrMessageText = "message.text"

	// MessageTypeSent is the [AttrMessageType] of a message this side sent.
	MessageTypeSent = "SENT"
	// MessageTypeReceived is the [AttrMessageType] of a message this side received.
	MessageTypeReceived = "RECEIVED"
)

// Keys of the message events of otelgrpc v0.61 to v0.66, which debugz reads
// beside those of the timeline. WrapHandler never writes them: before v0.61
// otelgrpc used the keys of the timeline ([AttrMessageType], …), and from
// v0.67 it adds no message events at all.
const (
	// AttrRPCMessageType is [AttrMessageType] as otelgrpc v0.61 to v0.66 spell it.
	AttrRPCMessageType = "rpc.message.type"
	// AttrRPCMessageID is [AttrMessageID] as otelgrpc v0.61 to v0.66 spell it.
	AttrRPCMessageID = "rpc.message.id"
	// AttrRPCMessageUncompressedSize is [AttrMessageUncompressedSize] as
	// otelgrpc v0.61 to v0.66 spell it.
	AttrRPCMessageUncompressedSize = "rpc.message.uncompressed_size"
)

// Attribute keys of the peer address (OpenTelemetry semantic conventions),
// set only when the wrapped handler sets none.
const (
	keyPeerAddress = "network.peer.address"
	keyPeerPort    = "network.peer.port"
)
