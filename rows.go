package debugz

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/rpccode"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

type rowKey struct {
	method string
	kind   trace.SpanKind
}

// rowMaps holds the rows by method, one map per kind (server, client): a
// string-keyed map is faster to look up than one keyed by rowKey.
type rowMaps [2]map[string]*row

func kindIndex(k trace.SpanKind) int {
	if k == trace.SpanKindClient {
		return 1
	}
	return 0
}

// rowTable maps (method, kind) to its row. Readers load an immutable map
// without a lock; the rare writer that adds a row copies it. Beyond
// cfg.maxMethods rows, every new (method, kind) shares an overflow row.
type rowTable struct {
	cfg  *config
	m    atomic.Pointer[rowMaps]
	n    int        // rows in m, guarded by mu
	mu   sync.Mutex // serialises writers
	over [2]*row    // overflow rows for server and client, made on first use
	// striped counts the rows given stripes (stripes.go), guarded by mu.
	striped int
	pick    func(n int) int // a striped row's body for the next span, in tests; nil: the P's (row.lockStripe)
	sums    sync.Pool       // *rowStats, where row.read adds up a striped row's bodies
	// sorted holds every row, overflow rows included, by method then kind:
	// an immutable slice the writer replaces, so that Summary does not sort
	// a thousand rows on every call.
	sorted atomic.Pointer[[]*row]
}

// compareRows orders rows by method, then kind (server before client).
func compareRows(a, b *row) int { return compareKeys(a.rowKey, b.rowKey) }

// compareKeys orders row keys by method, then kind.
func compareKeys(a, b rowKey) int {
	return cmp.Or(cmp.Compare(a.method, b.method), cmp.Compare(a.kind, b.kind))
}

// addSorted adds r to the sorted rows; the caller holds t.mu.
func (t *rowTable) addSorted(r *row) {
	var old []*row
	if p := t.sorted.Load(); p != nil {
		old = *p
	}
	i, _ := slices.BinarySearchFunc(old, r, compareRows)
	rows := slices.Insert(slices.Clone(old), i, r)
	t.sorted.Store(&rows)
}

// sortedRows returns every row, overflow rows included, by method then
// kind. The slice is shared: callers must not change it.
func (t *rowTable) sortedRows() []*row {
	if p := t.sorted.Load(); p != nil {
		return *p
	}
	return nil
}

func (t *rowTable) init(cfg *config) {
	t.cfg = cfg
	t.m.Store(&rowMaps{{}, {}})
}

// maxMethodLen caps the bytes of a method name kept as a row's key: a
// caller's 128 KiB method name must not be kept 512 times.
const maxMethodLen = 256

func (t *rowTable) get(method string, kind trace.SpanKind) *row {
	k := kindIndex(kind)
	if r := t.m.Load()[k][method]; r != nil {
		return r
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if r := old[k][method]; r != nil {
		return r
	}
	if t.n >= t.cfg.maxMethods {
		if t.over[k] == nil {
			t.over[k] = t.newRow(rowKey{OverflowMethod, kind})
			t.addSorted(t.over[k])
		}
		return t.over[k]
	}
	m := *old
	m[k] = maps.Clone(old[k])
	r := t.newRow(rowKey{method, kind})
	m[k][method] = r
	t.n++
	t.m.Store(&m)
	t.addSorted(r)
	return r
}

// len returns the number of rows, overflow rows not included.
func (t *rowTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// all returns every row, overflow rows included, in no order.
func (t *rowTable) all() []*row {
	m := t.m.Load()
	rows := make([]*row, 0, len(m[0])+len(m[1])+2)
	for _, rm := range m {
		for _, r := range rm {
			rows = append(rows, r)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.over {
		if r != nil {
			rows = append(rows, r)
		}
	}
	return rows
}

const (
	rateWindow    = 60 // seconds
	windowMinutes = 10 // minutes of counts kept for the "last 10 minutes"
)

// tally counts the calls of one second or one minute by outcome.
type tally struct {
	at                   int64 // the second or minute counted, unix
	calls, errors, fault uint64
}

// count adds a call with code c, ending at second or minute at, to the slot
// t: a slot of an older second (or minute) starts over, a call older than
// the slot's is too old to count.
func (t *tally) count(at int64, c codes.Code) {
	switch {
	case t.at == at:
	case t.at < at:
		*t = tally{at: at}
	default:
		return
	}
	t.calls++
	if c != codes.OK {
		t.errors++
		if rpccode.ServerFault(int(c)) {
			t.fault++
		}
	}
}

// row holds the statistics and reservoirs of one (method, kind): in one
// body (rowBody) under one lock, and in more, stripes of it, once OnEnd has
// found that lock taken often enough (stripes.go).
type row struct {
	rowKey
	base     rowBody
	bodyList atomic.Pointer[[]*rowBody] // base first, then the stripes once made
	waits    atomic.Uint32              // OnEnds that found base's lock taken
	tab      *rowTable
}

// rowStats are a row body's counts: what readers add up over a striped
// row's bodies (rowStats.merge).
type rowStats struct {
	count    uint64
	codes    [maxCode + 1]uint64
	buckets  []uint64
	max      int64
	lastSeen int64             // unix ns of the latest end
	rate     [rateWindow]tally // by second, for the rate and the last minute
	hist     histogram
	histSet  bucketSet     // the buckets of hist counted in
	recent   [2]minuteHist // this minute and the one before, by minute parity
	win      windows       // by code, bucket and latency over the last minute and 10 minutes (window.go)

	// Messages, for the calls whose spans said (see messageStats).
	msgCalls, msgSent, msgReceived uint64
	bytesSent, bytesReceived       uint64
	nearDeadline                   uint64 // calls that used more than 80% of their deadline
	retried                        uint64 // client calls of more than one attempt
	logWarnings, logErrors         uint64 // records their handlers logged (SpanProcessor.LogHandler)
}

// rowBody is a row's counts, its reservoirs and its chain through the
// recent ring, under its lock.
type rowBody struct {
	mu sync.Mutex
	rowStats
	byBucket []reservoir             // one per latency bucket
	byCode   [maxCode + 1]*reservoir // non-OK codes, made on first use
	resSize  int
	ids      resIndex // the reservoirs' records by span and trace ID
	last     uint64   // the body's newest push in the recent ring: its chain (recordRing, rowBody.thread)
}

func (t *rowTable) newRow(key rowKey) *row {
	r := &row{rowKey: key, tab: t}
	r.base.init(t.cfg)
	r.bodyList.Store(&[]*rowBody{&r.base})
	return r
}

func (s *rowStats) init(cfg *config) {
	s.buckets = make([]uint64, len(cfg.bounds))
	s.win.init(len(cfg.bounds))
}

func (b *rowBody) init(cfg *config) {
	b.rowStats.init(cfg)
	b.resSize = cfg.reservoirSize
	b.byBucket = make([]reservoir, len(cfg.bounds))
	for i := range b.byBucket {
		b.byBucket[i].items = make([]record, cfg.reservoirSize)
	}
	b.reindex()
}

// bucketOf returns the index of the latency bucket holding ns.
func bucketOf(bounds []int64, ns int64) int {
	i := len(bounds) - 1
	for i > 0 && ns < bounds[i] {
		i--
	}
	return i
}

// placesOf is where rec counts in a row: its latency bucket, the unix
// second and minute it ended in (rounded down, before 1970 too), and its
// histogram bucket.
func placesOf(rec *record, bounds []int64) (bucket int, sec, minute int64, hist int) {
	sec = floorDiv(rec.end, int64(time.Second))
	return bucketOf(bounds, rec.dur), sec, floorDiv(sec, 60), histIndex(rec.dur)
}

// add counts rec in the row and keeps it in a body's reservoirs, on that
// body's chain; rec.stripe says which body.
func (r *row) add(rec *record, m *messageStats, bounds []int64) {
	b, sec, minute, hi := placesOf(rec, bounds)
	body := r.lockBody(rec)
	defer body.mu.Unlock() // a panic below must not leave the row locked
	body.thread(rec)
	body.count++
	body.codes[rec.code]++
	body.buckets[b]++
	body.hist[hi]++
	body.histSet.add(hi)
	body.recent[minute&1].record(minute, hi, rec.dur)
	body.max = max(body.max, rec.dur)
	body.lastSeen = max(body.lastSeen, rec.end)
	body.rate[(sec%rateWindow+rateWindow)%rateWindow].count(sec, rec.code)
	body.win.add(sec, minute, rec.code, b, hi, rec.dur)
	if m.known {
		body.msgCalls++
		body.msgSent += uint64(max(m.sent, 0))
		body.msgReceived += uint64(max(m.received, 0))
		body.bytesSent += uint64(max(m.bytesSent, 0))
		body.bytesReceived += uint64(max(m.bytesReceived, 0))
	}
	if rec.near {
		body.nearDeadline++
	}
	if rec.attempts > 1 {
		body.retried++
	}
	if rec.logs != nil {
		body.logWarnings += rec.logs.warnings
		body.logErrors += rec.logs.errors
	}
	body.keep(b, &body.byBucket[b], rec)
	if rec.code != codes.OK {
		res := body.byCode[rec.code]
		if res == nil {
			res = &reservoir{items: make([]record, body.resSize)}
			body.byCode[rec.code] = res
			body.reindex()
		}
		body.keep(len(body.byBucket)+int(rec.code), res, rec)
	}
}

// copyTo reads the row's statistics at nowSec into m, its buckets into
// m.Buckets (as long as the row's); see rowStats.copyTo.
func (r *row) copyTo(m *MethodStats, nowSec int64) {
	r.read(func(s *rowStats) { s.copyTo(m, nowSec) })
}

// copyTo reads the statistics at nowSec into m, its buckets into m.Buckets:
// the counters, and what the histograms and tallies say at that time,
// worked out over the buckets counted in (see bucketSet; where copying the
// histograms and tallies out was 12 KiB a row, and walking them most of a
// summary). A row's body is read under its lock, which OnEnd waits on for
// no longer than that. Errors and Faults are left to the caller.
func (r *rowStats) copyTo(m *MethodStats, nowSec int64) {
	nowMin := floorDiv(nowSec, 60)
	m.Count, m.NearDeadline, m.Retried, m.Codes = r.count, r.nearDeadline, r.retried, r.codes
	copy(m.Buckets, r.buckets)
	m.Max = time.Duration(r.max)
	if r.lastSeen != 0 {
		m.LastSeen = time.Unix(0, r.lastSeen)
	}
	lastSec := floorDiv(r.lastSeen, int64(time.Second))
	if floorDiv(lastSec, 60) >= nowMin-1 { // else no minute histogram is current
		m.Recent = recentLatency(&r.recent, nowMin, floorDiv(lastSec, 60), r.count)
	}
	if m.Recent.Count == r.count && m.Recent.Max == m.Max {
		// Every call the row counts is in the minute histograms, bucket for
		// bucket as in hist (a minute counts a call and takes it back with
		// hist): so are the quantiles since start. A young or quiet row
		// saves reading its histogram.
		m.P50, m.P90, m.P99 = m.Recent.P50, m.Recent.P90, m.Recent.P99
	} else {
		q := quantiles(&r.histSet, (*[histBuckets]uint64)(&r.hist), nil, r.count, m.Max)
		m.P50, m.P90, m.P99 = q[0], q[1], q[2]
	}
	// The last minute's tallies and the last 10 minutes' slots are read
	// newest first, from the row's last end (add counts a call in its
	// tally, its slot and the row at once; retract takes it out of all three,
	// and keeps the last end), until they hold every call the row counts:
	// the older ones can hold none. A row idle for a minute reads none of
	// its tallies' 30 cache lines; a young or quiet one, a few.
	m.Last1m, m.Last10m = Window{}, Window{}
	for s := min(nowSec, lastSec); s > nowSec-rateWindow && m.Last1m.Count < r.count; s-- {
		if t := &r.rate[(s%rateWindow+rateWindow)%rateWindow]; t.at == s {
			m.Last1m.add(t)
		}
	}
	for mi := min(nowMin, floorDiv(lastSec, 60)); mi > nowMin-windowMinutes && m.Last10m.Count < r.count; mi-- { // the time windows' minute slots
		if s := &r.win.long[(mi%longSlots+longSlots)%longSlots]; s.at == mi {
			m.Last10m.addCodes(&s.codes)
		}
	}
	m.MessageCalls, m.MessagesSent, m.MessagesReceived = r.msgCalls, r.msgSent, r.msgReceived
	m.BytesSent, m.BytesReceived = r.bytesSent, r.bytesReceived
	m.LogWarnings, m.LogErrors = r.logWarnings, r.logErrors
}

// appendRecords appends to dst the reservoir records for which keep is
// true, under the locks of the row's bodies; keep must only compare fields.
func (r *row) appendRecords(dst []record, keep func(*record) bool) []record {
	r.eachRecord(func(rec *record) {
		if keep(rec) {
			dst = append(dst, *rec)
		}
	})
	return dst
}

// eachRecord calls f for each reservoir record of each of the row's bodies,
// under that body's lock; f must only compare fields: nothing that takes a
// lock or reads a span (see Locks in processor.go).
func (r *row) eachRecord(f func(*record)) {
	for _, b := range r.bodies() {
		b.eachRecord(f)
	}
}

func (b *rowBody) eachRecord(f func(*record)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	each := func(s *reservoir) {
		n := len(s.items)
		if !s.full {
			n = int(s.next)
		}
		for i := range s.items[:n] {
			f(&s.items[i])
		}
	}
	for i := range b.byBucket {
		each(&b.byBucket[i])
	}
	for _, res := range b.byCode {
		if res != nil {
			each(res)
		}
	}
}

// reservoir keeps the latest len(items) records; it is guarded by its row's
// mutex. Its position wraps around without overflowing on any platform.
type reservoir struct {
	items []record
	next  uint32 // index of the slot the next push overwrites
	full  bool
}

func (s *reservoir) push(rec *record) {
	s.items[s.next] = *rec
	s.next++
	if int(s.next) == len(s.items) {
		s.next, s.full = 0, true
	}
}
