package debugz

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/ringbuffer"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Summary is a point-in-time view of everything the processor counted.
type Summary struct {
	Capacity      int             // capacity of the recent-spans ring
	Retained      int             // gRPC spans in the recent-spans ring
	Evicted       uint64          // gRPC spans the ring has overwritten
	Dropped       uint64          // spans lost to a bug in debugz (a recovered panic); should be 0
	Fault         *Fault          // the first such panic; nil if none
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
	Faults   uint64
	Active   int               // tracked RPCs in flight now
	Codes    map[string]uint64 // by canonical code name; only codes seen
	Buckets  []uint64          // disjoint, one per bucket bound; they sum to Count
	P50, P90 time.Duration
	P99, Max time.Duration
	Rate1m   float64   // RPCs per second over the last minute
	LastSeen time.Time // end of the latest RPC; zero if none ended yet

	// Last1m and Last10m count the RPCs that ended in the last 60 seconds
	// and in the last 10 minutes (the current minute and the 9 before it),
	// where Count, Errors and Faults are since the processor started.
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

var quantileLevels = []float64{0.5, 0.9, 0.99}

// Summary returns the statistics of every (method, kind), including methods
// that have RPCs in flight but none finished yet (within the same cap on
// rows). It is safe for concurrent use; it holds each row's lock only while
// copying that row, and computes after unlocking.
func (sp *SpanProcessor) Summary() Summary {
	now := time.Now()
	sum := Summary{
		Capacity: sp.recent.Cap(), Retained: sp.recent.Len(), Evicted: sp.recent.Overwritten(), Dropped: sp.dropped.Load(),
		Fault: sp.fault.Load(), BucketBounds: sp.bucketBounds(),
	}
	active := map[rowKey]int{}
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress) {
		active[rowKey{method, s.SpanKind()}]++
	})
	sum.ActiveEvicted = sp.active.evicted.Load()
	nowSec := now.Unix()
	nowMin := nowSec / 60
	var c rowCopy
	var buf histogram
	rows := sp.rows.all()
	for _, r := range rows {
		m := MethodStats{Method: r.method, Kind: r.kind, Codes: map[string]uint64{}}
		m.Active = active[r.rowKey]
		delete(active, r.rowKey)
		r.copyTo(&c)
		m.Count = c.count
		for code, n := range c.codes {
			if n > 0 {
				m.Codes[CodeName(codes.Code(code))] = n
				if code != int(codes.OK) {
					m.Errors += n
					if rpccode.ServerFault(code) {
						m.Faults += n
					}
				}
			}
		}
		m.Buckets = slices.Clone(c.buckets)
		m.MessageCalls, m.MessagesSent, m.MessagesReceived = c.msgCalls, c.msgSent, c.msgReceived
		m.BytesSent, m.BytesReceived, m.NearDeadline = c.bytesSent, c.bytesReceived, c.nearDeadline
		m.LogWarnings, m.LogErrors = c.logWarnings, c.logErrors
		m.Max = time.Duration(c.max)
		var q [3]time.Duration
		c.hist.quantiles(c.count, m.Max, quantileLevels, q[:])
		m.P50, m.P90, m.P99 = q[0], q[1], q[2]
		m.Recent = recentLatency(&c.recent, nowMin, &buf)
		if c.lastSeen != 0 {
			m.LastSeen = time.Unix(0, c.lastSeen)
		}
		for i := range c.rate {
			if t := &c.rate[i]; t.at > nowSec-rateWindow && t.at <= nowSec {
				m.Last1m.add(t)
			}
		}
		for i := range c.minutes {
			if t := &c.minutes[i]; t.at > nowMin-windowMinutes && t.at <= nowMin {
				m.Last10m.add(t)
			}
		}
		m.Rate1m = float64(m.Last1m.Count) / rateWindow // over a whole minute, even the first: it changes only when calls do
		sum.Methods = append(sum.Methods, m)
	}
	// In flight, nothing finished yet: these rows count against the same
	// cap as the others, the rest go to the overflow rows.
	room := sp.cfg.maxMethods - sp.rows.len()
	keys := slices.SortedFunc(maps.Keys(active), func(a, b rowKey) int {
		return cmp.Or(cmp.Compare(a.method, b.method), cmp.Compare(a.kind, b.kind))
	})
	for _, k := range keys {
		n := active[k]
		if room > 0 {
			room--
		} else {
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

// RecentLatency describes the RPCs of a row that ended in the current and
// the previous wall-clock minute (one to two minutes of traffic).
type RecentLatency struct {
	Count              uint64
	P50, P90, P99, Max time.Duration
}

// recentLatency merges a row's minute histograms still current at nowMin.
func recentLatency(minutes *[2]minuteHist, nowMin int64, buf *histogram) RecentLatency {
	clear(buf[:])
	var out RecentLatency
	var maxNs int64
	for i := range minutes {
		w := &minutes[i]
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
	StatusMessage string // the span status's description, else grpcstats.AttrStatusMessage
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

	// Messages of the call, from grpcstats.WrapHandler's attributes or old
	// otelgrpc's message events; MessagesKnown is false when the span says
	// nothing about them.
	MessagesKnown                  bool
	MessagesSent, MessagesReceived int64
	BytesSent, BytesReceived       int64
	// DeadlineUsed is the share of its deadline the call used (0.95 is 95%)
	// when HasDeadline: the call had one and the span says
	// (grpcstats.WrapHandler); 0 otherwise.
	DeadlineUsed float64
	HasDeadline  bool

	DroppedAttributes, DroppedEvents, DroppedLinks int

	// Logs are the records logged while the call ran, through
	// SpanProcessor.LogHandler: its first and last 8, oldest first;
	// LogsSkipped counts those in between.
	Logs        []LogLine
	LogsSkipped int
}

// Filter selects spans for [SpanProcessor.Spans]. The zero Filter selects
// every retained gRPC span.
type Filter struct {
	// Method selects a full method ("user.UserService/FetchUser") exactly;
	// anything else, such as a service ("user.UserService/") or a method
	// name ("FetchUser"), selects the methods that contain it, in any case.
	Method     string
	Kind       trace.SpanKind // server or client; unspecified matches both
	Bucket     *int           // latency bucket index; nil matches any
	Code       *codes.Code    // nil matches any
	ErrorsOnly bool           // only codes other than OK
	// NearDeadline selects calls that used more than 80% of their deadline
	// (known from grpcstats.WrapHandler's attributes).
	NearDeadline bool
	Min, Max     time.Duration // inclusive bounds on duration; 0 means none
	TraceID      trace.TraceID // zero matches any
	// Before selects spans that ended before it; zero means any. Passing
	// the end of the last span of a page gives the next, older page.
	Before time.Time
	// Peer selects the calls with the other side at this host:port (as
	// [Span]'s attributes say it; see the pages' Peer); "" means any.
	Peer  string
	Limit int // at most this many, newest first; ≤ 0 means all
}

func (f *Filter) match(r *record, bounds []int64) bool {
	return r.row != nil &&
		(f.Method == "" || methodMatch(f.Method, r.method) || f.Method == r.row.method) && // the row's: OverflowMethod
		(f.Kind == trace.SpanKindUnspecified || f.Kind == r.row.kind) &&
		(f.Bucket == nil || *f.Bucket == bucketOf(bounds, r.dur)) &&
		(f.Code == nil || *f.Code == r.code) &&
		(!f.ErrorsOnly || r.code != codes.OK) &&
		(!f.NearDeadline || r.near) &&
		(f.Min == 0 || r.dur >= int64(f.Min)) &&
		(f.Max == 0 || r.dur <= int64(f.Max)) &&
		(!f.TraceID.IsValid() || f.TraceID == r.traceID) &&
		(f.Before.IsZero() || r.end < f.Before.UnixNano()) &&
		(f.Peer == "" || peer(r.span.Attributes(), r.row.kind) == f.Peer) // last: it reads the attributes
}

// Count returns how many retained gRPC spans match f, whatever f.Limit: the
// total a page of [SpanProcessor.Spans] is part of. It reads every retained
// record, comparing fields, and copies none.
func (sp *SpanProcessor) Count(f Filter) int {
	n := 0
	for _, r := range sp.recent.Newest() {
		if f.match(&r, sp.cfg.bounds) {
			n++
		}
	}
	evicted := sp.recent.Overwritten()
	seen := map[uint64]bool{} // a record may be in a bucket's and a code's reservoir
	for _, row := range sp.rows.all() {
		row.eachRecord(func(r *record) {
			if r.seq <= evicted && !seen[r.seq] && f.match(r, sp.cfg.bounds) {
				seen[r.seq] = true
				n++
			}
		})
	}
	return n
}

// methodMatch reports whether method is the full method want, or contains
// want, in any case, when want is not a full method.
func methodMatch(want, method string) bool {
	if want == method {
		return true
	}
	if i := strings.LastIndexByte(want, '/'); i > 0 && i < len(want)-1 {
		return false // a full method: only itself
	}
	return containsFold(method, want)
}

// containsFold is strings.Contains for ASCII letters in any case, without
// allocating: method names are identifiers.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// Spans returns copies of the retained gRPC spans that match f, from the
// recent ring and every reservoir, each once, newest first. Its cost grows
// with what it returns, not with what is retained: it reads the ring newest
// first until it has f.Limit matches, and takes from the reservoirs only
// spans the ring no longer holds that are newer than the oldest of those. It
// is safe for concurrent use and never blocks OnEnd for longer than copying
// one record.
func (sp *SpanProcessor) Spans(f Filter) []Span {
	limit := f.Limit
	if limit <= 0 {
		limit = math.MaxInt
	}
	var recs []record
	for seq, r := range sp.recent.Newest() {
		if f.match(&r, sp.cfg.bounds) {
			r.seq = seq
			recs = append(recs, r)
			if len(recs) == limit {
				break
			}
		}
	}
	after := int64(math.MinInt64) // with the limit reached, older spans cannot make it
	if len(recs) == limit {
		after = recs[len(recs)-1].end
	}
	evicted := sp.recent.Overwritten() // push numbers up to this are out of the ring
	n := len(recs)
	for _, row := range sp.rows.all() {
		recs = row.appendRecords(recs, func(r *record) bool {
			return r.seq <= evicted && r.end > after && f.match(r, sp.cfg.bounds)
		})
	}
	if len(recs) > n { // the reservoirs had some: merge, newest first
		slices.SortFunc(recs, func(a, b record) int { return cmp.Or(cmp.Compare(b.end, a.end), cmp.Compare(b.seq, a.seq)) })
		recs = slices.CompactFunc(recs, func(a, b record) bool { return a.seq == b.seq }) // in a bucket's and a code's reservoir
		recs = recs[:min(len(recs), limit)]
	}
	out := make([]Span, len(recs))
	for i := range recs {
		out[i] = sp.toSpan(&recs[i])
	}
	return out
}

// Span returns a copy of the retained span with the given ID, gRPC or not.
// It compares IDs kept beside each record, without copying or sorting them.
func (sp *SpanProcessor) Span(id trace.SpanID) (Span, bool) {
	var found []record
	sp.scan(idMatch{spanID: id}, &found, 1)
	if len(found) == 0 {
		return Span{}, false
	}
	return sp.toSpan(&found[0]), true
}

// Trace returns copies of every retained span of a trace, gRPC or not,
// ordered by start time.
func (sp *SpanProcessor) Trace(id trace.TraceID) []Span {
	var found []record
	sp.scan(idMatch{traceID: id}, &found, math.MaxInt)
	out := make([]Span, len(found))
	for i := range found {
		out[i] = sp.toSpan(&found[i])
	}
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out
}

// idMatch selects records by span ID, or else by trace ID.
type idMatch struct {
	spanID  trace.SpanID
	traceID trace.TraceID
}

func (m idMatch) ok(r *record) bool {
	if m.spanID.IsValid() {
		return r.spanID == m.spanID
	}
	return r.traceID == m.traceID
}

// scan appends to found, up to limit, the retained records that match, each
// span once: the recent ring, the ring of other spans, then the reservoirs'
// spans that the recent ring no longer holds.
func (sp *SpanProcessor) scan(match idMatch, found *[]record, limit int) {
	for _, ring := range []*ringbuffer.Ring[record]{sp.recent, sp.other} {
		for _, r := range ring.Newest() {
			if match.ok(&r) {
				if *found = append(*found, r); len(*found) >= limit {
					return
				}
			}
		}
	}
	evicted := sp.recent.Overwritten()
	n := len(*found)
	for _, row := range sp.rows.all() {
		*found = row.appendRecords(*found, func(r *record) bool { return r.seq <= evicted && match.ok(r) })
	}
	extra := (*found)[n:]
	slices.SortFunc(extra, func(a, b record) int { return cmp.Compare(a.seq, b.seq) })
	extra = slices.CompactFunc(extra, func(a, b record) bool { return a.seq == b.seq })
	*found = (*found)[:n+min(len(extra), limit-n)]
}

func (sp *SpanProcessor) toSpan(r *record) Span {
	s := r.span
	sc := s.SpanContext()
	st := s.Status()
	var msgs messageStats
	message := st.Description // otelgrpc's, on a client span or a server fault
	for _, kv := range s.Attributes() {
		switch {
		case kv.Key == grpcstats.AttrStatusMessage && message == "":
			message = kv.Value.AsString() // the server's own reason (grpcstats.WrapHandler)
		case strings.HasPrefix(string(kv.Key), "debugz."):
			msgs.read(string(kv.Key), kv.Value)
		}
	}
	if !msgs.known && r.row != nil {
		events := s.Events()
		for i := range events {
			if events[i].Name == grpcstats.EventMessage {
				msgs.readMessageEvent(&events[i])
			}
		}
	}
	logs, skipped := r.logs.lines()
	return Span{
		Logs: logs, LogsSkipped: skipped,
		MessagesKnown: msgs.known, MessagesSent: msgs.sent, MessagesReceived: msgs.received,
		BytesSent: msgs.bytesSent, BytesReceived: msgs.bytesReceived, DeadlineUsed: msgs.deadlineUsed, HasDeadline: msgs.hasDeadline,
		TraceID:           sc.TraceID(),
		SpanID:            sc.SpanID(),
		Parent:            s.Parent(),
		TraceState:        sc.TraceState(),
		Name:              s.Name(),
		Method:            r.method,
		Kind:              s.SpanKind(),
		Code:              r.code,
		StatusCode:        st.Code.String(),
		StatusMessage:     message,
		Start:             s.StartTime(),
		End:               s.EndTime(),
		Duration:          time.Duration(r.dur),
		Bucket:            bucketOf(sp.cfg.bounds, r.dur),
		Attributes:        slices.Clone(s.Attributes()),
		Events:            cloneEvents(s.Events()),
		Links:             cloneLinks(s.Links()),
		Resource:          s.Resource(),
		Scope:             s.InstrumentationScope(),
		Sampled:           sc.IsSampled(),
		Truncated:         r.truncated,
		DroppedAttributes: s.DroppedAttributes(),
		DroppedEvents:     s.DroppedEvents(),
		DroppedLinks:      s.DroppedLinks(),
	}
}

// cloneEvents copies events and their attribute slices, which the SDK's
// snapshot shares with exporters: a caller may change the copy.
func cloneEvents(in []sdktrace.Event) []sdktrace.Event {
	out := slices.Clone(in)
	for i := range out {
		out[i].Attributes = slices.Clone(out[i].Attributes)
	}
	return out
}

// cloneLinks copies links and their attribute slices.
func cloneLinks(in []sdktrace.Link) []sdktrace.Link {
	out := slices.Clone(in)
	for i := range out {
		out[i].Attributes = slices.Clone(out[i].Attributes)
	}
	return out
}

// ActiveRPC is a gRPC call still in flight.
type ActiveRPC struct {
	TraceID trace.TraceID
	SpanID  trace.SpanID
	Parent  trace.SpanID // zero for a root span
	Method  string
	Kind    trace.SpanKind
	Start   time.Time

	// What grpcstats.WrapHandler says of the call so far, when it is given
	// the processor (grpcstats.WithProgress): ProgressKnown is false without.
	ProgressKnown                  bool
	MessagesSent, MessagesReceived uint64
	Deadline                       time.Time // zero without one
	Peer                           string    // the other side's address, "" until known
}

// progress fills in what p says of the call so far.
func (a *ActiveRPC) progress(p grpcstats.Progress) {
	if p == nil {
		return
	}
	a.ProgressKnown = true
	a.MessagesSent, a.MessagesReceived = p.Messages()
	if d, ok := p.Deadline(); ok {
		a.Deadline = d
	}
	a.Peer = p.Peer()
}

// TrackProgress implements grpcstats.ProgressTracker: pass the processor to
// grpcstats.WithProgress, and the in-flight view shows each running call's
// messages so far, its deadline and its peer. It is called as each RPC
// starts, and only looks the span up in the in-flight table.
func (sp *SpanProcessor) TrackProgress(span trace.SpanContext, p grpcstats.Progress) {
	sp.active.setProgress(activeKey(span), p)
}

// Active returns the tracked in-flight gRPC calls, oldest first. A starting
// span counts as a gRPC call when it is a server or client span named like
// "pkg.Service/Method" or made by otelgrpc.
func (sp *SpanProcessor) Active() []ActiveRPC {
	var out []ActiveRPC
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress) {
		sc := s.SpanContext()
		a := ActiveRPC{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Parent: s.Parent().SpanID(), Method: method,
			Kind: s.SpanKind(), Start: s.StartTime()}
		a.progress(p)
		out = append(out, a)
	})
	slices.SortFunc(out, func(a, b ActiveRPC) int { return a.Start.Compare(b.Start) })
	return out
}

// activeOf returns the tracked in-flight gRPC calls of trace tid, without
// their attributes: what a trace's waterfall shows of its running spans.
func (sp *SpanProcessor) activeOf(tid trace.TraceID) []ActiveRPC {
	var out []ActiveRPC
	sp.eachActive(func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress) {
		if sc := s.SpanContext(); sc.TraceID() == tid {
			out = append(out, ActiveRPC{TraceID: tid, SpanID: sc.SpanID(), Parent: s.Parent().SpanID(), Method: method,
				Kind: s.SpanKind(), Start: s.StartTime()})
		}
	})
	return out
}

// eachActive calls f for each tracked in-flight span that is a gRPC call,
// with its method (cut to the length a row keeps), after forgetting spans
// older than WithMaxActiveAge.
func (sp *SpanProcessor) eachActive(f func(s sdktrace.ReadWriteSpan, method string, p grpcstats.Progress)) {
	ageOut := time.Now().Add(-sp.cfg.maxActiveAge).UnixNano()
	for _, e := range sp.active.spans(ageOut) {
		s := e.span
		if !s.EndTime().IsZero() {
			continue // ending now: OnEnd has it
		}
		name := s.Name()
		if looksLikeGRPC(s.SpanKind(), name, func() string { return s.InstrumentationScope().Name }) && !sp.cfg.ignores(name) {
			f(s, cut(strings.TrimPrefix(name, "/"), maxMethodLen), e.progress)
		}
	}
}

// Follow returns the retained gRPC spans matching f that entered the recent
// ring since position pos, oldest first, with the position to pass next
// time. Pass 0 to start from now: nothing is returned, only the position
// (never 0, even before the first span). Skipped counts the spans that
// entered since pos but were already overwritten (a reader that fell behind
// the ring): they may or may not have matched, and a follower says so
// instead of losing them silently. With f.Limit set, only the newest f.Limit
// matches are returned, and the spans older than them are not read: they
// count as skipped, matching or not. Its cost grows with the spans that
// entered since (or with those read to find f.Limit matches), not with the
// ring's size, and only the returned spans are copied.
func (sp *SpanProcessor) Follow(f Filter, pos uint64) (spans []Span, next, skipped uint64) {
	recs, next, skipped := since(sp.recent, pos, f.Limit, func(seq uint64, r *record) bool {
		r.seq = seq
		return f.match(r, sp.cfg.bounds)
	})
	spans = make([]Span, len(recs))
	for i := range recs {
		spans[len(recs)-1-i] = sp.toSpan(&recs[i])
	}
	return spans, next, skipped
}

// since reads what entered ring after position pos, newest first, keeping
// the items keep accepts (it may change them), and returns them with the
// position to read from next. A position is a push number plus one, never
// 0; pos 0 starts from now: nothing is read, only the position is returned.
// Skipped counts the items the ring overwrote before they were read and,
// with limit > 0, those older than the limit's kept items, which are not
// read. Pushes still in progress are left for the next read, not lost. It
// is Follow's reader and FollowLogs'.
func since[T any](ring *ringbuffer.Ring[T], pos uint64, limit int, keep func(seq uint64, v *T) bool) (kept []T, next, skipped uint64) {
	next = ring.Pushed()
	defer func() { next++ }()
	if pos == 0 || pos-1 >= next {
		return nil, next, 0
	}
	after := pos - 1
	oldest := next - min(next, uint64(ring.Cap())) + 1 // the oldest push still held
	if after+1 < oldest {
		skipped = oldest - after - 1
	}
	var over uint64 // items not read past the limit
	expect := next  // the next push number Newest should yield
	for seq, v := range ring.Newest() {
		if seq > next {
			continue // pushed since next was read: the next call returns it
		}
		if seq <= after {
			break
		}
		if seq < expect && expect >= oldest { // pushes in between still in progress:
			next = seq // resume before them, so they are not lost
			kept, over = kept[:0], 0
		}
		expect = seq - 1
		if limit > 0 && len(kept) >= limit {
			over = seq - max(after, oldest-1) // this and every older one since: not read
			break
		}
		if keep(seq, &v) {
			kept = append(kept, v)
		}
	}
	return kept, next, skipped + over
}
