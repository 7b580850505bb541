// Package semconv holds the span attribute and event keys that debugz reads
// and writes, of every instrumentation it knows, in one place, grouped by
// the instrumentation (and its versions) that writes them. The README's
// table of instrumentations says which version emits what.
//
// Nothing here is public API: grpcstats documents the names it writes in its
// package doc, and the root package reads them from here.
package semconv

// otelgrpc (go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc):
// the instrumentation scope and the span attributes that identify a gRPC
// call, its method and its status code, in every generation.
const (
	// OtelgrpcScope is the name of otelgrpc's instrumentation scope.
	OtelgrpcScope = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"

	// RPCSystem is "grpc" up to otelgrpc v0.64, and from v0.68 with
	// OTEL_SEMCONV_STABILITY_OPT_IN=rpc/old or rpc/dup; otelconnect v0.7
	// writes it too ("grpc", "grpc_web", "connect_rpc").
	RPCSystem = "rpc.system"
	// RPCSystemName is "grpc" from otelgrpc v0.65 (otelconnect v0.12:
	// "grpc" or "connectrpc").
	RPCSystemName = "rpc.system.name"
	// RPCService is the service, "pkg.Service", up to otelgrpc v0.64.
	RPCService = "rpc.service"
	// RPCMethod is the method name, "Method", up to otelgrpc v0.64, and the
	// full method, "pkg.Service/Method", from v0.65.
	RPCMethod = "rpc.method"
	// RPCGRPCStatusCode is the status code as a number, up to otelgrpc v0.64
	// (and otelconnect v0.7).
	RPCGRPCStatusCode = "rpc.grpc.status_code"
	// RPCResponseStatusCode is the status code as a string from otelgrpc
	// v0.65: grpc-go's name ("NotFound") in v0.65, the canonical name
	// ("NOT_FOUND") from v0.66 (and otelconnect v0.12).
	RPCResponseStatusCode = "rpc.response.status_code"
)

// grpc-go's own OpenTelemetry plugin (google.golang.org/grpc/stats/opentelemetry,
// TraceOptions): it names its spans after the method with its dots
// ("pkg.Service.Method") behind a prefix, sets no rpc.* attribute and no
// status code (the span status is Ok, or Error with the message), and
// writes message events of its own.
const (
	// GRPCGoScope is the plugin's instrumentation scope from grpc v1.72.
	GRPCGoScope = "grpc-go"
	// GRPCGoScopeV171 is its scope in grpc v1.71.
	GRPCGoScopeV171 = "grpc-open-telemetry"
	// GRPCGoClientPrefix starts the name of a client call's span (v1.73+).
	GRPCGoClientPrefix = "Sent."
	// GRPCGoServerPrefix starts the name of a server call's span (v1.73+).
	GRPCGoServerPrefix = "Recv."
	// GRPCGoAttemptPrefix starts the name of an attempt's span: internal,
	// one per attempt, the child of the call's span.
	GRPCGoAttemptPrefix = "Attempt."
	// GRPCGoEventOutbound and GRPCGoEventInbound are its message events
	// (v1.73+; "Outbound compressed message" and "Inbound compressed
	// message" before), with GRPCGoMessageSize and GRPCGoSequenceNumber.
	GRPCGoEventOutbound    = "Outbound message"
	GRPCGoEventInbound     = "Inbound message"
	GRPCGoEventOutboundOld = "Outbound compressed message"
	GRPCGoEventInboundOld  = "Inbound compressed message"
	GRPCGoMessageSize      = "message-size"
	GRPCGoSequenceNumber   = "sequence-number"
	GRPCGoPreviousAttempts = "previous-rpc-attempts"
)

// connect-go's otelconnect (connectrpc.com/otelconnect): spans named like
// otelgrpc's ("pkg.v1.Service/Method"), over gRPC, gRPC-Web or the Connect
// protocol. v0.7 to v0.9 write RPCSystem ("grpc", "grpc_web",
// "connect_rpc"), RPCService and RPCMethod, and the code in a key per
// protocol; v0.10 and later write RPCSystemName ("grpc" for gRPC and
// gRPC-Web, "connectrpc"), the full RPCMethod and RPCResponseStatusCode
// ("NOT_FOUND", "CANCELED").
const (
	// OtelconnectScope is otelconnect's instrumentation scope.
	OtelconnectScope = "connectrpc.com/otelconnect"
	// RPCGRPCWebStatusCode is a gRPC-Web call's code as a number (v0.7).
	RPCGRPCWebStatusCode = "rpc.grpc_web.status_code"
	// RPCConnectErrorCode is a failed Connect-protocol call's code, by its
	// Connect name ("not_found"); absent on success (v0.7).
	RPCConnectErrorCode = "rpc.connect_rpc.error_code"
)

// Message events: otelgrpc's up to v0.60 (opt-in from v0.46), and the
// message timeline of grpcstats, which has the same shape so that both are
// read alike.
const (
	// EventMessage is the name of a message event.
	EventMessage = "message"
	// MessageType is MessageTypeSent or MessageTypeReceived.
	MessageType = "message.type"
	// MessageID is the 1-based number of the message in its direction (int64).
	MessageID = "message.id"
	// MessageUncompressedSize is the message's uncompressed size in bytes (int64).
	MessageUncompressedSize = "message.uncompressed_size"
	// MessageCompressedSize is the message's compressed size in bytes,
	// without framing (int64).
	MessageCompressedSize = "message.compressed_size"

	// MessageTypeSent is the MessageType of a message this side sent.
	MessageTypeSent = "SENT"
	// MessageTypeReceived is the MessageType of a message this side received.
	MessageTypeReceived = "RECEIVED"
)

// Message event keys of otelgrpc v0.61 to v0.66 (its message events are
// opt-in; from v0.67 it adds none). grpcstats never writes them.
const (
	// RPCMessageType is MessageType as otelgrpc v0.61 to v0.66 spell it.
	RPCMessageType = "rpc.message.type"
	// RPCMessageID is MessageID as otelgrpc v0.61 to v0.66 spell it.
	RPCMessageID = "rpc.message.id"
	// RPCMessageUncompressedSize is MessageUncompressedSize as otelgrpc
	// v0.61 to v0.66 spell it.
	RPCMessageUncompressedSize = "rpc.message.uncompressed_size"
)

// DebugzPrefix starts every span attribute of debugz's own below, so that a
// reader can skip every other key with one comparison.
const DebugzPrefix = "debugz."

// Span attributes that grpcstats (WrapHandler and NewHandler) sets on a
// recording gRPC span when the RPC ends.
const (
	// MessagesSent is the number of messages this side sent (int64).
	MessagesSent = "debugz.messages.sent"
	// MessagesReceived is the number of messages this side received (int64).
	MessagesReceived = "debugz.messages.received"
	// BytesSent is the sum of the uncompressed sizes of the messages sent
	// (int64), without any framing.
	BytesSent = "debugz.bytes.sent"
	// BytesReceived is the sum of the uncompressed sizes of the messages
	// received (int64), without any framing.
	BytesReceived = "debugz.bytes.received"
	// BytesSentWire is the sum of the wire lengths of the messages sent
	// (int64): compressed payload plus the 5-byte gRPC message header, as
	// grpc reports it in stats.OutPayload.WireLength; HTTP/2 framing is not
	// counted.
	BytesSentWire = "debugz.bytes.sent.wire"
	// BytesReceivedWire is the sum of the wire lengths of the messages
	// received (int64), as grpc reports it in stats.InPayload.WireLength.
	BytesReceivedWire = "debugz.bytes.received.wire"
	// DeadlineBudget is the time from the start of the RPC to its deadline,
	// in nanoseconds (int64); set only when the RPC had a deadline.
	DeadlineBudget = "debugz.deadline.budget_ns"
	// DeadlineUsed is the duration of the RPC divided by its deadline budget
	// (float64): 0.5 means it took half the time it was given, 1 or more
	// that it ran out; set only when the RPC had a deadline still ahead at
	// its start.
	DeadlineUsed = "debugz.deadline.used"
	// Compressor is the name of the compressor the RPC used ("gzip"); set
	// only when one other than identity was used.
	Compressor = "debugz.compressor"
	// StatusMessage is the message of the status the RPC ended with
	// (string), set only when the code is not OK and the message not empty,
	// at most 1 KiB. otelgrpc sets no status description on a server span
	// whose code it does not count as a server error (NOT_FOUND, …).
	StatusMessage = "debugz.status.message"
)

// Span attributes that grpcstats sets on the attempts of a call that grpc
// retries (a retry policy in the service config, or a transparent retry),
// so that a call is counted once, by its last attempt: otelgrpc makes one
// client span per attempt, siblings, and says nothing of retries. They all
// start with AttemptPrefix.
const (
	// AttemptPrefix starts every attempt attribute: after DebugzPrefix, no
	// other key of debugz's starts with an "a".
	AttemptPrefix = "debugz.attempt."
	// AttemptNumber is the 1-based number of a client attempt within its
	// call (int64). It is set on every attempt of a call that made more than
	// one, and on a failed first attempt (grpc may retry it); a first
	// attempt that succeeded, a call like any other, gets none.
	AttemptNumber = "debugz.attempt.number"
	// AttemptTransparent is true on a client attempt that grpc made as a
	// transparent retry (stats.Begin.IsTransparentRetryAttempt: the previous
	// attempt never reached the server's handler); absent otherwise.
	AttemptTransparent = "debugz.attempt.transparent"
	// AttemptPrevious is the hex span ID of the previous attempt of the
	// same call (string), on a client attempt after the first.
	AttemptPrevious = "debugz.attempt.previous_span_id"
	// AttemptOffset is the time from the start of the span of the call's
	// first attempt to the start of this one's, in nanoseconds (int64), on
	// a client attempt after the first: the call as its caller saw it took
	// this much more than its last attempt.
	AttemptOffset = "debugz.attempt.offset_ns"
	// AttemptPreviousAttempts is, on a server span, how many attempts of
	// the same call the client made before this one, from the request's
	// grpc-previous-rpc-attempts header (int64); absent on a first attempt.
	AttemptPreviousAttempts = "debugz.attempt.previous_attempts"
)

// Event attributes and events that grpcstats adds beside the message
// timeline.
const (
	// MessageText is the captured text of a message, on an EventMessage
	// event (grpcstats.WithMessageCapture): its prototext, redacted field
	// by field, at most 1 KiB.
	MessageText = "message.text"
	// EventStack is the span event that holds where a slow server RPC's
	// goroutines were (grpcstats.WithSlowStacks).
	EventStack = "debugz.stack"
	// StackText is the stacks of an EventStack event, as text.
	StackText = "debugz.stack.text"
	// EventStatusDetail is the span event of one detail of the error status
	// an RPC ended with (google.rpc.Status details: ErrorInfo, BadRequest,
	// …), at most 8 per RPC, with StatusDetailType and StatusDetailText.
	EventStatusDetail = "debugz.status.detail"
	// StatusDetailType is the detail's full message name
	// ("google.rpc.ErrorInfo").
	StatusDetailType = "debugz.status.detail.type"
	// StatusDetailText is the detail as prototext, redacted field by field
	// as MessageText is, at most 1 KiB; "" when its type is not linked into
	// the program.
	StatusDetailText = "debugz.status.detail.text"
)

// LabelSpanID is the runtime/pprof label that grpcstats.WithProfilerLabels
// puts on a server RPC's goroutines beside grpcstats.LabelMethod: the hex
// span ID of the RPC's server span, by which the dashboard finds a running
// call's goroutines.
const LabelSpanID = "span_id"

// The peer's address, in the OpenTelemetry semantic conventions of every
// generation that otelgrpc has written. grpcstats writes NetworkPeerAddress
// and NetworkPeerPort, only when the instrumentation put no peer address on
// the span.
const (
	// NetworkPeerAddress and NetworkPeerPort: semantic conventions v1.21
	// and later.
	NetworkPeerAddress = "network.peer.address"
	NetworkPeerPort    = "network.peer.port"
	// ServerAddress and ServerPort name the server on a client span, and
	// ClientAddress and ClientPort the client on a server span (v1.21 and
	// later; otelgrpc v0.65 and later put only these on client spans).
	ServerAddress = "server.address"
	ServerPort    = "server.port"
	ClientAddress = "client.address"
	ClientPort    = "client.port"
	// NetSockPeerAddr and NetSockPeerPort: semantic conventions v1.18 to
	// v1.20.
	NetSockPeerAddr = "net.sock.peer.addr"
	NetSockPeerPort = "net.sock.peer.port"
	// NetPeerIP, NetPeerName and NetPeerPort: semantic conventions before
	// v1.18.
	NetPeerIP   = "net.peer.ip"
	NetPeerName = "net.peer.name"
	NetPeerPort = "net.peer.port"
)

// HTTP instrumentations (otelhttp and others): the response's status code,
// which the waterfall shows and colours as it does gRPC codes.
const (
	// HTTPResponseStatusCode is the status code in the stable HTTP
	// conventions (otelhttp from v0.60).
	HTTPResponseStatusCode = "http.response.status_code"
	// HTTPStatusCode is its name before them.
	HTTPStatusCode = "http.status_code"
)
