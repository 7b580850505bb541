package web

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
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

func TestCodeClass(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"none", "", "code none"},
		{"ok", "OK", "code ok"},
		{"not found", "NOT_FOUND", "code warn"},
		{"invalid argument", "INVALID_ARGUMENT", "code warn"},
		{"cancelled", "CANCELLED", "code warn"},
		{"internal", "INTERNAL", "code err"},
		{"unavailable", "UNAVAILABLE", "code err"},
		{"deadline", "DEADLINE_EXCEEDED", "code err"},
		{"unknown", "UNKNOWN", "code err"},
		{"unknown number", "42", "code err"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeClass(tt.in); got != tt.want {
				t.Errorf("codeClass(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	tests := []struct {
		name string
		got  templ.SafeURL
		want string
	}{
		{"plain method", spansURL("./", "method", "user.UserService/FetchUser", "kind", "server"),
			"./spans?method=user.UserService%2FFetchUser&kind=server"},
		{"hostile method", spansURL("./", "method", `a/<script>"&x=1 ?`),
			"./spans?method=a%2F%3Cscript%3E%22%26x%3D1+%3F"},
		{"empty values dropped", spansURL("../", "method", "", "code", "error"), "../spans?code=error"},
		{"no values", spansURL("./"), "./spans"},
		{"span", spanURL("../", "00f067aa0ba902b7"), "../spans/00f067aa0ba902b7"},
		{"span escapes", spanURL("./", "a/b?c"), "./spans/a%2Fb%3Fc"},
		{"trace", traceURL("./", "4bf92f3577b34da6a3ce929d0e0e4736"), "./traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"api span", apiSpanURL("../", "x"), "../api/spans/x"},
		{"api trace", apiTraceURL("../", "y"), "../api/traces/y"},
		{"sort default", sortURL("./", "method"), "./"},
		{"sort", sortURL("./", "p99"), "./?sort=p99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("%s = %v; want %v", tt.name, tt.got, tt.want)
			}
		})
	}
}

func TestGroupMethods(t *testing.T) {
	ms := []Method{
		{Method: "b", Kind: "client"}, {Method: "z", Kind: "server"},
		{Method: "a", Kind: "server"}, {Method: "q", Kind: "producer"},
	}
	var got []string
	for _, g := range groupMethods(ms) {
		var names []string
		for _, m := range g.Methods {
			names = append(names, m.Method)
		}
		got = append(got, g.Title+":"+strings.Join(names, ","))
	}
	want := "Server:z,a Client:b Other:q"
	if strings.Join(got, " ") != want {
		t.Errorf("groupMethods(%v) = %v; want %v", ms, strings.Join(got, " "), want)
	}
	if g := groupMethods(nil); len(g) != 0 {
		t.Errorf("groupMethods(nil) = %v; want none", g)
	}
}

func TestHistBars(t *testing.T) {
	bars := histBars([]uint64{0, 1000, 1, 0}, bucketRanges([]time.Duration{0, time.Microsecond, time.Millisecond, time.Second}))
	if len(bars) != 2 {
		t.Fatalf("histBars(%q) = %v; want 2 bars", "0,1000,1,0", bars)
	}
	tests := []struct {
		name string
		got  histBar
		want histBar
	}{
		{"tallest fills the height", bars[0], histBar{X: "6", Y: "0", W: "5", H: "32"}},
		{"one still shows on a log scale", bars[1], histBar{X: "12", Y: "29", W: "5", H: "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("histBars bar = %v; want %v", tt.got, tt.want)
			}
		})
	}
}

func TestDescribeQuery(t *testing.T) {
	b := []time.Duration{0, time.Millisecond}
	tests := []struct {
		name string
		q    Query
		min  string
		want string
	}{
		{"any", Query{Bucket: -1, Code: -1}, "", ""},
		{"method and errors", Query{Method: "a.B/C", Kind: "server", Bucket: -1, Code: -1, Errors: true}, "", `method "a.B/C", kind server, code error`},
		{"code and bucket", Query{Bucket: 1, Code: 5}, "", "code NOT_FOUND, latency ≥1ms"},
		{"min as typed", Query{Bucket: -1, Code: -1, Min: time.Second}, "1000ms", "min 1000ms"},
		{"trace", Query{Bucket: -1, Code: -1, Trace: "abc"}, "", "trace abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeQuery(tt.q, b, tt.min, ""); got != tt.want {
				t.Errorf("describeQuery(%q) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestCodeSelected(t *testing.T) {
	tests := []struct {
		name  string
		q     Query
		value string
		want  bool
	}{
		{"any when unset", Query{Code: -1}, "", true},
		{"not any when errors", Query{Code: -1, Errors: true}, "", false},
		{"error", Query{Code: -1, Errors: true}, "error", true},
		{"by name", Query{Code: 5}, "NOT_FOUND", true},
		{"other name", Query{Code: 5}, "OK", false},
		{"OK is code 0", Query{Code: 0}, "OK", true},
		{"OK not selected when any", Query{Code: -1}, "OK", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeSelected(tt.q, tt.value); got != tt.want {
				t.Errorf("codeSelected(%q) = %v; want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestBarClass(t *testing.T) {
	tests := []struct {
		name string
		in   Span
		want string
	}{
		{"server ok", Span{Kind: "server", Code: "OK"}, "server"},
		{"client ok", Span{Kind: "client", Code: "OK", StatusCode: "Unset"}, "client"},
		{"client not found is amber despite Error status", Span{Kind: "client", Code: "NOT_FOUND", StatusCode: "Error"}, "warn"},
		{"server internal", Span{Kind: "server", Code: "INTERNAL", StatusCode: "Error"}, "err"},
		{"internal span in error", Span{Kind: "internal", StatusCode: "Error"}, "err"},
		{"internal span", Span{Kind: "internal", StatusCode: "Unset"}, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := barClass(tt.in); got != tt.want {
				t.Errorf("barClass(%q) = %v; want %v", tt.name, got, tt.want)
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
