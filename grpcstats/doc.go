// Package grpcstats adds to the spans of gRPC calls what the gRPC layer knows
// and otelgrpc does not record: how many messages went each way and how big
// they were, how much of its deadline the call used, its compressor, its
// peer's address, and a timeline of a stream's first and last messages.
// The debugz dashboard reads these figures; any other tool sees them as
// plain span attributes and events.
//
// Wrap otelgrpc's stats handlers with [WrapHandler], on the server and on
// every client, or register [NewHandler] beside any instrumentation
// (grpc-go's own OpenTelemetry plugin, otelgrpc), before it. With otelgrpc:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
//	otelOpts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp)}
//
//	srv := grpc.NewServer(grpc.StatsHandler(
//		grpcstats.WrapHandler(otelgrpc.NewServerHandler(otelOpts...))))
//
//	conn, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(insecure.NewCredentials()),
//		grpc.WithStatsHandler(grpcstats.WrapHandler(otelgrpc.NewClientHandler(otelOpts...))))
//
// With grpc-go's plugin (google.golang.org/grpc/stats/opentelemetry, grpc ≥ v1.84):
//
//	traceOpts := expotel.TraceOptions{TracerProvider: tp, TextMapPropagator: propagation.TraceContext{}}
//
//	srv := grpc.NewServer(grpc.StatsHandler(grpcstats.NewHandler()),
//		opentelemetry.ServerOption(opentelemetry.Options{TraceOptions: traceOpts}))
//
//	conn, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(insecure.NewCredentials()),
//		grpc.WithStatsHandler(grpcstats.NewHandler()),
//		opentelemetry.DialOption(opentelemetry.Options{TraceOptions: traceOpts}))
//
// # What a span gets
//
// When the call ends, just before otelgrpc ends its span, every recording
// span gets the counts and sizes of its messages, as uncompressed sizes and
// as grpc wrote and read them; how much of its deadline it used when it had
// one; its compressor when it was compressed; the message of a status other
// than OK, and its details, if any, as events; and its peer's address when
// otelgrpc put none on the span. A
// streaming call also gets its first and last 8 messages of each streaming
// direction as "message" events ([WithMessageTimeline]), each with its
// direction, number and sizes. A unary call gets no events: its counts say
// all.
//
// The span attributes, every one of them set when the call ends:
//
//	debugz.messages.sent        int64    messages this side sent
//	debugz.messages.received    int64    messages this side received
//	debugz.bytes.sent           int64    sum of the uncompressed sizes of the messages sent, without framing
//	debugz.bytes.received       int64    the same, of the messages received
//	debugz.bytes.sent.wire      int64    sum of the wire lengths of the messages sent (compressed payload
//	                                     plus the 5-byte gRPC message header, stats.OutPayload.WireLength)
//	debugz.bytes.received.wire  int64    the same, of the messages received (stats.InPayload.WireLength)
//	debugz.deadline.budget_ns   int64    time from the start of the call to its deadline, when it had one
//	debugz.deadline.used        float64  duration divided by the budget (0.5: half the time given; 1 or
//	                                     more: it ran out), when the deadline was still ahead at the start
//	debugz.compressor           string   the compressor ("gzip"), when one other than identity was used
//	debugz.status.message       string   the status message when the code is not OK, at most 1 KiB
//	                                     (otelgrpc sets none on a server span whose code it does not
//	                                     count as a server error, such as NOT_FOUND)
//	network.peer.address        string   the peer's address, when the span has none in any convention
//	network.peer.port           int64    the peer's port, with it
//	rpc.system.name             string   "grpc" (NewHandler only)
//	rpc.method                  string   the full method, "pkg.Service/Method" (NewHandler only)
//	rpc.response.status_code    string   the code's canonical name, "OK", "NOT_FOUND" (NewHandler only:
//	                                     grpc-go's plugin records no code)
//
// The attempts of a call that grpc retries (a retryPolicy in the service
// config, or a transparent retry) are told apart, so that the call counts
// once, by its last attempt: otelgrpc makes one client span per attempt and
// says nothing of retries. A client attempt span gets these when it failed
// (grpc may retry it) or was not its call's first; a first attempt that
// succeeded gets none. The handler knows the attempts of one call by their
// context, which grpc derives from the call's for each attempt, and keeps,
// for at most 4096 calls whose last attempt failed, its number, start and
// span (no goroutine, no timer; forgotten when an attempt succeeds or the
// call's context is done). A server span gets the attempts before it.
//
//	debugz.attempt.number             int64   the attempt's 1-based number within its call
//	debugz.attempt.transparent        bool    true when grpc made it as a transparent retry
//	debugz.attempt.previous_span_id   string  the hex span ID of the call's previous attempt (from the 2nd)
//	debugz.attempt.offset_ns          int64   time from the start of the span of the call's first attempt to
//	                                          this one's (from the 2nd): the caller waited this much more
//	debugz.attempt.previous_attempts  int64   server: the client's attempts before this one
//	                                          (grpc-previous-rpc-attempts), when there were any
//
// With grpc-go's plugin, whose call span holds its attempts' spans,
// NewHandler adds none of them to the call's span: the plugin's own attempt
// spans count.
//
// The events:
//
//	message                     one message of the timeline, in the shape of otelgrpc's message events
//	                            up to v0.60, with the attributes
//	    message.type                 string   "SENT" or "RECEIVED"
//	    message.id                   int64    1-based number of the message in its direction
//	    message.uncompressed_size    int64    bytes
//	    message.compressed_size      int64    bytes, without framing (the uncompressed size without compression)
//	    message.text                 string   the captured text (WithMessageCapture), at most 1 KiB
//	debugz.stack                where a slow server call's goroutines were (WithSlowStacks), with
//	    debugz.stack.text            string   the stacks as text
//	debugz.status.detail        one detail of the error status the call ended with (google.rpc.Status
//	                            details: ErrorInfo, BadRequest, RetryInfo, …), the first 8, at its end, with
//	    debugz.status.detail.type    string   the detail's full message name, "google.rpc.ErrorInfo"
//	    debugz.status.detail.text    string   its prototext, redacted as captured messages are (below), at
//	                                          most 1 KiB; "" when its type is not linked into the program
//
// Every attribute of debugz's own starts with "debugz.", which lets a reader
// skip every other key with one comparison.
//
// otelgrpc before v0.67 can add message events of its own
// (otelgrpc.WithMessageEvents); with it, pass [WithMessageTimeline](0) so
// that each message is not there twice.
//
// # Message capture
//
// [WithMessageCapture] records, for the methods it lists, the text of the
// first and last two messages of each direction as message.text on their
// events: prototext, cut to 1 KiB, redacted field by field as it is made:
// a field whose name looks like a credential (password, pwd, token, secret,
// authorization, …) shows "[redacted]", a string or bytes value hides the
// secrets it holds (a URL's password, Bearer and Basic credentials, JSON Web
// Tokens), and a google.protobuf.Any of a type not linked into the program
// shows its type URL, never its bytes. The debugz pages redact the text
// again when they show it, with the keys of debugz.WithRedactedKeys. It is
// off by default. Redaction goes by names and shapes, so a bare secret in a
// field called "note" is still shown; capture only methods whose messages you would be willing to see in
// a trace. The text of a status detail (debugz.status.detail.text) is
// redacted the same way, always.
//
// # Memory and cost
//
// An in-flight call holds a state of about 400 bytes, plus, for a stream,
// 2n timeline slots of 24 bytes per streaming direction (n = 8 by default).
// A client handler also remembers its calls whose last attempt failed, at
// most 4096, about 100 bytes each, until they end (see the attempts above);
// an attempt's start reads it under a read lock while it holds any call, a
// failed attempt writes it.
// Nothing is allocated per message and no lock is taken per message, unless
// the method is captured, when every message is formatted as it passes. On
// a unary call over loopback the wrapper adds about 12 allocations; see
// BenchmarkUnaryCall and BenchmarkStream100 for the time.
package grpcstats
