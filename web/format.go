package web

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Formatting for people: durations, counts, rates, bytes, shares and times,
// as every page shows them. Each helper is a pure function, so what the
// pages show is unit-tested without rendering them.

// fmtDuration formats d with three significant digits and a unit: "0",
// "812ns", "81.0µs", "1.20ms", "2.10s"; from a minute on it rounds to the
// second: "1m5s".
func fmtDuration(d time.Duration) string {
	if d < 0 {
		if d == math.MinInt64 { // -d overflows back to itself
			d++
		}
		return "-" + fmtDuration(-d)
	}
	switch {
	case d == 0:
		return "0"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond), "µs", time.Millisecond)
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond), "ms", time.Second)
	case d < 59950*time.Millisecond:
		return sig3(float64(d)/float64(time.Second), "s", time.Minute)
	}
	return d.Round(time.Second).String()
}

// sig3 formats v, in [1, 1000) of unit, with three significant digits; when
// rounding would carry it to 1000, it formats next, the next unit, instead.
func sig3(v float64, unit string, next time.Duration) string {
	switch {
	case v < 9.995:
		return strconv.FormatFloat(v, 'f', 2, 64) + unit
	case v < 99.95:
		return strconv.FormatFloat(v, 'f', 1, 64) + unit
	case v < 999.5:
		return strconv.FormatFloat(v, 'f', 0, 64) + unit
	}
	return fmtDuration(next)
}

// fmtDurationShort is fmtDuration without trailing zeros: "100µs", "2.5ms".
func fmtDurationShort(d time.Duration) string {
	s := fmtDuration(d)
	i := strings.IndexFunc(s, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if i < 0 || !strings.Contains(s[:i], ".") {
		return s
	}
	num := strings.TrimRight(strings.TrimRight(s[:i], "0"), ".")
	return num + s[i:]
}

// fmtOffset formats an event's offset from its span's start: "+1.23ms".
func fmtOffset(d time.Duration) string {
	if d < 0 {
		return fmtDuration(d)
	}
	return "+" + fmtDuration(d)
}

// fmtBucket labels a latency bucket by its lower bound: "≥0", "≥100µs".
func fmtBucket(lower time.Duration) string {
	return "≥" + fmtDurationShort(lower)
}

// bucketRange describes bucket i as a range: "100µs – 1ms", "≥10s".
func bucketRange(buckets []time.Duration, i int) string {
	if i < 0 || i >= len(buckets) {
		return ""
	}
	if i == len(buckets)-1 {
		return fmtBucket(buckets[i])
	}
	return fmtDurationShort(buckets[i]) + " – " + fmtDurationShort(buckets[i+1])
}

// fmtCount formats n with comma thousands separators: 12345 → "12,345".
func fmtCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// fmtInt is fmtCount for an int; negative values show as "0".
func fmtInt(n int) string {
	if n < 0 {
		return "0"
	}
	return fmtCount(uint64(n))
}

// plural is "1 span", "2 spans".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtInt(n) + " " + many
}

// fmtRate formats a per-second rate: "0", "<0.01", "0.25", "12.5", "1,234".
func fmtRate(r float64) string {
	switch {
	case r <= 0 || math.IsNaN(r):
		return "0"
	case r < 0.01:
		return "<0.01"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 2, 64)
	case r < 100:
		return strconv.FormatFloat(r, 'f', 1, 64)
	case r >= math.MaxUint64:
		return "∞"
	}
	return fmtCount(uint64(math.Round(r)))
}

// fmtBytes formats a byte count with a binary unit: "812 B", "1.2 KiB".
func fmtBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(n, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
}

// fmtPercent formats a share: 0.953 → "95%".
func fmtPercent(f float64) string {
	p := 100 * f
	switch {
	case p == 0 || math.IsNaN(p):
		return "0%"
	case p > 0 && p < 0.1:
		return "<0.1%" // never "0%" for a share that is not none
	case p < 10 && p > -10:
		return fmtFloat(math.Round(p*10)/10) + "%" // 0.3%, 2.5%
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// fmtFloat formats a number, such as an SVG coordinate, with at most two
// decimals: "62.5", "0".
func fmtFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

// fmtTime formats the time of day with milliseconds: "15:04:05.000".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Format("15:04:05.000")
}

// fmtTimestamp formats a full timestamp with milliseconds and zone offset.
func fmtTimestamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Format("2006-01-02 15:04:05.000 -07:00")
}

// shortID is the first 8 characters of a hex ID followed by "…".
func shortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}

// longID is the first 16 characters of a hex ID followed by "…": enough to
// tell traces apart at a glance where there is room.
func longID(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:16] + "…"
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
