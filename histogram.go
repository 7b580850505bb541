package debugz

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram is log-linear, like HdrHistogram: exact below 32 ns,
// then 16 sub-buckets per power of two, so a bucket is at most 1/16 of its
// lower bound wide and a quantile read at the bucket's middle is within about
// 3% of the true value. Durations beyond 2^40 ns (about 18 minutes) share the
// last bucket; the maximum is kept exactly beside the histogram.
const (
	histSubBits  = 4
	histSub      = 1 << histSubBits
	histLinear   = 2 * histSub // values below this are their own bucket
	histMaxExp   = 40
	histBuckets  = histLinear + (histMaxExp-histSubBits-1)*histSub
	histMaxValue = 1<<histMaxExp - 1
)

type histogram [histBuckets]uint64

// bucketSet marks the buckets of a histogram that count anything, so that a
// reader walks those alone: a row's calls fill a few dozen buckets of the
// 592, and walking them all, for each of 1,000 rows, was most of a summary.
// Marking costs the writer one OR.
type bucketSet [(histBuckets + 63) / 64]uint64

func (b *bucketSet) add(i int) { b[i>>6] |= 1 << (i & 63) }

// or adds o's buckets to b.
func (b *bucketSet) or(o *bucketSet) {
	for w := range b {
		b[w] |= o[w]
	}
}

// each calls f with each bucket of b, ascending, until f returns false.
func (b *bucketSet) each(f func(i int) bool) {
	for w, word := range b {
		for word != 0 {
			i := w<<6 + bits.TrailingZeros64(word)
			if !f(i) {
				return
			}
			word &= word - 1
		}
	}
}

// minuteHist is the histogram of one minute of a row, for recent quantiles.
// Counts are 32-bit: a row would need 70 million RPCs a second to overflow.
type minuteHist struct {
	minute int64 // unix minute it holds; its counts are stale otherwise
	n      uint64
	max    int64
	set    bucketSet // the buckets counted in
	counts [histBuckets]uint32
}

// record counts ns (of histogram bucket i) in the minute it ended. A span
// that ended in an older minute than the one held (a clock step, a span
// given an explicit end time) is not counted, rather than erase the minute.
func (w *minuteHist) record(minute int64, i int, ns int64) {
	if minute < w.minute {
		return
	}
	if w.minute != minute {
		w.set.each(func(i int) bool { w.counts[i] = 0; return true })
		w.minute, w.n, w.max, w.set = minute, 0, 0, bucketSet{}
	}
	w.counts[i]++
	w.n++
	w.max = max(w.max, ns)
	w.set.add(i)
}

// quantiles returns the quantileLevels quantiles of total values, each read
// at the middle of its bucket and never above max. It walks the buckets of
// set, whose counts are a's plus b's (b may be nil). It is generic, not
// given a function that counts, as the walk is most of reading a busy row
// (hundreds of buckets) and a call a bucket was half of it.
func quantiles[C uint32 | uint64](set *bucketSet, a, b *[histBuckets]C, total uint64, max time.Duration) (out [3]time.Duration) {
	if total == 0 {
		return out
	}
	// float64(seen) >= q*float64(total), for a whole number seen, is
	// seen >= ceil(q*float64(total)).
	var need [len(out)]uint64
	for i, q := range quantileLevels {
		need[i] = uint64(math.Ceil(q * float64(total)))
	}
	var seen uint64
	q := 0
	for w, word := range set {
		for word != 0 {
			i := w<<6 + bits.TrailingZeros64(word)
			word &= word - 1
			seen += uint64(a[i])
			if b != nil {
				seen += uint64(b[i])
			}
			for seen >= need[q] {
				lo, w := histRange(i)
				out[q] = min(time.Duration(lo+w/2), max)
				if q++; q == len(out) {
					return out
				}
			}
		}
	}
	for ; q < len(out); q++ {
		out[q] = max
	}
	return out
}

func histIndex(ns int64) int {
	if ns < histLinear {
		if ns < 0 {
			return 0
		}
		return int(ns)
	}
	if ns > histMaxValue {
		ns = histMaxValue
	}
	e := bits.Len64(uint64(ns)) - 1 // ≥ histSubBits+1
	sub := int(ns>>(e-histSubBits)) & (histSub - 1)
	return histLinear + (e-histSubBits-1)*histSub + sub
}

// histRange returns the lower bound and width of bucket i, in nanoseconds.
func histRange(i int) (lo, width int64) {
	if i < histLinear {
		return int64(i), 1
	}
	i -= histLinear
	e := i/histSub + histSubBits + 1
	sub := int64(i % histSub)
	width = int64(1) << (e - histSubBits)
	return int64(1)<<e + sub*width, width
}
