package web

import (
	"math"
	"testing"
	"time"
)

func TestFmtDuration(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "0"},
		{"nanoseconds", 812, "812ns"},
		{"one microsecond", time.Microsecond, "1.00µs"},
		{"microseconds", 81 * time.Microsecond, "81.0µs"},
		{"hundreds of microseconds", 812345, "812µs"},
		{"rounds up to a millisecond", 999600, "1.00ms"},
		{"milliseconds", 1200 * time.Microsecond, "1.20ms"},
		{"9.996ms carries", 9996 * time.Microsecond, "10.0ms"},
		{"tens of milliseconds", 12345 * time.Microsecond, "12.3ms"},
		{"seconds", 2100 * time.Millisecond, "2.10s"},
		{"tens of seconds", 42 * time.Second, "42.0s"},
		{"just under a minute", 59970 * time.Millisecond, "1m0s"},
		{"minutes", 65 * time.Second, "1m5s"},
		{"minutes round to the second", 65*time.Second + 600*time.Millisecond, "1m6s"},
		{"hours", 2*time.Hour + 3*time.Second, "2h0m3s"},
		{"negative", -1200 * time.Microsecond, "-1.20ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmtDuration(tt.in); got != tt.want {
				t.Errorf("fmtDuration(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFmtBucket(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "≥0"},
		{"100µs", 100 * time.Microsecond, "≥100µs"},
		{"1ms", time.Millisecond, "≥1ms"},
		{"2.5ms", 2500 * time.Microsecond, "≥2.5ms"},
		{"10ms", 10 * time.Millisecond, "≥10ms"},
		{"1s", time.Second, "≥1s"},
		{"10s", 10 * time.Second, "≥10s"},
		{"1m", time.Minute, "≥1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmtBucket(tt.in); got != tt.want {
				t.Errorf("fmtBucket(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestBucketRange(t *testing.T) {
	b := []time.Duration{0, 100 * time.Microsecond, time.Millisecond}
	tests := []struct {
		name string
		in   int
		want string
	}{
		{"first", 0, "0 – 100µs"},
		{"middle", 1, "100µs – 1ms"},
		{"last is open", 2, "≥1ms"},
		{"out of range", 3, ""},
		{"negative", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bucketRange(b, tt.in); got != tt.want {
				t.Errorf("bucketRange(%d) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFmtCount(t *testing.T) {
	tests := []struct {
		name string
		in   uint64
		want string
	}{
		{"zero", 0, "0"},
		{"three digits", 999, "999"},
		{"thousand", 1000, "1,000"},
		{"five digits", 12345, "12,345"},
		{"six digits", 123456, "123,456"},
		{"seven digits", 1234567, "1,234,567"},
		{"max", 18446744073709551615, "18,446,744,073,709,551,615"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmtCount(tt.in); got != tt.want {
				t.Errorf("fmtCount(%d) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFmtRate(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"zero", 0, "0"},
		{"tiny", 0.004, "<0.01"},
		{"small", 0.25, "0.25"},
		{"units", 2, "2.00"},
		{"tens", 12.54, "12.5"},
		{"thousands", 1234.4, "1,234"},
		{"negative", -1, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmtRate(tt.in); got != tt.want {
				t.Errorf("fmtRate(%v) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFmtTime(t *testing.T) {
	ts := time.Date(2026, 3, 14, 15, 9, 26, 535_897_000, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		f    func(time.Time) string
		in   time.Time
		want string
	}{
		{"time of day", fmtTime, ts, "15:09:26.535"},
		{"timestamp", fmtTimestamp, ts, "2026-03-14 15:09:26.535 +01:00"},
		{"zero time", fmtTime, time.Time{}, "–"},
		{"zero timestamp", fmtTimestamp, time.Time{}, "–"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("%s(%q) = %v; want %v", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestShortID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"trace ID", "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f35…"},
		{"eight", "4bf92f35", "4bf92f35"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shortID(tt.in); got != tt.want {
				t.Errorf("shortID(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFmtDurationExtremes(t *testing.T) {
	for _, d := range []time.Duration{math.MinInt64, math.MaxInt64, -1} {
		if got := fmtDuration(d); got == "" {
			t.Errorf("fmtDuration(%d) = %q; want a value", int64(d), got)
		}
	}
}
