package debugz

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/rpccode"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// codeMap is a row's or a window's codes by name, only those seen, for a
// test's messages.
func codeMap(byCode [maxCode + 1]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for c, n := range byCode {
		if n > 0 {
			out[CodeName(codes.Code(c))] = n
		}
	}
	return out
}

// scanned is what copyTo reads at nowSec from a row's time windows and
// histograms, read the long way: every tally and minute slot, both minute
// histograms and the whole histogram.
func scanned(row *row, nowSec int64) (last1m, last10m Window, recent RecentLatency, q [3]time.Duration) {
	row.read(func(r *rowStats) { last1m, last10m, recent, q = scannedStats(r, nowSec) })
	return last1m, last10m, recent, q
}

func scannedStats(r *rowStats, nowSec int64) (last1m, last10m Window, recent RecentLatency, q [3]time.Duration) {
	nowMin := floorDiv(nowSec, 60)
	for i := range r.rate {
		if t := &r.rate[i]; t.at > nowSec-rateWindow && t.at <= nowSec {
			last1m.add(t)
		}
	}
	for i := range r.win.long {
		if s := &r.win.long[i]; s.at > nowMin-windowMinutes && s.at <= nowMin {
			for c, n := range s.codes { // code by code
				last10m.Count += uint64(n)
				if c != 0 {
					last10m.Errors += uint64(n)
					if rpccode.ServerFault(c) {
						last10m.Faults += uint64(n)
					}
				}
			}
		}
	}
	q = walked(&r.histSet, func(i int) uint64 { return r.hist[i] }, r.count, time.Duration(r.max))
	// Both minutes, if current.
	cur := [2]*minuteHist{{}, {}}
	var set bucketSet
	var maxNs int64
	for i := range r.recent {
		if w := &r.recent[i]; w.n > 0 && w.minute >= nowMin-1 && w.minute <= nowMin {
			cur[i] = w
			recent.Count += w.n
			maxNs = max(maxNs, w.max)
			for j := range set {
				set[j] |= w.set[j]
			}
		}
	}
	recent.Max = time.Duration(maxNs)
	rq := walked(&set, func(i int) uint64 { return uint64(cur[0].counts[i]) + uint64(cur[1].counts[i]) }, recent.Count, recent.Max)
	recent.P50, recent.P90, recent.P99 = rq[0], rq[1], rq[2]
	return last1m, last10m, recent, q
}

// walked are the quantiles of total values, walked the long way: each
// bucket of set counted by a call, each quantile compared as a float.
func walked(set *bucketSet, count func(i int) uint64, total uint64, max time.Duration) (out [3]time.Duration) {
	if total == 0 {
		return out
	}
	var seen uint64
	q := 0
	set.each(func(i int) bool {
		seen += count(i)
		for q < len(out) && float64(seen) >= quantileLevels[q]*float64(total) {
			lo, w := histRange(i)
			out[q] = min(time.Duration(lo+w/2), max)
			q++
		}
		return q < len(out)
	})
	for ; q < len(out); q++ {
		out[q] = max
	}
	return out
}

// scannedWindows are a row's time windows at now read the long way, every
// slot, as windowSums reads them.
func scannedWindows(row *row, now int64) (stats [2]windowStats) {
	row.read(func(r *rowStats) { stats = scannedStatsWindows(r, now) })
	return stats
}

func scannedStatsWindows(r *rowStats, now int64) [2]windowStats {
	var out [2]windowSum
	out[0].reset(len(r.buckets))
	out[1].reset(len(r.buckets))
	for i, ws := range [][]slot{r.win.short[:], r.win.long[:]} {
		cur, n := floorDiv(now, slotSeconds), int64(shortSlots)
		if i == 1 {
			cur, n = floorDiv(now, 60), longSlots
		}
		for j := range ws {
			if s := &ws[j]; s.at > cur-n && s.at <= cur {
				for c, k := range s.codes {
					out[i].codes[c] += uint64(k)
				}
				for b, k := range s.buckets {
					out[i].buckets[b] += uint64(k)
				}
				for h, k := range s.hist {
					out[i].hist[h] += uint64(k)
				}
				out[i].max = max(out[i].max, s.max)
			}
		}
	}
	nb := len(r.buckets)
	return [2]windowStats{out[0].stats(make([]uint64, nb)), out[1].stats(make([]uint64, nb))}
}

// TestCopyToReadsAsScan: copyTo, which reads a row's tallies and minute
// slots newest first until they hold all its calls, skips the minute
// histograms of an idle row and takes the quantiles since start from them
// when they hold every call, reads what a scan of everything reads; so do
// the time windows, read the same way: for
// young, busy, old, idle and quiet rows, with calls ending later than now and
// tallies and slots of older seconds and minutes between the current ones, at
// times from before their last call to 11 minutes after.
func TestCopyToReadsAsScan(t *testing.T) {
	sp := NewSpanProcessor()
	now := time.Now().Truncate(time.Second).Add(500 * time.Millisecond)
	call := func(method string, code int64, dur, ago time.Duration) stub {
		return stub{name: "a.S/" + method, kind: trace.SpanKindServer, dur: dur, end: now.Add(-ago),
			attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "a.S"),
				attribute.String("rpc.method", method), attribute.Int64("rpc.grpc.status_code", code)}}
	}
	var calls []stub
	for i := range 4 { // young: four calls in the last seconds
		calls = append(calls, call("Young", int64(i%2*5), time.Duration(i+1)*time.Millisecond, time.Duration(i)*time.Second))
	}
	for i := range 45 { // old: every 20 seconds over the last 15 minutes
		calls = append(calls, call("Old", int64(i%3*7), time.Duration(i+1)*3*time.Millisecond, time.Duration(i)*20*time.Second))
	}
	calls = append(calls, call("Idle", 0, time.Millisecond, 5*time.Minute), call("Idle", 14, time.Second, 5*time.Minute+time.Second))
	calls = append(calls, // later than now: a clock step
		call("Ahead", 0, time.Millisecond, -30*time.Second), call("Ahead", 13, 2*time.Millisecond, 10*time.Second),
		call("Ahead", 0, 3*time.Millisecond, 90*time.Second))
	calls = append(calls, // the slowest long ago, the rest now: the minute histograms hold all but one
		call("Outlier", 0, time.Minute, 20*time.Minute), call("Outlier", 0, time.Millisecond, time.Second), call("Outlier", 4, 2*time.Millisecond, 0))
	for i := range 700 { // busy: hundreds of latencies and every code, every second for 11 minutes
		calls = append(calls, call("Busy", int64(i%17), time.Duration(1+i*7919%100_000)*time.Microsecond, time.Duration(i)*time.Second))
	}
	calls = append(calls, // a tally and a minute slot the row read past hold a second and a minute a minute and 10 minutes older
		call("Stale", 0, time.Millisecond, 10*time.Second), call("Stale", 5, time.Millisecond, 75*time.Second),
		call("Stale", 0, time.Millisecond, 13*time.Minute))
	for _, c := range calls {
		sp.OnEnd(c.snapshot())
	}
	rows := sp.rows.sortedRows()
	if len(rows) != 7 {
		t.Fatalf("%d rows; want 7", len(rows))
	}
	for _, r := range rows {
		for _, after := range []time.Duration{-45 * time.Second, -time.Second, 0, 20 * time.Second, 59 * time.Second,
			61 * time.Second, 2 * time.Minute, 5*time.Minute + 30*time.Second, 9*time.Minute + 30*time.Second, 11 * time.Minute} {
			nowSec := now.Add(after).Unix()
			m := MethodStats{Buckets: make([]uint64, len(r.base.buckets))}
			r.copyTo(&m, nowSec)
			last1m, last10m, recent, q := scanned(r, nowSec)
			got := fmt.Sprintf("last 1m %+v, last 10m %+v, recent %+v, quantiles %v", m.Last1m, m.Last10m, m.Recent, [3]time.Duration{m.P50, m.P90, m.P99})
			want := fmt.Sprintf("last 1m %+v, last 10m %+v, recent %+v, quantiles %v", last1m, last10m, recent, q)
			if got != want {
				t.Errorf("%s at now%+v: copyTo read %s; a scan reads %s", r.method, after, got, want)
			}
			var a, b windowSum
			r.windowSums(nowSec, &a, &b)
			nb := len(r.base.buckets)
			got = fmt.Sprintf("%+v", [2]windowStats{a.stats(make([]uint64, nb)), b.stats(make([]uint64, nb))})
			if want := fmt.Sprintf("%+v", scannedWindows(r, nowSec)); got != want {
				t.Errorf("%s at now%+v: windows read %s; a scan reads %s", r.method, after, got, want)
			}
		}
	}
}

// TestSourceWindowsByRow: the pages' time windows are each row's own, paired
// by method and kind, with a row of calls in flight alone (none finished)
// among them: it has no windows, and the rows after it keep theirs. Without
// windows, the rows have none.
func TestSourceWindowsByRow(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	now := time.Now()
	ended := map[string]int{"a.S/A server": 1, "a.S/A client": 2, "a.S/C server": 3, "a.S/D client": 4}
	for key, n := range ended {
		method, kind, _ := strings.Cut(key, " ")
		k := trace.SpanKindServer
		if kind == "client" {
			k = trace.SpanKindClient
		}
		for i := range n {
			sp.OnEnd(stub{name: method, kind: k, dur: time.Millisecond, end: now.Add(-time.Duration(i) * time.Second),
				attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.Int64("rpc.grpc.status_code", int64(i))}}.snapshot())
		}
	}
	_, running := tp.Tracer(otelgrpcScope).Start(context.Background(), "a.S/B", trace.WithSpanKind(trace.SpanKindServer))
	defer running.End()
	cfg := newHandlerConfig(nil)
	src := newSource(sp, &cfg)
	if plain := src.Summary(false); len(plain.Methods) != 5 || plain.Methods[4].Count != 4 || plain.Methods[4].In[1].Count != 0 {
		t.Errorf("Summary(false) = %+v; want 5 rows, the last of 4 calls, without windows", plain.Methods)
	}
	sum := src.Summary(true)
	var got []string
	for _, m := range sum.Methods {
		got = append(got, fmt.Sprintf("%s %s: %d calls, %d active, last minute %d (%d codes), 10 minutes %d, %d buckets",
			m.Method, m.Kind, m.Count, m.Active, m.In[0].Count, len(m.In[0].Codes), m.In[1].Count, len(m.In[1].Buckets)))
	}
	want := []string{
		"a.S/A server: 1 calls, 0 active, last minute 1 (1 codes), 10 minutes 1, 7 buckets",
		"a.S/A client: 2 calls, 0 active, last minute 2 (2 codes), 10 minutes 2, 7 buckets",
		"a.S/B server: 0 calls, 1 active, last minute 0 (0 codes), 10 minutes 0, 0 buckets",
		"a.S/C server: 3 calls, 0 active, last minute 3 (3 codes), 10 minutes 3, 7 buckets",
		"a.S/D client: 4 calls, 0 active, last minute 4 (4 codes), 10 minutes 4, 7 buckets",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Summary(true) rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
