// Package grpcstats adds to the spans of gRPC calls what the gRPC layer knows
// and otelgrpc does not record: how many messages went each way and how big
// they were, how much of its deadline the call used, its compressor, its
// peer's address, and a timeline of a stream's first and last messages.
// The debugz dashboard reads these figures; any other tool sees them as
// plain span attributes and events.
//
// Wrap otelgrpc's stats handlers with [WrapHandler], on the server and on
// every client:
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
// # What a span gets
//
// When the call ends, just before otelgrpc ends its span, every recording
// span gets [AttrMessagesSent], [AttrMessagesReceived], [AttrBytesSent],
// [AttrBytesReceived] (uncompressed), [AttrBytesSentWire] and
// [AttrBytesReceivedWire] (as grpc wrote and read them); [AttrDeadlineBudget]
// and [AttrDeadlineUsed] when the call had a deadline; [AttrCompressor] when
// it was compressed; and network.peer.address and network.peer.port when
// otelgrpc put no peer address on the span. A streaming call also gets its
// first and last 8 messages of each streaming direction as [EventMessage]
// events ([WithMessageTimeline]), each with its direction, number and sizes.
// A unary call gets no events: its counts say all.
//
// otelgrpc before v0.67 can add message events of its own
// (otelgrpc.WithMessageEvents); with it, pass [WithMessageTimeline](0) so
// that each message is not there twice.
//
// # Message capture
//
// [WithMessageCapture] records, for the methods it lists, the text of the
// first and last two messages of each direction as [AttrMessageText] on their
// events: prototext, cut to 1 KiB, redacted field by field as it is made:
// a field whose name looks like a credential (password, pwd, token, secret,
// authorization, …) shows "[redacted]", a string or bytes value hides the
// secrets it holds (a URL's password, Bearer and Basic credentials, JSON Web
// Tokens), and a google.protobuf.Any of a type not linked into the program
// shows its type URL, never its bytes. It is off by default. Redaction goes
// by names and shapes, so a bare secret in a field called "note" is still
// shown; capture only methods whose messages you would be willing to see in
// a trace.
//
// # Memory and cost
//
// An in-flight call holds a state of about 350 bytes, plus, for a stream,
// 2n timeline slots of 24 bytes per streaming direction (n = 8 by default).
// Nothing is allocated per message and no lock is taken per message, unless
// the method is captured, when every message is formatted as it passes. On
// a unary call over loopback the wrapper adds about 12 allocations; see
// BenchmarkUnaryCall and BenchmarkStream100 for the time.
package grpcstats
