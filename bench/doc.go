// Package bench holds debugz's benchmarks, the ones that use only its public
// API: debugz compared with its peers, the way zap's benchmarks compare zap
// with other loggers, and debugz's own queries, log handler, sampler and
// grpcstats handlers. It is a module of its own, so that the peers it
// imports (go.opentelemetry.io/contrib/zpages and golang.org/x/net/trace)
// never become dependencies of debugz's users. It holds benchmarks only;
// those that need a package's unexported names stay beside it
// (grpcstats' BenchmarkCaptureText, web's rendering benchmarks).
//
// # What is compared
//
// Four span processors, each keeping or forwarding the same spans:
// debugz's [github.com/debugz/debugz.SpanProcessor]; contrib zpages's
// SpanProcessor; "mutexring", a bare mutex-guarded ring of
// sdktrace.ReadOnlySpan of the same capacity as debugz's (8192), the least a
// processor that keeps spans can do; and "batch", the SDK's
// BatchSpanProcessor with an exporter that discards, the processor most
// services already run. golang.org/x/net/trace ("xnettrace"), what gRPC
// services used before OpenTelemetry, is compared where it can be.
//
//   - BenchmarkOnStartOnEnd: OnStart and OnEnd of one finished old-semconv
//     otelgrpc server span, prepared beforehand, so that only the processor
//     is timed. BenchmarkOnStartOnEndSlashName does the same with a span name
//     that is not rpc.service + "/" + rpc.method, and
//     BenchmarkOnStartOnEndParallel with every CPU ending spans.
//   - BenchmarkSpanLifecycle and BenchmarkSpanLifecycleParallel: the whole
//     span through the SDK (start, two message events, the status code,
//     end), each processor on its own TracerProvider; "noop" is the SDK with
//     a processor that does nothing, "xnettrace" a request trace of
//     x/net/trace.
//   - BenchmarkGRPCUnary and BenchmarkGRPCUnaryParallel: a unary call over
//     loopback with otelgrpc's stats handlers on both sides, or gRPC's own
//     x/net/trace tracing (grpc.EnableTracing), or no tracing at all.
//   - BenchmarkLiveStreams: span throughput while 0, 20 or 300 clients
//     follow debugz's live pages and NDJSON stream.
//
// # debugz alone
//
//   - BenchmarkSummary: the summary query with 50 and 1,000 methods.
//   - BenchmarkQueries: the queries a page makes (a span, a trace, a page of
//     spans, one method's spans) with the rings full.
//   - BenchmarkLogRecord: a log record inside an RPC, through slog alone and
//     through SpanProcessor.LogHandler.
//   - BenchmarkRecordAll: a span's lifecycle with a 10% ratio sampler, plain
//     and wrapped in debugz.RecordAll.
//   - BenchmarkWrapHandlerUnary and BenchmarkWrapHandlerStream100: a unary
//     call and a 100-message server stream over loopback, with otelgrpc alone
//     and wrapped in grpcstats.WrapHandler with several options.
//
// # The host under viewers
//
// TestHostUnderStackViewers and TestHostUnderInFlightViewers (host_test.go)
// are measurements, not benchmarks: a host's gRPC throughput while people
// watch a running call's page among 20,000 parked goroutines, or the
// in-flight views with 10,000 calls in flight, as a ratio of its throughput
// while nobody does, in alternating rounds. They take minutes, so they run
// only with DEBUGZ_MEASURE=1:
//
//	cd bench && DEBUGZ_MEASURE=1 DEBUGZ_MEASURE_ROUNDS=6 go test -run TestHost -v -timeout 30m
//
// # Running
//
// From this directory, six runs of every benchmark, summarized:
//
//	cd bench && go test -run '^$' -bench . -count 6 | tee new.txt ; benchstat new.txt
//
// To compare a change, keep the first file as old.txt and run
// benchstat old.txt new.txt. The live pages look for news once a second, so
// BenchmarkLiveStreams needs a benchtime of seconds, not a count of
// iterations, to see their cost:
//
//	go test -run '^$' -bench LiveStreams -benchtime 5s -count 6
package bench
