package debugz

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Summary is a point-in-time view of everything the processor counted.
type Summary struct {
	Capacity     int             // capacity of the recent-spans ring
	Retained     int             // gRPC spans in the recent-spans ring
	Evicted      uint64          // gRPC spans the ring has overwritten
	Dropped      uint64          // spans lost to a bug in debugz (a recovered panic); should be 0
	BucketBounds []time.Duration // lower bound of each latency bucket
	Methods      []MethodStats   // sorted by method, then server before client
}

// MethodStats are the statistics of one (method, kind) since the processor
// started. Count, Codes and Buckets count every RPC seen, retained or not.
type MethodStats struct {
	Method   string
	Kind     trace.SpanKind // server or client
	Count    uint64
	Errors   uint64            // RPCs whose code is not OK
	Active   int               // tracked RPCs in flight now
	Codes    map[string]uint64 // by canonical code name; only codes seen
	Buckets  []uint64          // disjoint, one per bucket bound; they sum to Count
	P50, P90 time.Duration
	P99, Max time.Duration
	Rate1m   float64   // RPCs per second over the last minute
	LastSeen time.Time // end of the latest RPC; zero if none ended yet

	// Recent are the quantiles of the RPCs that ended in this minute and
	// the one before: latency now, where P50…Max are since start.
	Recent RecentLatency

	// Messages and bytes (uncompressed) of the MessageCalls calls whose spans
	// carried them (see WrapStatsHandler); averages are per such call.
	MessageCalls                   uint64
	MessagesSent, MessagesReceived uint64
	BytesSent, BytesReceived       uint64
	NearDeadline                   uint64 // calls that used more than 80% of their deadline
}

var quantileLevels = []float64{0.5, 0.9, 0.99}

// Summary returns the statistics of every (method, kind), including methods
// that have RPCs in flight but none finished yet. It is safe for concurrent
// use; it holds each row's lock only while copying that row.
func (sp *SpanProcessor) Summary() Summary {
	now := time.Now()
	window := min(now.Sub(sp.started), rateWindow*time.Second).Seconds()
	window = max(window, 1)
	sum := Summary{
		Capacity: sp.recent.Cap(), Retained: sp.recent.Len(), Evicted: sp.recent.Overwritten(), Dropped: sp.dropped.Load(),
		BucketBounds: sp.bucketBounds(),
	}
	active := map[rowKey]int{}
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string) {
		active[rowKey{method, s.SpanKind()}]++
	})
	nowSec := now.Unix()
	nowMin := nowSec / 60
	var buf histogram
	for _, r := range sp.rows.all() {
		m := MethodStats{Method: r.method, Kind: r.kind, Codes: map[string]uint64{}}
		m.Active = active[r.rowKey]
		delete(active, r.rowKey)
		var q [3]time.Duration
		r.mu.Lock()
		m.Count = r.count
		for c, n := range r.codes {
			if n > 0 {
				m.Codes[CodeName(codes.Code(c))] = n
				if c != int(codes.OK) {
					m.Errors += n
				}
			}
		}
		m.Buckets = slices.Clone(r.buckets)
		m.MessageCalls, m.MessagesSent, m.MessagesReceived = r.msgCalls, r.msgSent, r.msgReceived
		m.BytesSent, m.BytesReceived, m.NearDeadline = r.bytesSent, r.bytesReceived, r.nearDeadline
		m.Max = time.Duration(r.max)
		r.hist.quantiles(r.count, m.Max, quantileLevels, q[:])
		m.Recent = r.recentLatency(nowMin, &buf)
		if r.lastSeen != 0 {
			m.LastSeen = time.Unix(0, r.lastSeen)
		}
		var recent int64
		for _, s := range r.rate {
			if s.sec > nowSec-rateWindow && s.sec <= nowSec {
				recent += s.n
			}
		}
		r.mu.Unlock()
		m.P50, m.P90, m.P99 = q[0], q[1], q[2]
		m.Rate1m = float64(recent) / window
		sum.Methods = append(sum.Methods, m)
	}
	full := sp.rows.full()
	for k, n := range active { // in flight, nothing finished yet
		if full { // the row it would get is the overflow row
			k.method = OverflowMethod
		}
		if i := slices.IndexFunc(sum.Methods, func(m MethodStats) bool { return m.Method == k.method && m.Kind == k.kind }); i >= 0 {
			sum.Methods[i].Active += n
			continue
		}
		sum.Methods = append(sum.Methods, MethodStats{Method: k.method, Kind: k.kind, Active: n,
			Codes: map[string]uint64{}, Buckets: make([]uint64, len(sum.BucketBounds))})
	}
	slices.SortFunc(sum.Methods, func(a, b MethodStats) int {
		return cmp.Or(cmp.Compare(a.Method, b.Method), cmp.Compare(a.Kind, b.Kind))
	})
	return sum
}

func (sp *SpanProcessor) bucketBounds() []time.Duration {
	out := make([]time.Duration, len(sp.cfg.bounds))
	for i, b := range sp.cfg.bounds {
		out[i] = time.Duration(b)
	}
	return out
}

// BucketOf returns the index of the latency bucket that holds d.
func (sp *SpanProcessor) BucketOf(d time.Duration) int { return bucketOf(sp.cfg.bounds, int64(d)) }

// RecentLatency describes the RPCs of a row that ended in the current and
// the previous wall-clock minute (one to two minutes of traffic).
type RecentLatency struct {
	Count              uint64
	P50, P90, P99, Max time.Duration
}

// recentLatency merges the row's minute histograms still current at nowMin;
// the caller holds r.mu.
func (r *row) recentLatency(nowMin int64, buf *histogram) RecentLatency {
	clear(buf[:])
	var out RecentLatency
	var maxNs int64
	for i := range r.recent {
		w := &r.recent[i]
		if w.n == 0 || w.minute < nowMin-1 || w.minute > nowMin {
			continue
		}
		out.Count += w.n
		maxNs = max(maxNs, w.max)
		for j, c := range w.counts {
			buf[j] += uint64(c)
		}
	}
	if out.Count == 0 {
		return out
	}
	out.Max = time.Duration(maxNs)
	var q [3]time.Duration
	buf.quantiles(out.Count, out.Max, quantileLevels, q[:])
	out.P50, out.P90, out.P99 = q[0], q[1], q[2]
	return out
}

// Span is a copy of one retained span. Method is empty for a span that is not
// a gRPC call (a handler's own child span); Code is then OK.
type Span struct {
	TraceID       trace.TraceID
	SpanID        trace.SpanID
	Parent        trace.SpanContext // invalid for a root span
	TraceState    trace.TraceState
	Name          string
	Method        string
	Kind          trace.SpanKind
	Code          codes.Code
	StatusCode    string // the OTel status: "Unset", "Error" or "Ok"
	StatusMessage string
	Start, End    time.Time
	Duration      time.Duration
	Bucket        int // latency bucket index
	Attributes    []attribute.KeyValue
	Events        []sdktrace.Event
	Links         []sdktrace.Link
	Resource      *resource.Resource
	Scope         instrumentation.Scope
	Sampled       bool // whether exporters see this span
	Truncated     bool // the span was over WithMaxSpanBytes and cut

	// Messages of the call, from WrapStatsHandler's attributes or old
	// otelgrpc's message events; MessagesKnown is false when the span says
	// nothing about them.
	MessagesKnown                  bool
	MessagesSent, MessagesReceived int64
	BytesSent, BytesReceived       int64
	// DeadlineUsed is the share of its deadline the call used (0.95 is 95%);
	// 0 when the call had no deadline or the span does not say.
	DeadlineUsed float64

	DroppedAttributes, DroppedEvents, DroppedLinks int
}

// Filter selects spans for [SpanProcessor.Spans]. The zero Filter selects
// every retained gRPC span.
type Filter struct {
	Method     string         // full method, e.g. "user.UserService/FetchUser"
	Kind       trace.SpanKind // server or client; unspecified matches both
	Bucket     *int           // latency bucket index; nil matches any
	Code       *codes.Code    // nil matches any
	ErrorsOnly bool           // only codes other than OK
	// NearDeadline selects calls that used more than 80% of their deadline
	// (known from WrapStatsHandler's attributes).
	NearDeadline bool
	Min, Max     time.Duration // inclusive bounds on duration; 0 means none
	TraceID      trace.TraceID // zero matches any
	Limit        int           // at most this many, newest first; ≤ 0 means all
}

func (f *Filter) match(r *record, bounds []int64) bool {
	return r.row != nil &&
		(f.Method == "" || f.Method == r.method || f.Method == r.row.method) && // the row's: OverflowMethod
		(f.Kind == trace.SpanKindUnspecified || f.Kind == r.row.kind) &&
		(f.Bucket == nil || *f.Bucket == bucketOf(bounds, r.dur)) &&
		(f.Code == nil || *f.Code == r.code) &&
		(!f.ErrorsOnly || r.code != codes.OK) &&
		(!f.NearDeadline || r.near) &&
		(f.Min == 0 || r.dur >= int64(f.Min)) &&
		(f.Max == 0 || r.dur <= int64(f.Max)) &&
		(!f.TraceID.IsValid() || f.TraceID == r.span.SpanContext().TraceID())
}

// Spans returns copies of the retained gRPC spans that match f, from the
// recent ring and every reservoir, each once, newest first. It is safe for
// concurrent use and never blocks OnEnd for longer than copying one row's
// reservoirs.
func (sp *SpanProcessor) Spans(f Filter) []Span {
	recs := sp.records(true, false)
	out := make([]Span, 0, min(len(recs), max(f.Limit, 0)))
	for i := range recs {
		if f.match(&recs[i], sp.cfg.bounds) {
			out = append(out, sp.toSpan(&recs[i]))
			if len(out) == f.Limit {
				break
			}
		}
	}
	return out
}

// Span returns a copy of the retained span with the given ID, gRPC or not.
func (sp *SpanProcessor) Span(id trace.SpanID) (Span, bool) {
	for _, r := range sp.records(true, true) {
		if r.span.SpanContext().SpanID() == id {
			return sp.toSpan(&r), true
		}
	}
	return Span{}, false
}

// Trace returns copies of every retained span of a trace, gRPC or not,
// ordered by start time.
func (sp *SpanProcessor) Trace(id trace.TraceID) []Span {
	var out []Span
	for _, r := range sp.records(true, true) {
		if r.span.SpanContext().TraceID() == id {
			out = append(out, sp.toSpan(&r))
		}
	}
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out
}

// records gathers retained records, each span once, newest end first.
func (sp *SpanProcessor) records(grpc, other bool) []record {
	var recs []record
	if grpc {
		recs = sp.recent.Snapshot()
		for _, r := range sp.rows.all() {
			r.mu.Lock()
			for i := range r.byBucket {
				recs = r.byBucket[i].appendTo(recs)
			}
			for _, res := range r.byCode {
				if res != nil {
					recs = res.appendTo(recs)
				}
			}
			r.mu.Unlock()
		}
	}
	if other {
		recs = sp.other.AppendSnapshot(recs)
	}
	slices.SortStableFunc(recs, func(a, b record) int { return cmp.Compare(b.end, a.end) })
	seen := make(map[trace.SpanID]struct{}, len(recs))
	return slices.DeleteFunc(recs, func(r record) bool {
		id := r.span.SpanContext().SpanID()
		if _, dup := seen[id]; dup {
			return true
		}
		seen[id] = struct{}{}
		return false
	})
}

func (sp *SpanProcessor) toSpan(r *record) Span {
	s := r.span
	sc := s.SpanContext()
	st := s.Status()
	var msgs messageStats
	for _, kv := range s.Attributes() {
		if strings.HasPrefix(string(kv.Key), "debugz.") {
			msgs.read(string(kv.Key), kv.Value)
		}
	}
	if !msgs.known && r.row != nil {
		msgs.readMessageEvents(s.Events())
	}
	return Span{
		MessagesKnown: msgs.known, MessagesSent: msgs.sent, MessagesReceived: msgs.received,
		BytesSent: msgs.bytesSent, BytesReceived: msgs.bytesReceived, DeadlineUsed: msgs.deadlineUsed,
		TraceID:           sc.TraceID(),
		SpanID:            sc.SpanID(),
		Parent:            s.Parent(),
		TraceState:        sc.TraceState(),
		Name:              s.Name(),
		Method:            r.method,
		Kind:              s.SpanKind(),
		Code:              r.code,
		StatusCode:        st.Code.String(),
		StatusMessage:     st.Description,
		Start:             s.StartTime(),
		End:               s.EndTime(),
		Duration:          time.Duration(r.dur),
		Bucket:            bucketOf(sp.cfg.bounds, r.dur),
		Attributes:        slices.Clone(s.Attributes()),
		Events:            slices.Clone(s.Events()),
		Links:             slices.Clone(s.Links()),
		Resource:          s.Resource(),
		Scope:             s.InstrumentationScope(),
		Sampled:           sc.IsSampled(),
		Truncated:         r.truncated,
		DroppedAttributes: s.DroppedAttributes(),
		DroppedEvents:     s.DroppedEvents(),
		DroppedLinks:      s.DroppedLinks(),
	}
}

// ActiveRPC is a gRPC call still in flight.
type ActiveRPC struct {
	TraceID    trace.TraceID
	SpanID     trace.SpanID
	Method     string
	Kind       trace.SpanKind
	Start      time.Time
	Attributes []attribute.KeyValue // as set so far
}

// Active returns the tracked in-flight gRPC calls, oldest first. A starting
// span counts as a gRPC call when it is a server or client span named like
// "pkg.Service/Method" or made by otelgrpc.
func (sp *SpanProcessor) Active() []ActiveRPC {
	var out []ActiveRPC
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string) {
		sc := s.SpanContext()
		out = append(out, ActiveRPC{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Method: method,
			Kind: s.SpanKind(), Start: s.StartTime(), Attributes: slices.Clone(s.Attributes())})
	})
	slices.SortFunc(out, func(a, b ActiveRPC) int { return a.Start.Compare(b.Start) })
	return out
}

// eachActive calls f for each tracked in-flight span that is a gRPC call,
// with its method.
func (sp *SpanProcessor) eachActive(f func(s sdktrace.ReadWriteSpan, method string)) {
	for _, s := range sp.active.spans() {
		name := s.Name()
		if looksLikeGRPC(s.SpanKind(), name, func() string { return s.InstrumentationScope().Name }) && !sp.cfg.ignores(name) {
			f(s, strings.TrimPrefix(name, "/"))
		}
	}
}
