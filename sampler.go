package debugz

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// RecordAll wraps a sampler so that debugz sees every span: where s decides
// Drop, the span is recorded anyway (RecordOnly) but not sampled. Span
// processors see it, so the dashboard counts every RPC; exporters, which
// check IsSampled, still export only what s sampled, and the sampled flag
// propagated downstream is unchanged.
//
//	tp := sdktrace.NewTracerProvider(
//		sdktrace.WithSampler(debugz.RecordAll(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)))),
//		sdktrace.WithSpanProcessor(sp),
//		sdktrace.WithBatcher(otlpExporter), // still receives about 10%
//	)
//
// The cost: every span is now recorded in memory (its attributes, its events)
// where a dropped span was almost free; BenchmarkRecordAll measures it. The
// dashboard marks spans that exporters did not see as unsampled.
//
// The returned sampler is safe for concurrent use if s is.
func RecordAll(s sdktrace.Sampler) sdktrace.Sampler {
	if s == nil {
		panic("debugz: RecordAll called with nil Sampler")
	}
	return recordAll{s}
}

type recordAll struct{ s sdktrace.Sampler }

func (r recordAll) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := r.s.ShouldSample(p)
	if res.Decision == sdktrace.Drop {
		res.Decision = sdktrace.RecordOnly
	}
	return res
}

func (r recordAll) Description() string { return "debugz.RecordAll{" + r.s.Description() + "}" }
