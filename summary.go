package debugz

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/rpccode"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Summary is a point-in-time view of everything the processor counted.
type Summary struct {
	Retained      int             // gRPC spans in the recent-spans ring
	Evicted       uint64          // gRPC spans the ring has overwritten
	Dropped       uint64          // spans lost to a bug in debugz (a recovered panic); should be 0
	Fault         string          // the first such panic: when, its value and stack; "" if none
	ActiveEvicted uint64          // in-flight RPCs no longer tracked: pushed out by newer ones when the table was full, or aged out
	BucketBounds  []time.Duration // lower bound of each latency bucket
	Methods       []MethodStats   // sorted by method, then server before client
}

// MethodStats are the statistics of one (method, kind) since the processor
// started. Count, Codes and Buckets count every RPC seen, retained or not.
type MethodStats struct {
	Method string
	Kind   trace.SpanKind // server or client
	Count  uint64
	Errors uint64 // RPCs whose code is not OK
	// Faults are the Errors whose code says the server failed rather than
	// the caller: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
	// UNAVAILABLE and DATA_LOSS (gRPC's guidance; otelgrpc marks a server
	// span Error for these alone). NOT_FOUND, INVALID_ARGUMENT, CANCELLED
	// and the like are the caller's.
	Faults uint64
	Active int // tracked RPCs in flight now
	// Codes counts the RPCs by code, as Codes[codes.NotFound]; a code
	// beyond gRPC's counts as UNKNOWN. [CodeName] names them.
	Codes    [codes.Unauthenticated + 1]uint64
	Buckets  []uint64 // disjoint, one per bucket bound; they sum to Count
	P50, P90 time.Duration
	P99, Max time.Duration
	LastSeen time.Time // end of the latest RPC; zero if none ended yet

	// Last1m and Last10m count the RPCs that ended in the last 60 seconds
	// and in the last 10 minutes (the current minute and the 9 before it),
	// where Count, Errors and Faults are since the processor started; the
	// rate over the last minute is Last1m.Count / 60 per second.
	Last1m, Last10m Window

	// Recent are the quantiles of the RPCs that ended in this minute and
	// the one before: latency now, where P50…Max are since start.
	Recent RecentLatency

	// Messages and bytes (uncompressed) of the MessageCalls calls whose spans
	// carried them (see grpcstats.WrapHandler); averages are per such call.
	MessageCalls                   uint64
	MessagesSent, MessagesReceived uint64
	BytesSent, BytesReceived       uint64
	NearDeadline                   uint64 // calls that used more than 80% of their deadline
	// Retried counts the client calls that made more than one attempt,
	// where the instrumentation says (grpc-go's plugin, otelgrpc with
	// grpcstats: see Span.Attempts); such a call counts once in the row, by
	// how it ended.
	Retried uint64

	// LogWarnings and LogErrors count the records at Warn and at Error or
	// above that the calls' handlers logged (SpanProcessor.LogHandler).
	LogWarnings, LogErrors uint64
}

// Window counts the RPCs of a (method, kind) that ended within a recent
// window of time.
type Window struct {
	Count, Errors, Faults uint64
}

func (w *Window) add(t *tally) {
	w.Count += t.calls
	w.Errors += t.errors
	w.Faults += t.fault
}

// addCodes adds the calls of a time window's slot, counted by code.
func (w *Window) addCodes(byCode *[maxCode + 1]uint32) {
	var all, faults uint64
	for _, n := range byCode {
		all += uint64(n)
	}
	for _, c := range faultCodes {
		faults += uint64(byCode[c])
	}
	w.Count += all
	w.Errors += all - uint64(byCode[codes.OK])
	w.Faults += faults
}

// faultCodes are the codes that are server faults (rpccode.ServerFault):
// adding theirs alone, not asking of each code, was most of reading a busy
// row's minute slots.
var faultCodes = func() (out []int) {
	for c := range int(maxCode) + 1 {
		if rpccode.ServerFault(c) {
			out = append(out, c)
		}
	}
	return out
}()

var quantileLevels = [...]float64{0.5, 0.9, 0.99}

// Summary returns the statistics of every (method, kind), including methods
// that have RPCs in flight but none finished yet (within the same cap on
// rows). It is safe for concurrent use; it holds each row body's lock only while
// copying that row, and computes after unlocking. The rows share two
// allocations, their MethodStats and their Buckets: a summary of 1,000
// rows that allocated a map and a slice per row spent a third of its time
// there.
func (sp *SpanProcessor) Summary() Summary {
	now := time.Now()
	sum := Summary{
		Retained: sp.recent.Len(), Evicted: sp.recent.Overwritten(), Dropped: sp.dropped.Load(),
		Fault: sp.fault.Load().String(), BucketBounds: sp.bucketBounds(),
	}
	var active map[rowKey]int
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress) {
		if active == nil {
			active = map[rowKey]int{}
		}
		active[rowKey{method, s.SpanKind()}]++
	})
	sum.ActiveEvicted = sp.active.evicted.Load()
	rows := sp.rows.sortedRows() // sorting them, or the MethodStats, was a fifth of a summary of 1,000 rows
	nb := len(sum.BucketBounds)
	buckets := make([]uint64, len(rows)*nb)
	sum.Methods = make([]MethodStats, len(rows), len(rows)+len(active))
	nowSec := now.Unix()
	for i, r := range rows {
		m := &sum.Methods[i]
		m.Method, m.Kind = r.method, r.kind
		m.Buckets = buckets[i*nb : (i+1)*nb : (i+1)*nb]
		if active != nil {
			m.Active = active[r.rowKey]
			delete(active, r.rowKey)
		}
		r.copyTo(m, nowSec)
		m.Errors, m.Faults = errorsOf(&m.Codes)
	}
	if len(active) > 0 {
		sum.Methods = sp.addInFlight(sum.Methods, active, nb)
	}
	return sum
}

// errorsOf counts the calls of codes that are errors, and of those the
// server's faults.
func errorsOf(byCode *[maxCode + 1]uint64) (errors, faults uint64) {
	for _, n := range byCode[1:] {
		errors += n
	}
	for _, c := range faultCodes {
		faults += byCode[c]
	}
	return errors, faults
}

// addInFlight adds to ms, the rows by method then kind, the calls in flight
// of methods without a row: they count against the same cap on rows as
// the others, the rest go to the overflow rows.
func (sp *SpanProcessor) addInFlight(ms []MethodStats, active map[rowKey]int, buckets int) []MethodStats {
	room := sp.cfg.maxMethods - sp.rows.len()
	keys := slices.SortedFunc(maps.Keys(active), func(a, b rowKey) int {
		return cmp.Or(cmp.Compare(a.method, b.method), cmp.Compare(a.kind, b.kind))
	})
	index := make(map[rowKey]int, len(ms)) // rows by key: one lookup per method in flight, not a scan
	for i := range ms {
		index[rowKey{ms[i].Method, ms[i].Kind}] = i
	}
	sorted := true
	for _, k := range keys {
		n := active[k]
		if room > 0 {
			room--
		} else {
			k.method = OverflowMethod
		}
		if i, ok := index[k]; ok {
			ms[i].Active += n
			continue
		}
		index[k] = len(ms)
		ms = append(ms, MethodStats{Method: k.method, Kind: k.kind, Active: n, Buckets: make([]uint64, buckets)})
		sorted = false
	}
	if !sorted {
		slices.SortFunc(ms, func(a, b MethodStats) int {
			return cmp.Or(cmp.Compare(a.Method, b.Method), cmp.Compare(a.Kind, b.Kind))
		})
	}
	return ms
}

func (sp *SpanProcessor) bucketBounds() []time.Duration {
	out := make([]time.Duration, len(sp.cfg.bounds))
	for i, b := range sp.cfg.bounds {
		out[i] = time.Duration(b)
	}
	return out
}

// RecentLatency describes the RPCs of a row that ended in the current and
// the previous wall-clock minute (one to two minutes of traffic).
type RecentLatency struct {
	Count              uint64
	P50, P90, P99, Max time.Duration
}

// recentLatency reads a row's minute histograms still current at nowMin as
// one, over the buckets they counted in. It reads first the one of lastMin,
// the minute of the row's last end, then the other unless the first holds
// every one of the row's calls.
func recentLatency(minutes *[2]minuteHist, nowMin, lastMin int64, calls uint64) RecentLatency {
	var out RecentLatency
	var maxNs int64
	var set bucketSet
	var cur [2]*[histBuckets]uint32 // the counts of the current ones, the first first
	n := 0
	for k := range int64(2) {
		if k == 1 && out.Count >= calls {
			break
		}
		if w := &minutes[(lastMin+k)&1]; w.n > 0 && w.minute >= nowMin-1 && w.minute <= nowMin {
			cur[n] = &w.counts
			n++
			out.Count += w.n
			maxNs = max(maxNs, w.max)
			for j := range set {
				set[j] |= w.set[j]
			}
		}
	}
	if out.Count == 0 {
		return out
	}
	out.Max = time.Duration(maxNs)
	q := quantiles(&set, cur[0], cur[1], out.Count, out.Max)
	out.P50, out.P90, out.P99 = q[0], q[1], q[2]
	return out
}
