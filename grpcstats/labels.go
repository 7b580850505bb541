package grpcstats

import (
	"runtime/pprof"
	"strings"

	"google.golang.org/grpc/stats"
)

// Profiler labels that [WithProfilerLabels] puts on the goroutine of each
// server RPC, and so on every goroutine its handler starts: a goroutine dump
// or a CPU profile then says which RPC a goroutine serves
// (`go tool pprof -tagfocus grpc.method=user.UserService/FetchUser`).
const (
	// LabelMethod is the RPC's full method, "pkg.Service/Method".
	LabelMethod = "grpc.method"
	// LabelSpanID is the hex span ID of the RPC's server span.
	LabelSpanID = "span_id"
)

// WithProfilerLabels labels the goroutine that runs each server RPC's
// handler with [LabelMethod] and [LabelSpanID] (runtime/pprof labels) from
// the RPC's start to its end, when the goroutine's labels are restored. The
// dashboard then shows the stacks of a running RPC's goroutines, and CPU
// profiles split by method. Off by default: it costs each server RPC three
// allocations, about 150 bytes, and no time measurable in a loopback call
// (BenchmarkUnaryCall: 70.2 µs with, 68.9 µs without, medians of 3).
// Client RPCs are not labelled: their goroutine is the caller's.
func WithProfilerLabels() Option {
	return optionFunc(func(c *config) { c.labels = true })
}

// label labels the current goroutine, running server RPC st's handler, and
// keeps what to restore at its end.
func (st *rpcState) label(b *stats.Begin, method string) {
	if b.Client || method == "" {
		return
	}
	st.unlabeled = st.Context // the labels the goroutine had: those of the context before ours
	pprof.SetGoroutineLabels(pprof.WithLabels(st.Context, pprof.Labels(
		LabelMethod, strings.TrimPrefix(method, "/"), LabelSpanID, st.span.SpanContext().SpanID().String())))
}

// unlabel restores the goroutine's labels at the RPC's end: a server may run
// several RPCs, one after the other, on one goroutine.
func (st *rpcState) unlabel() {
	if st.unlabeled != nil {
		pprof.SetGoroutineLabels(st.unlabeled)
		st.unlabeled = nil
	}
}
