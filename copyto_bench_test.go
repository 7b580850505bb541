package debugz

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// copyDst is what copyTo writes.
type copyDst = MethodStats

// BenchmarkCopyTo measures how long a reader holds a row's lock, which
// OnEnd waits on: a busy row, with calls of many latencies and codes in
// every second of the last 10 minutes, and a young one of four calls.
func BenchmarkCopyTo(b *testing.B) {
	now := time.Now()
	for _, bc := range []struct {
		name  string
		calls int
		every time.Duration
	}{{"busy", 6000, 100 * time.Millisecond}, {"young", 4, time.Second}} {
		sp := NewSpanProcessor()
		for i := range bc.calls {
			sp.OnEnd(stub{name: "a.S/M", kind: trace.SpanKindServer, dur: time.Duration(1+i*7919%100_000) * time.Microsecond,
				end:   now.Add(-time.Duration(bc.calls-i) * bc.every),
				attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.Int64("rpc.grpc.status_code", int64(i%17))}}.snapshot())
		}
		r := sp.rows.sortedRows()[0]
		b.Run(fmt.Sprintf("%s/calls=%d", bc.name, bc.calls), func(b *testing.B) {
			var m copyDst
			m.Buckets = make([]uint64, len(r.buckets))
			nowSec := now.Unix()
			for b.Loop() {
				r.copyTo(&m, nowSec)
			}
		})
	}
}
