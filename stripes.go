package debugz

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Stripes: a row that many cores count in at once.
//
// A row's counts, histograms, windows, reservoirs and chain sit in one body
// under one lock (rowBody), which every OnEnd of the row takes. Spans of one
// hot method ending on many cores would queue on that lock, and the body's
// lines would move from core to core with each span. So once OnEnd has
// found a row's lock taken stripeAfter times, the row gets stripes: bodies
// of its own, one per P up to maxStripes, each with its lock. From then on
// an OnEnd counts its span in its P's stripe, chosen through a sync.Pool
// (which keeps a value per P: stripeHint), so each core keeps to its own
// lines and lock. Readers add the stripes up: counters add, histograms add,
// each slot of the tallies, minute histograms and windows keeps the newer
// second or minute (rowStats.merge); the windows, reservoirs and chains of
// all the stripes are read, as one row's, and merged by end or push number.
//
// Rows that are not contended keep their one body: a row that saw a reader
// now and then, or two OnEnds at once by chance, stays below stripeAfter
// for a long time. At most maxStripedRows rows of a processor are striped,
// each growing by up to maxStripes-1 bodies (38 KiB each at the default
// options, measured), so striping adds at most 4.2 MiB.
const (
	stripeAfter    = 64
	maxStripes     = 8
	maxStripedRows = 16
)

// stripeHint is a P's stripe: hintCount numbers them as the pool makes
// them. The pool may drop its values at a garbage collection; a P then gets
// a new hint, perhaps another stripe, which is as good.
type stripeHint struct{ n uint32 }

var (
	hintCount   atomic.Uint32
	stripeHints = sync.Pool{New: func() any { return &stripeHint{n: hintCount.Add(1)} }}
)

// bodies returns the row's bodies: its base, then its stripes if it has
// any. Stripes are never taken away, so an index into it stays valid.
func (r *row) bodies() []*rowBody { return *r.bodyList.Load() }

// striped reports whether the row has stripes, and returns its bodies.
func (r *row) striped() ([]*rowBody, bool) {
	b := r.bodies()
	return b, len(b) > 1
}

// body returns the row's body i (record.stripe).
func (r *row) body(i uint8) *rowBody { return r.bodies()[i] }

// lockBody locks and returns the body OnEnd counts rec in, and says which
// in rec.stripe: the base unless the row has stripes.
func (r *row) lockBody(rec *record) *rowBody {
	if bodies, ok := r.striped(); ok {
		return r.lockStripe(bodies, rec)
	}
	if r.base.mu.TryLock() {
		return &r.base
	}
	if r.waits.Add(1) == stripeAfter {
		r.tab.stripe(r)
		if bodies, ok := r.striped(); ok {
			return r.lockStripe(bodies, rec)
		}
	}
	r.base.mu.Lock()
	return &r.base
}

// lockStripe locks and returns the stripe of the caller's P (or the one
// the table's pick says, in tests).
func (r *row) lockStripe(bodies []*rowBody, rec *record) *rowBody {
	var i int
	if r.tab.pick != nil {
		i = r.tab.pick(len(bodies))
	} else {
		h := stripeHints.Get().(*stripeHint)
		i = int(h.n % uint32(len(bodies)))
		stripeHints.Put(h)
	}
	b := bodies[i]
	b.mu.Lock()
	rec.stripe = uint8(i)
	return b
}

// stripe gives r its stripes, one body per P up to maxStripes, unless it
// has them, there is a single P, or maxStripedRows rows have them already.
// It is called once per row, by the OnEnd whose wait made stripeAfter; it
// allocates the bodies.
func (t *rowTable) stripe(r *row) {
	n := min(runtime.GOMAXPROCS(0), maxStripes)
	if n < 2 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := r.striped(); ok || t.striped >= maxStripedRows {
		return
	}
	t.striped++
	bodies := make([]*rowBody, n)
	bodies[0] = &r.base
	for i := 1; i < n; i++ {
		bodies[i] = new(rowBody)
		bodies[i].init(t.cfg)
	}
	r.bodyList.Store(&bodies)
}

// read calls f with the row's statistics as copyTo reads them: its base's
// under its lock, or, for a striped row, its bodies' added up into a
// scratch rowStats (from the table's pool), each read under its lock.
func (r *row) read(f func(*rowStats)) {
	bodies, ok := r.striped()
	if !ok {
		r.base.mu.Lock()
		defer r.base.mu.Unlock()
		f(&r.base.rowStats)
		return
	}
	sum, _ := r.tab.sums.Get().(*rowStats)
	if sum == nil {
		sum = &rowStats{buckets: make([]uint64, len(r.base.buckets))}
	}
	defer r.tab.sums.Put(sum)
	sum.reset()
	for _, b := range bodies {
		b.addTo(sum)
	}
	f(sum)
}

// reset empties a scratch rowStats, keeping its buckets' array.
func (s *rowStats) reset() {
	b := s.buckets
	clear(b)
	*s = rowStats{buckets: b}
}

// addTo adds the body's statistics to sum, under its lock.
func (b *rowBody) addTo(sum *rowStats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sum.merge(&b.rowStats)
}

// merge adds what copyTo reads of o's statistics into s, as if s had
// counted o's calls too: counters and histograms add, the maximum and the
// last end take the larger; each tally, minute histogram and minute slot of
// the windows keeps the newer second or minute of the two, or adds them up
// where they hold the same (an older one is out of every window the newer
// is in). Of the windows it adds the minute slots' codes alone (the last 10
// minutes' counts): the windowed summary reads each body's slots in full
// (row.windowSums), as their sums add up.
func (s *rowStats) merge(o *rowStats) {
	s.count += o.count
	for i := range s.codes {
		s.codes[i] += o.codes[i]
	}
	for i := range s.buckets {
		s.buckets[i] += o.buckets[i]
	}
	s.max, s.lastSeen = max(s.max, o.max), max(s.lastSeen, o.lastSeen)
	for i := range s.rate {
		s.rate[i].merge(&o.rate[i])
	}
	o.histSet.each(func(i int) bool { s.hist[i] += o.hist[i]; return true })
	s.histSet.or(&o.histSet)
	for i := range s.recent {
		s.recent[i].merge(&o.recent[i])
	}
	for i := range s.win.long {
		s.win.long[i].mergeCodes(&o.win.long[i])
	}
	s.msgCalls += o.msgCalls
	s.msgSent += o.msgSent
	s.msgReceived += o.msgReceived
	s.bytesSent += o.bytesSent
	s.bytesReceived += o.bytesReceived
	s.nearDeadline += o.nearDeadline
	s.retried += o.retried
	s.logWarnings += o.logWarnings
	s.logErrors += o.logErrors
}

func (t *tally) merge(o *tally) {
	switch {
	case o.at > t.at:
		*t = *o
	case o.at == t.at:
		t.calls += o.calls
		t.errors += o.errors
		t.fault += o.fault
	}
}

func (w *minuteHist) merge(o *minuteHist) {
	switch {
	case o.minute > w.minute:
		w.set.each(func(i int) bool { w.counts[i] = 0; return true })
		w.minute, w.n, w.max, w.set = o.minute, o.n, o.max, o.set
		o.set.each(func(i int) bool { w.counts[i] = o.counts[i]; return true })
	case o.minute == w.minute:
		w.n += o.n
		w.max = max(w.max, o.max)
		o.set.each(func(i int) bool { w.counts[i] += o.counts[i]; return true })
		w.set.or(&o.set)
	}
}

// mergeCodes merges o's index and codes into s (see rowStats.merge).
func (s *slot) mergeCodes(o *slot) {
	switch {
	case o.at > s.at:
		s.at, s.codes = o.at, o.codes
	case o.at == s.at:
		for i := range s.codes {
			s.codes[i] += o.codes[i]
		}
	}
}
