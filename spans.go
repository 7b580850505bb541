package debugz

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Span is a copy of one retained span. Method is empty for a span that is not
// a gRPC call (a handler's own child span, an attempt of a call that a later
// attempt replaced); Code is then OK.
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
	StatusMessage string // the span status's description, else the attribute debugz.status.message
	Start, End    time.Time
	Duration      time.Duration
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
	// when the call had one and the span says (grpcstats); 0 otherwise.
	DeadlineUsed float64
	// Attempts is how many attempts a client call made, where its
	// instrumentation says (grpc-go's plugin: one "Attempt." span each); 0
	// where it does not. With otelgrpc, which makes a span per attempt,
	// and grpcstats on the client, a call that was retried or failed is the
	// span of its last attempt, Attempts its number, Duration the call's
	// from the start of its first attempt (Start stays the span's own); its
	// earlier attempts are spans of its trace that are no calls.
	Attempts int

	DroppedAttributes, DroppedEvents, DroppedLinks int

	// Logs are the records logged while the call ran, through
	// SpanProcessor.LogHandler: its first and last 8, oldest first;
	// LogsSkipped counts those in between.
	Logs        []LogLine
	LogsSkipped int

	// What only the OTLP export (otlp.go) reads: the span context's W3C
	// flags, of which Sampled is one, and the status's own description,
	// which StatusMessage does not tell apart from the attribute's.
	traceFlags        trace.TraceFlags
	statusDescription string
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
	// Since selects spans that ended at or after it; zero means any: the
	// calls of the last 5 minutes are Since: time.Now().Add(-5*time.Minute).
	Since time.Time
	// Peer selects the calls with the other side at this host:port (as
	// [Span]'s attributes say it; see the pages' Peer); "" means any.
	Peer  string
	Limit int // at most this many, newest first; ≤ 0 means all

	// side selects, with ErrorsOnly, the server's faults (sideFault) or the
	// callers' errors (sideCaller) alone (rpccode.ServerFault); the pages'
	// code=fault and code=caller.
	side int8
	// retried selects the client calls of more than one attempt
	// (Span.Attempts); the pages' retried=1.
	retried bool
}

// Sides of an error, for Filter.side.
const (
	sideAny int8 = iota
	sideFault
	sideCaller
)

// match reports whether f selects r.
func (f *Filter) match(r *record, bounds []int64) bool {
	return f.matchFields(r, bounds) && f.matchPeer(r)
}

// matchFields is match without the peer, which reads the span's attributes:
// it only compares fields, so it may run under a row's lock (see Locks in
// processor.go); the caller checks matchPeer once the record is copied out.
func (f *Filter) matchFields(r *record, bounds []int64) bool {
	return r.row != nil &&
		(f.Method == "" || methodMatch(f.Method, r.method) || f.Method == r.row.method) && // the row's: OverflowMethod
		(f.Kind == trace.SpanKindUnspecified || f.Kind == r.row.kind) &&
		(f.Bucket == nil || *f.Bucket == bucketOf(bounds, r.dur)) &&
		(f.Code == nil || *f.Code == r.code) &&
		(!f.ErrorsOnly || r.code != codes.OK) &&
		(f.side == sideAny || (f.side == sideFault) == rpccode.ServerFault(int(r.code))) &&
		(!f.NearDeadline || r.near) &&
		(!f.retried || r.attempts > 1) &&
		(f.Min == 0 || r.dur >= int64(f.Min)) &&
		(f.Max == 0 || r.dur <= int64(f.Max)) &&
		(!f.TraceID.IsValid() || f.TraceID == r.traceID) &&
		(f.Before.IsZero() || r.end < f.Before.UnixNano()) &&
		(f.Since.IsZero() || r.end >= f.Since.UnixNano())
}

// matchPeer reports whether the record's other side is f.Peer. It reads the
// span's attributes: never call it under a lock of ours.
func (f *Filter) matchPeer(r *record) bool {
	return f.Peer == "" || peer(r.span.Attributes(), r.row.kind) == f.Peer
}

// Count returns how many retained gRPC spans match f, whatever f.Limit: the
// total a page of [SpanProcessor.Spans] is part of. It reads every retained
// record, comparing fields, and copies only the reservoir records whose
// fields match (to check their peer outside the rows' locks).
func (sp *SpanProcessor) Count(f Filter) int {
	n := 0
	for seq, r := range sp.recent.Newest() {
		if f.match(&r, sp.cfg.bounds) && sp.isCall(seq, &r) {
			n++
		}
	}
	evicted := sp.recent.Overwritten()
	var recs []record
	for _, row := range sp.rows.all() {
		recs = row.appendRecords(recs, func(r *record) bool {
			return r.seq <= evicted && f.matchFields(r, sp.cfg.bounds)
		})
	}
	seen := make(map[uint64]bool, len(recs)) // a record may be in a bucket's and a code's reservoir
	for i := range recs {
		if r := &recs[i]; !seen[r.seq] && f.matchPeer(r) {
			seen[r.seq] = true
			n++
		}
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
// first until it has f.Limit matches (with f.Method, only the matching rows'
// records, by their chains: see recordRing), and takes from the reservoirs
// (of those rows) only
// spans the ring no longer holds that are newer than the oldest of those. It
// is safe for concurrent use and never blocks OnEnd for longer than copying
// one record.
func (sp *SpanProcessor) Spans(f Filter) []Span {
	limit := f.Limit
	if limit <= 0 {
		limit = math.MaxInt
	}
	rows := sp.rows.all()
	var recs []record
	read := false
	if f.Method != "" { // only those rows' records: their chains through the ring
		rows = slices.DeleteFunc(rows, func(r *row) bool {
			return !methodMatch(f.Method, r.method) && r.method != OverflowMethod ||
				f.Kind != trace.SpanKindUnspecified && f.Kind != r.kind
		})
		recs, read = sp.newestOf(rows, &f, limit) // false: a stalled push broke a chain
	}
	if !read {
		for seq, r := range sp.recent.Newest() {
			if f.match(&r, sp.cfg.bounds) && sp.isCall(seq, &r) {
				recs = append(recs, r)
				if len(recs) == limit {
					break
				}
			}
		}
	}
	after := int64(math.MinInt64) // with the limit reached, older spans cannot make it
	if len(recs) == limit {
		after = recs[len(recs)-1].end
	}
	evicted := sp.recent.Overwritten() // push numbers up to this are out of the ring
	n := len(recs)
	for _, row := range rows {
		recs = row.appendRecords(recs, func(r *record) bool {
			return r.seq <= evicted && r.end > after && f.matchFields(r, sp.cfg.bounds)
		})
	}
	if f.Peer != "" { // outside the rows' locks
		recs = append(recs[:n], slices.DeleteFunc(recs[n:], func(r record) bool { return !f.matchPeer(&r) })...)
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

// newestOf returns the newest records of the recent ring, up to limit, of
// rows that match f, newest first, reading each row's chain. It returns
// false if a stalled push broke a chain.
func (sp *SpanProcessor) newestOf(rows []*row, f *Filter, limit int) ([]record, bool) {
	var recs []record
	for _, row := range rows {
		for _, b := range row.bodies() {
			from := len(recs)
			ok := sp.recent.chain(b.newest(), prevRow, func(r *record) bool {
				if f.match(r, sp.cfg.bounds) && sp.isCall(r.seq, r) {
					recs = append(recs, *r)
				}
				return len(recs)-from < limit
			})
			if !ok {
				return nil, false
			}
		}
	}
	// Rows' (and a striped row's bodies') chains interleave, and a chain is
	// in the order its body's lock was taken, which concurrent pushes may
	// take out of push order.
	slices.SortFunc(recs, func(a, b record) int { return cmp.Compare(b.seq, a.seq) })
	recs = recs[:min(len(recs), limit)]
	return recs, true
}

// Span returns a copy of the retained span with the given ID, gRPC or not.
// It follows the span ID's chain through each ring, then probes each row's
// reservoir index (resIndex): it reads the records of that ID's hash
// buckets, not every record.
func (sp *SpanProcessor) Span(id trace.SpanID) (Span, bool) {
	var found []record
	sp.find(idMatch{spanID: id}, &found, 1)
	if len(found) == 0 {
		return Span{}, false
	}
	return sp.toSpan(&found[0]), true
}

// Trace returns copies of every retained span of a trace, gRPC or not,
// ordered by start time. Like Span, it reads the trace ID's chains and
// index entries, not every record.
func (sp *SpanProcessor) Trace(id trace.TraceID) []Span {
	var found []record
	sp.find(idMatch{traceID: id}, &found, math.MaxInt)
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

// find appends to found, up to limit, the retained records that match,
// each span once: those of the recent ring, of the ring of other spans,
// then the reservoirs' that the recent ring no longer holds. It reads the
// rings by the ID's chain (or, if a chain is broken by a stalled push, by
// a scan) and the reservoirs by their rows' indexes.
func (sp *SpanProcessor) find(match idMatch, found *[]record, limit int) {
	key, prev := traceKey(match.traceID), prevTrace
	heads := func(r *recordRing) *chainHeads { return &r.byTrace }
	if match.spanID.IsValid() {
		key, prev = spanKey(match.spanID), prevSpan
		heads = func(r *recordRing) *chainHeads { return &r.bySpan }
	}
	for _, ring := range []*recordRing{sp.recent, sp.other} {
		from := len(*found)
		add := func(r *record) bool {
			if match.ok(r) {
				if ring == sp.recent {
					sp.isCall(r.seq, r) // a replaced attempt reads as one
				}
				*found = append(*found, *r)
			}
			return len(*found) < limit
		}
		if !ring.chain(heads(ring).head(key).Load(), prev, add) {
			*found = (*found)[:from] // a stalled push: read every slot
			for _, r := range ring.Newest() {
				if !add(&r) {
					break
				}
			}
		}
		if len(*found) >= limit {
			return
		}
	}
	evicted := sp.recent.Overwritten()
	n := len(*found)
	for _, row := range sp.rows.all() {
		*found = row.appendByID(*found, match.spanID, match.traceID, func(r *record) bool { return r.seq <= evicted })
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
		case kv.Key == semconv.StatusMessage && message == "":
			message = kv.Value.AsString() // the server's own reason (grpcstats.WrapHandler)
		case strings.HasPrefix(string(kv.Key), "debugz."):
			msgs.read(string(kv.Key), kv.Value)
		}
	}
	if !msgs.known && r.row != nil {
		events := s.Events()
		for i := range events {
			if events[i].Name == semconv.EventMessage {
				msgs.readMessageEvent(&events[i])
			}
		}
	}
	logs, skipped := r.logs.lines()
	return Span{
		Logs: logs, LogsSkipped: skipped,
		MessagesKnown: msgs.known, MessagesSent: msgs.sent, MessagesReceived: msgs.received,
		BytesSent: msgs.bytesSent, BytesReceived: msgs.bytesReceived, DeadlineUsed: msgs.deadlineUsed, Attempts: int(r.attempts),
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
		Attributes:        slices.Clone(s.Attributes()),
		Events:            cloneEvents(s.Events()),
		Links:             cloneLinks(s.Links()),
		Resource:          s.Resource(),
		Scope:             s.InstrumentationScope(),
		Sampled:           sc.IsSampled(),
		traceFlags:        sc.TraceFlags(),
		statusDescription: st.Description,
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
