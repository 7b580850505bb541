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
			m.Buckets = make([]uint64, len(r.base.buckets))
			nowSec := now.Unix()
			for b.Loop() {
				r.copyTo(&m, nowSec)
			}
		})
	}
}

// BenchmarkCopyToRows times copyTo alone over 1,000 young rows, each read
// into the rows Summary returns, fresh each pass, as Summary does: the
// time OnEnd may wait on a reader, with the rows out of the caches.
func BenchmarkCopyToRows(b *testing.B) {
	sp, now := youngRows(1000)
	rows := sp.rows.sortedRows()
	nowSec := now.Unix()
	for b.Loop() {
		b.StopTimer()
		dst := newCopyDsts(len(rows), len(rows[0].base.buckets))
		b.StartTimer()
		for i, r := range rows {
			r.copyTo(dst.at(i), nowSec)
		}
	}
}

// copyDsts are where BenchmarkCopyToRows reads rows into.
type copyDsts []MethodStats

func newCopyDsts(n, buckets int) copyDsts {
	d := make(copyDsts, n)
	all := make([]uint64, n*buckets)
	for i := range d {
		d[i].Buckets = all[i*buckets : (i+1)*buckets]
	}
	return d
}

func (d copyDsts) at(i int) *MethodStats { return &d[i] }

// youngRows returns a processor with methods server rows, 4 calls each,
// ended over the last few seconds before now.
func youngRows(methods int) (sp *SpanProcessor, now time.Time) {
	sp = NewSpanProcessor(WithMaxMethods(2 * methods))
	now = time.Now()
	for i := range 4 * methods {
		service, method := fmt.Sprintf("shop.Service%d", i%methods/10), fmt.Sprintf("Method%d", i%10)
		sp.OnEnd(stub{name: service + "/" + method, kind: trace.SpanKindServer, dur: time.Duration(100+i*7919%50_000) * time.Microsecond,
			end: now.Add(-time.Duration(i) * time.Millisecond),
			attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", service),
				attribute.String("rpc.method", method), attribute.Int64("rpc.grpc.status_code", int64(i%7%6))}}.snapshot())
	}
	return sp, now
}
