// Package debugz is an in-process debug dashboard for Go gRPC services, built
// on the OpenTelemetry spans the service already produces: the /debug/requests
// page of golang.org/x/net/trace, back for services instrumented with otelgrpc.
//
// A [SpanProcessor] keeps recent gRPC spans in bounded memory and counts every
// RPC per (method, kind): status codes, latency buckets, quantiles, rate and
// what is in flight. [NewHandler] serves live pages and a JSON API over it.
// No collector, no external backend, no internet.
//
// # Quick start
//
// Register the processor on the TracerProvider that otelgrpc uses, beside any
// exporter, and mount the handler on a debug port that only you can reach:
//
//	sp := debugz.NewSpanProcessor()
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
//	prop := otelgrpc.WithPropagators(propagation.TraceContext{})
//	srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), prop)))
//
//	r := chi.NewRouter()
//	r.Mount("/debug/rpcs", debugz.NewHandler(sp))
//	go http.ListenAndServe("localhost:6060", r)
//
// Then open http://localhost:6060/debug/rpcs. The same data is there for
// programs: [SpanProcessor.Summary], [SpanProcessor.Spans],
// [SpanProcessor.Span], [SpanProcessor.Trace] and [SpanProcessor.Active]
// return copies that a caller may keep and change.
//
// # What counts as a gRPC span
//
// A span of kind server or client whose attributes say rpc.system (or, since
// otelgrpc v0.65, rpc.system.name) is "grpc", or that otelgrpc's
// instrumentation scope made. The method comes from rpc.method (full since
// v0.65), from rpc.service and rpc.method before that, or from the span name.
// The status code comes from rpc.grpc.status_code or rpc.response.status_code,
// never from the span status: otelgrpc leaves a server's NOT_FOUND as Unset.
// Codes are named canonically ("NOT_FOUND", see [CodeName]).
//
// Other spans, like a handler's own child spans, are kept in a ring of their
// own so that a trace can be shown whole; they get no summary row.
//
// # Seeing more than otelgrpc records
//
// Since otelgrpc v0.67 spans say nothing about messages. Wrap the stats
// handlers with [grpcstats.WrapHandler] and every span also carries its
// message and byte counts, the share of its deadline it used, its compressor
// and peer, and a timeline of its first and last messages; the summary and
// the span pages show them:
//
//	grpc.NewServer(grpc.StatsHandler(grpcstats.WrapHandler(otelgrpc.NewServerHandler(opts...))))
//	grpc.NewClient(target, grpc.WithStatsHandler(grpcstats.WrapHandler(otelgrpc.NewClientHandler(opts...))))
//
// A sampler drops most spans before any processor sees them; wrap it with
// [RecordAll] and debugz counts every RPC while exporters still receive only
// the sample. Pass the server's registered methods with [WithServices] to list
// methods never called, and a tracing backend's URL with [WithTraceURL] to
// link trace IDs to it.
//
// Give the wrapper the processor ([grpcstats.WithProgress]) and the in-flight
// view shows each running call's messages so far, deadline left and peer;
// let it label the server's goroutines ([grpcstats.WithProfilerLabels]) and
// a running call's page shows where its goroutines are now (from one
// goroutine dump a second, shared by every viewer; above 10,000 goroutines
// the page offers the dump instead of taking it), the CPU page
// splits a CPU profile by method, and [grpcstats.WithSlowStacks] keeps where
// a slow call waited.
//
// # The calls' own log lines
//
// Wrap your slog handler with [SpanProcessor.LogHandler] and log with the
// request's context: the records a call's handlers log show on its page,
// beside its events, on its trace's page and on the logs page, and the
// summary counts each method's warnings and errors. Every record still
// reaches your handler. The OpenTelemetry logs SDK feeds the same through
// the processor of the module github.com/debugz/debugz/otellog.
//
// # Memory
//
// Everything is bounded by construction, with these defaults:
//
//   - the most recent 8192 gRPC spans ([WithMaxSpans]) and 2048 other spans
//     ([WithMaxOtherSpans]);
//   - per (method, kind), the latest 10 spans of each latency bucket and of
//     each non-OK code ([WithMaxSpansPerBucket]), so that one failure of a quiet
//     method outlives a flood of a hot one; there is no one-span-per-second cap
//     to lose bursts;
//   - at most 512 (method, kind) rows ([WithMaxMethods]), about 17 KiB each,
//     their latency histograms included; further methods are counted in one
//     [OverflowMethod] row, so the counts still add up;
//   - at most 10000 in-flight RPCs tracked ([WithMaxActive]);
//   - at most 16 KiB of attribute, event and link data per span
//     ([WithMaxSpanBytes]): a bigger span is kept as a truncated copy, while
//     the common span is kept as the SDK handed it over, without a copy;
//   - with [SpanProcessor.LogHandler], the first and last 8 log records of each
//     call, kept with its span, and the latest 2048 records for the logs page
//     (about 1 MiB, allocated on LogHandler's first call), each with a message
//     of at most 1 KiB and 8 attributes of at most 256 bytes.
//
// A retained span costs what the SDK's snapshot of it costs, typically 1–2
// KiB for an otelgrpc span. A row holds at most 10 spans for each of its 7
// buckets and each non-OK code it has seen, typically 70–100, so a service
// with 100 (method, kind) rows holds about 20k spans, a few tens of MiB. The
// bound is higher: 512 rows each with all 16 error codes seen hold 118k spans,
// plus 10k in the rings, each up to 16 KiB of attributes; lower
// [WithMaxSpansPerBucket], [WithMaxMethods] or [WithMaxSpanBytes] if that matters.
//
// # Security
//
// The pages show what a service's RPCs carry, so by default, with no option
// to set, the handler serves a request only when both hold, and answers 403
// saying why otherwise:
//
//   - It came over a local connection: TCP whose remote and local addresses
//     are both loopback, judged by the connection itself (the local address
//     net/http puts in the request's context, [http.LocalAddrContextKey]),
//     so a middleware that rewrites RemoteAddr from X-Forwarded-For, such as
//     chi's RealIP, cannot make a remote request look local; or a Unix
//     socket, whose peer is on this machine.
//   - Its Host header names this machine: localhost or a name under
//     .localhost, a loopback address, or the address the request arrived
//     on, with any port. A page on another site that points its own name at
//     127.0.0.1 (DNS rebinding) sends that name, and is refused.
//     [WithAllowedHosts] adds names, for a hostname on this machine.
//
// [WithAuthorizer] replaces the first check with a function of your own:
// behind a reverse proxy on the same host every request is local, so check
// the user there. The Host check stays (an authorizer that trusts an
// address would let a rebinding page in): add the proxy's name with
// [WithAllowedHosts], or "*" to turn it off. [LocalOnly] puts the default
// checks in front of any other handler, such as net/http/pprof and expvar,
// which check nothing themselves. HEAD is answered wherever GET is; nothing
// else is.
//
// Credentials are redacted in the pages and in every JSON and OTLP answer,
// live streams included: the values of keys that look like credentials, and
// the credentials inside any value. The rules are written once, in the JSON
// contract: https://github.com/debugz/debugz/blob/main/docs/api.md#redaction.
// [WithRedactedKeys] adds keys of your own; [WithoutRedaction] turns it off.
// The JSON API itself (every endpoint, parameter, field and unit) is
// described in the same document.
//
// Every value is escaped by templ and pages allow only their own script and
// style (Content-Security-Policy). A query parameter a page does not take,
// one given twice or longer than 1 KiB is a 400 naming it, which quotes no
// more than 64 bytes of it; an unknown or evicted ID is a 404. At most 100
// live streams are served at once, 50 to one client IP address (503 and
// Retry-After beyond); a stream ends after 5 minutes (a live page
// reconnects), and a reader that stops reading is dropped after 10 seconds.
// A request a browser sent for a page of another site (Sec-Fetch-Site:
// cross-site) is refused with 403 on every route.
//
// # Cost
//
// OnStart and OnEnd run synchronously on every span. They hold no lock for
// longer than a few field updates, do no I/O, never wait for a reader, and do
// not allocate in steady state. The health service is ignored by default
// ([WithIgnoredMethods]).
package debugz
