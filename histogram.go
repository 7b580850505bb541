package debugz

import (
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

// minuteHist is the histogram of one minute of a row, for recent quantiles.
// Counts are 32-bit: a row would need 70 million RPCs a second to overflow.
type minuteHist struct {
	minute int64 // unix minute it holds; its counts are stale otherwise
	n      uint64
	max    int64
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
		clear(w.counts[:])
		w.minute, w.n, w.max = minute, 0, 0
	}
	w.counts[i]++
	w.n++
	w.max = max(w.max, ns)
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

func (h *histogram) record(i int) { h[i]++ }

// quantiles fills out[i] with the qs[i] quantile of count values, qs ascending,
// each read at the middle of its bucket and never above max.
func (h *histogram) quantiles(count uint64, max time.Duration, qs []float64, out []time.Duration) {
	if count == 0 {
		return
	}
	var seen uint64
	q := 0
	for i := range h {
		seen += h[i]
		for q < len(qs) && float64(seen) >= qs[q]*float64(count) && seen > 0 {
			lo, w := histRange(i)
			out[q] = min(time.Duration(lo+w/2), max)
			q++
		}
		if q == len(qs) {
			return
		}
	}
	for ; q < len(qs); q++ {
		out[q] = max
	}
}
