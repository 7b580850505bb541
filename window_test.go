package debugz

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/view"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// grpcCall is a finished server call of a.S/M with code, lasting dur, that
// ended ago before now.
func grpcCall(now time.Time, code int64, dur, ago time.Duration) stub {
	return stub{name: "a.S/M", kind: trace.SpanKindServer, dur: dur, end: now.Add(-ago),
		attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "a.S"),
			attribute.String("rpc.method", "M"), attribute.Int64("rpc.grpc.status_code", code)}}
}

// windowsOf are the time windows of every row at now, by key.
func windowsOf(sp *SpanProcessor, now time.Time) map[rowKey][2]windowStats {
	rows := sp.rows.sortedRows()
	out := map[rowKey][2]windowStats{}
	for i, w := range sp.windowSummaries(now, rows) {
		out[rows[i].rowKey] = w
	}
	return out
}

// TestWindowSummaries: the last minute and the last 10 minutes count each
// call's code, bucket and latency only while it is in them.
func TestWindowSummaries(t *testing.T) {
	sp := NewSpanProcessor()
	now := time.Now()
	for _, c := range []stub{
		grpcCall(now, 0, time.Millisecond, 0),                        // OK
		grpcCall(now, 5, 2*time.Millisecond, time.Second),            // NOT_FOUND, the caller's
		grpcCall(now, 14, 100*time.Millisecond, 2*time.Second),       // UNAVAILABLE, a fault
		grpcCall(now, 13, time.Second, 3*time.Minute),                // INTERNAL, 3 minutes ago
		grpcCall(now, 2, 5*time.Second, 30*time.Minute),              // UNKNOWN, long ago
		grpcCall(now, 0, 20*time.Second, 30*time.Minute+time.Second), // OK, long ago
	} {
		sp.OnEnd(c.snapshot())
	}
	w := windowsOf(sp, now)[rowKey{"a.S/M", trace.SpanKindServer}]
	describe := func(s windowStats) string {
		return fmt.Sprintf("%d/%d/%d codes %v buckets %v max %v", s.Count, s.Errors, s.Faults, codeMap(s.Codes), s.Buckets, s.Max)
	}
	// Buckets: 0, 100µs, 1ms, 10ms, 100ms, 1s, 10s.
	for i, want := range []string{
		"3/2/1 codes map[NOT_FOUND:1 OK:1 UNAVAILABLE:1] buckets [0 0 2 0 1 0 0] max 100ms",
		"4/3/2 codes map[INTERNAL:1 NOT_FOUND:1 OK:1 UNAVAILABLE:1] buckets [0 0 2 0 1 1 0] max 1s",
	} {
		if got := describe(w[i]); got != want {
			t.Errorf("window %d: %s; want %s", i, got, want)
		}
	}
	if all := sp.Summary().Methods[0]; all.Count != 6 {
		t.Errorf("since start: %d calls; want all 6", all.Count)
	}
	// Eleven minutes on, nothing is left in either window.
	later := windowsOf(sp, now.Add(11*time.Minute))[rowKey{"a.S/M", trace.SpanKindServer}]
	if later[0].Count != 0 || later[1].Count != 0 || codesSeen(&later[1].Codes) != 0 || later[1].Max != 0 {
		t.Errorf("11 minutes later: %s, %s; want both windows empty", describe(later[0]), describe(later[1]))
	}
}

// TestWindowQuantiles: a window's quantiles are within the coarse
// histogram's 12% of the true ones, and never above its maximum.
func TestWindowQuantiles(t *testing.T) {
	sp := NewSpanProcessor()
	now := time.Now()
	for i := 1; i <= 1000; i++ {
		sp.OnEnd(grpcCall(now, 0, time.Duration(i)*time.Millisecond, 0).snapshot())
	}
	for _, w := range windowsOf(sp, now)[rowKey{"a.S/M", trace.SpanKindServer}] {
		for _, q := range []struct {
			name      string
			got, want time.Duration
		}{{"p50", w.P50, 500 * time.Millisecond}, {"p90", w.P90, 900 * time.Millisecond}, {"p99", w.P99, 990 * time.Millisecond}} {
			if d := float64(q.got-q.want) / float64(q.want); d < -0.125 || d > 0.125 || q.got > w.Max {
				t.Errorf("%s = %v; want %v within 12.5%%, at most max %v", q.name, q.got, q.want, w.Max)
			}
		}
		if w.Max != time.Second || w.Count != 1000 {
			t.Errorf("max %v of %d calls; want 1s of 1000", w.Max, w.Count)
		}
	}
}

// TestSinceSelectsRecentSpansAndLogs: Filter.Since and LogFilter.Since keep
// what ended, or was logged, at or after it.
func TestSinceSelectsRecentSpansAndLogs(t *testing.T) {
	sp := NewSpanProcessor()
	now := time.Now()
	sp.OnEnd(grpcCall(now, 0, time.Millisecond, 5*time.Minute).snapshot())
	sp.OnEnd(grpcCall(now, 5, time.Millisecond, 10*time.Second).snapshot())
	sp.OnEnd(grpcCall(now, 0, time.Millisecond, 0).snapshot())
	f := Filter{Since: now.Add(-time.Minute)}
	if n, c := len(sp.Spans(f)), sp.Count(f); n != 2 || c != 2 {
		t.Errorf("since a minute ago: %d spans, count %d; want the 2 of the last minute", n, c)
	}
	if n := len(sp.Spans(Filter{Since: now.Add(-10 * time.Minute)})); n != 3 {
		t.Errorf("since 10 minutes ago: %d spans; want 3", n)
	}

	h := sp.LogHandler(slog.NewTextHandler(io.Discard, nil))
	for _, ago := range []time.Duration{time.Hour, time.Minute, time.Second} {
		_ = h.Handle(context.Background(), slog.NewRecord(now.Add(-ago), slog.LevelInfo, ago.String(), 0))
	}
	got := sp.Logs(LogFilter{Since: now.Add(-time.Minute)})
	if len(got) != 2 || got[0].Message != "1s" || got[1].Message != "1m0s" {
		t.Errorf("logs since a minute ago = %+v; want 1s and 1m0s, newest first", got)
	}
}

// TestFilterSide: the pages' code=fault and code=caller select the
// server's faults and the callers' errors alone.
func TestFilterSide(t *testing.T) {
	sp := NewSpanProcessor()
	now := time.Now()
	for _, code := range []int64{0, 5, 3, 14, 13, 1} {
		sp.OnEnd(grpcCall(now, code, time.Millisecond, 0).snapshot())
	}
	src := &source{sp: sp}
	for side, want := range map[string]string{"fault": "[INTERNAL UNAVAILABLE]", "caller": "[CANCELLED INVALID_ARGUMENT NOT_FOUND]", "": "[CANCELLED INVALID_ARGUMENT NOT_FOUND INTERNAL UNAVAILABLE]"} {
		f := src.filter(view.Query{Bucket: -1, Code: -1, Errors: true, Side: side})
		var got []string
		for _, s := range sp.Spans(f) {
			got = append(got, CodeName(s.Code))
		}
		slices.SortFunc(got, func(a, b string) int { c, _ := rpccode.Parse(a); d, _ := rpccode.Parse(b); return cmp.Compare(c, d) })
		if fmt.Sprint(got) != want || sp.Count(f) != len(got) {
			t.Errorf("side %q: %v (count %d); want %s", side, got, sp.Count(f), want)
		}
	}
}

// BenchmarkWindowsAdd is what the windows add to OnEnd: one call counted
// in its 10-second and its minute slot, under the row's lock.
func BenchmarkWindowsAdd(b *testing.B) {
	var w windows
	w.init(7)
	sec := time.Now().Unix()
	for i := 0; b.Loop(); i++ {
		s := sec + int64(i>>12)
		w.add(s, s/60, codes.Code(i&3), i&7%7, histIndex(int64(i)*1000), int64(i)*1000)
	}
}

// BenchmarkWindowSummaries is what a summary in a window costs per 50 rows.
func BenchmarkWindowSummaries(b *testing.B) {
	sp := NewSpanProcessor()
	now := time.Now()
	for m := range 50 {
		for i := range 200 {
			s := grpcCall(now, int64(i%3), time.Duration(i)*time.Millisecond, time.Duration(i)*time.Second)
			s.name = fmt.Sprintf("a.S/M%d", m)
			s.attrs = append(s.attrs[:1:1], attribute.String("rpc.service", "a.S"), attribute.String("rpc.method", fmt.Sprintf("M%d", m)),
				attribute.Int64("rpc.grpc.status_code", int64(i%3)))
			sp.OnEnd(s.snapshot())
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(windowsOf(sp, now)) != 50 {
			b.Fatal("want 50 rows")
		}
	}
}

// TestRowSize pins what the windows add to a row's memory, for the README.
func TestRowSize(t *testing.T) {
	w := unsafe.Sizeof(windows{}) + (shortSlots+longSlots)*7*4 // and the buckets of the default 7
	t.Logf("windows: %d bytes a row; row without them: %d bytes", w, unsafe.Sizeof(row{})-unsafe.Sizeof(windows{}))
	if w > 12<<10 {
		t.Errorf("the windows take %d bytes a row; want at most 12 KiB", w)
	}
}
