package debugz

import (
	"time"

	"google.golang.org/grpc/codes"
)

// A row's counts over recent windows, for the summary's window=1m and
// window=10m: the calls by code and by latency bucket, their longest, and a
// coarse latency histogram, per 10-second slot over the last minute and per
// minute over the last 10. Tally (rows.go) counts calls, errors and faults
// by second for the rate; these slots add what a whole summary row needs,
// in fixed memory (about 11 KiB a row with the default buckets) and a few
// increments per call under the row body's lock.
const (
	slotSeconds = 10                         // seconds per slot of the last minute
	shortSlots  = rateWindow / slotSeconds   // slots of the last minute
	longSlots   = windowMinutes              // minute slots of the last 10 minutes
	coarseSub   = 4                          // coarse sub-buckets per power of two
	coarseShift = histSubBits - 2            // fine to coarse: 16 → 4 sub-buckets
	coarseN     = histBuckets >> coarseShift // coarse buckets in all
)

// coarseIndex maps a fine histogram bucket (histIndex) to its coarse one:
// four fine buckets to one, so that a quantile read at a coarse bucket's
// middle is within about 12% of the true value.
func coarseIndex(fine int) int { return fine >> coarseShift }

// coarseRange is the lower bound and width of coarse bucket i, in ns.
func coarseRange(i int) (lo, width int64) {
	lo, w := histRange(i << coarseShift)
	return lo, w << coarseShift
}

// slot counts the calls of one 10-second or one-minute slot.
type slot struct {
	at      int64 // the slot's index: unix seconds / its length
	max     int64 // ns
	codes   [maxCode + 1]uint32
	buckets []uint32 // one per latency bucket
	hist    [coarseN]uint32
}

// count adds a call to the slot for index at: a slot of an older index
// starts over, a call older than the slot's is too old to count (as
// tally.count).
func (s *slot) count(at int64, c codes.Code, bucket, fine int, ns int64) {
	switch {
	case s.at == at:
	case s.at < at:
		s.at, s.max, s.codes, s.hist = at, 0, [maxCode + 1]uint32{}, [coarseN]uint32{}
		clear(s.buckets)
	default:
		return
	}
	s.codes[c]++
	s.buckets[bucket]++
	s.hist[coarseIndex(fine)]++
	s.max = max(s.max, ns)
}

// windows are a row's slots: shortSlots of 10 seconds, longSlots of a minute.
type windows struct {
	short [shortSlots]slot
	long  [longSlots]slot
}

func (w *windows) init(buckets int) {
	all := make([]uint32, (shortSlots+longSlots)*buckets) // one allocation per row
	for i := range w.short {
		w.short[i].buckets, all = all[:buckets:buckets], all[buckets:]
	}
	for i := range w.long {
		w.long[i].buckets, all = all[:buckets:buckets], all[buckets:]
	}
}

// floorDiv is a/b rounded down, before 1970 too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// add counts a call that ended at unix second sec, in unix minute m (as
// row.add has it); under the row body's lock.
func (w *windows) add(sec, m int64, c codes.Code, bucket, fine int, ns int64) {
	s10 := floorDiv(sec, slotSeconds)
	w.short[(s10%shortSlots+shortSlots)%shortSlots].count(s10, c, bucket, fine, ns)
	w.long[(m%longSlots+longSlots)%longSlots].count(m, c, bucket, fine, ns)
}

// remove takes back a call that add counted, from the slots that still
// hold its 10 seconds and its minute (row.retract); the slots' maximum
// stays, as the row's does.
func (w *windows) remove(sec, m int64, c codes.Code, bucket, fine int) {
	s10 := floorDiv(sec, slotSeconds)
	w.short[(s10%shortSlots+shortSlots)%shortSlots].uncount(s10, c, bucket, fine)
	w.long[(m%longSlots+longSlots)%longSlots].uncount(m, c, bucket, fine)
}

// uncount undoes count for a slot that still holds index at.
func (s *slot) uncount(at int64, c codes.Code, bucket, fine int) {
	if s.at != at || s.codes[c] == 0 {
		return
	}
	s.codes[c]--
	s.buckets[bucket]--
	s.hist[coarseIndex(fine)]--
}

// windowSum is a row's figures over one window, as merged by sum.
type windowSum struct {
	codes   [maxCode + 1]uint64
	buckets []uint64
	max     int64
	hist    [coarseN]uint64
}

// sum merges into out the slots current at unix second now: the last
// minute (the slot of now and the 5 before: 50 to 60 seconds) from the
// short ones, the last 10 minutes (this minute and the 9 before) from the
// long ones. It runs under the row body's lock: additions only. As copyTo reads
// the tallies, it reads the slots newest first from the row's last end at
// unix second last, until they hold the row's calls (a slot counts and
// takes back a call with its row): the older ones can hold none.
func (w *windows) sum(now, last int64, calls uint64, min1, min10 *windowSum) {
	merge := func(slots []slot, cur, last, n int64, out *windowSum) {
		var seen uint64
		for at := min(cur, last); at > cur-n && seen < calls; at-- {
			s := &slots[(at%n+n)%n]
			if s.at != at {
				continue
			}
			for c, k := range s.codes {
				out.codes[c] += uint64(k)
				seen += uint64(k)
			}
			for b, k := range s.buckets {
				out.buckets[b] += uint64(k)
			}
			for h, k := range s.hist {
				out.hist[h] += uint64(k)
			}
			out.max = max(out.max, s.max)
		}
	}
	merge(w.short[:], floorDiv(now, slotSeconds), floorDiv(last, slotSeconds), shortSlots, min1)
	merge(w.long[:], floorDiv(now, 60), floorDiv(last, 60), longSlots, min10)
}

// reset readies s for a row of n buckets.
func (s *windowSum) reset(n int) {
	s.codes, s.hist, s.max = [maxCode + 1]uint64{}, [coarseN]uint64{}, 0
	s.buckets = append(s.buckets[:0], make([]uint64, n)...)
}

// stats are the window's figures as the summary shows them, its buckets
// copied into buckets (as long as the row's).
func (s *windowSum) stats(buckets []uint64) windowStats {
	copy(buckets, s.buckets)
	out := windowStats{Codes: s.codes, Buckets: buckets, Max: time.Duration(s.max)}
	out.Errors, out.Faults = errorsOf(&out.Codes)
	out.Count = out.Codes[codes.OK] + out.Errors
	if out.Count == 0 {
		return out
	}
	levels := len(quantileLevels)
	q := make([]time.Duration, levels)
	var seen uint64
	j := 0
	for i, n := range s.hist {
		seen += n
		for j < levels && n > 0 && float64(seen) >= quantileLevels[j]*float64(out.Count) {
			lo, w := coarseRange(i)
			q[j] = min(time.Duration(lo+w/2), out.Max)
			j++
		}
	}
	for ; j < levels; j++ {
		q[j] = out.Max
	}
	out.P50, out.P90, out.P99 = q[0], q[1], q[2]
	return out
}

// windowStats are a (method, kind)'s figures over a recent window: the
// summary's counts, codes, buckets and quantiles as they would read if the
// processor had started then. Quantiles are coarser than the since-start
// ones (within about 12%); Max is exact.
type windowStats struct {
	Count, Errors, Faults uint64
	Codes                 [maxCode + 1]uint64 // by code
	Buckets               []uint64
	P50, P90, P99, Max    time.Duration
}

// windowSums merges the row's slots current at unix second now into a
// (the last minute) and b (the last 10 minutes), each body's under its lock:
// the sums add up.
func (r *row) windowSums(now int64, a, b *windowSum) {
	a.reset(len(r.base.buckets))
	b.reset(len(r.base.buckets))
	for _, body := range r.bodies() {
		body.windowSums(now, a, b)
	}
}

func (body *rowBody) windowSums(now int64, a, b *windowSum) {
	body.mu.Lock()
	defer body.mu.Unlock()
	body.win.sum(now, floorDiv(body.lastSeen, int64(time.Second)), body.count, a, b)
}

// windowSummaries returns the figures of rows over the last minute and the
// last 10 minutes at now, for the summary's window parameter: out[i] are
// rows[i]'s, none for a nil row. The rows' buckets share one allocation.
func (sp *SpanProcessor) windowSummaries(now time.Time, rows []*row) [][2]windowStats {
	out := make([][2]windowStats, len(rows))
	nb := len(sp.cfg.bounds)
	buckets := make([]uint64, 2*nb*len(rows))
	var a, b windowSum
	for i, r := range rows {
		if r == nil {
			continue
		}
		r.windowSums(now.Unix(), &a, &b)
		at := buckets[2*nb*i:]
		out[i] = [2]windowStats{a.stats(at[:nb:nb]), b.stats(at[nb : 2*nb : 2*nb])}
	}
	return out
}
