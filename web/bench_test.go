package web

import (
	"context"
	"fmt"
	"github.com/debugz/debugz/internal/view"
	"io"
	"net/http/httptest"
	"testing"
	"time"
)

// benchSummary is a summary of n methods, half server and half client, each
// with a few codes and every bucket filled.
func benchSummary(n int) summaryPage {
	p := summaryPage{page: goldenPage("RPCs", "./", "summary", "./live/summary?sort=method"), Sort: "method"}
	p.Summary = view.Summary{Capacity: 8192, Retained: 8192, Evicted: 123456,
		Buckets: []time.Duration{0, 100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond,
			100 * time.Millisecond, time.Second, 10 * time.Second}}
	for i := range n {
		kind := "server"
		if i%2 == 1 {
			kind = "client"
		}
		p.Summary.Methods = append(p.Summary.Methods, view.Method{
			Method: fmt.Sprintf("pkg.Service%d/Method%d", i/10, i), Kind: kind, Count: 123456, Errors: 321, Active: i % 3,
			Codes:   []view.CodeCount{{Code: 0, Name: "OK", Count: 123135}, {Code: 5, Name: "NOT_FOUND", Count: 300}, {Code: 13, Name: "INTERNAL", Count: 21}},
			Buckets: []uint64{10, 20000, 90000, 13000, 400, 26, 0},
			P50:     800 * time.Microsecond, P90: 4 * time.Millisecond, P99: 40 * time.Millisecond, Max: 2 * time.Second,
			Rate: 12.5, LastSeen: fixedNow,
			Recent:   view.Latency{Count: 750, P50: 700 * time.Microsecond, P90: 3 * time.Millisecond, P99: 35 * time.Millisecond, Max: time.Second},
			MsgCalls: 123456, MsgSent: 123456, MsgReceived: 123456, BytesSent: 123456 * 200, BytesReceived: 123456 * 20, NearDeadline: 4,
		})
	}
	return p
}

// BenchmarkRenderSummary renders the whole summary page (HTML only, no data
// gathering), the cost contrib zpages' summary pays in html/template.
func BenchmarkRenderSummary(b *testing.B) {
	for _, n := range []int{50, 1000} {
		p := benchSummary(n)
		b.Run(fmt.Sprintf("methods=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := summaryView(p).Render(b.Context(), io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSummaryPage serves GET / through the router with a fixed source.
func BenchmarkSummaryPage(b *testing.B) {
	h := NewHandler(benchSource{benchSummary(50).Summary}, view.Config{Now: func() time.Time { return fixedNow }})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "http://localhost:6060/", nil)
		req.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

type benchSource struct{ sum view.Summary }

func (s benchSource) Summary(bool) view.Summary                     { return s.sum }
func (s benchSource) Methods() []string                             { return summaryMethods(s.sum) }
func (benchSource) Spans(view.Query) []view.Span                    { return nil }
func (benchSource) Goroutines(string) ([]view.Goroutine, time.Time) { return nil, time.Time{} }
func (benchSource) Count(view.Query) int                            { return 0 }
func (benchSource) Logs(view.LogQuery) []view.LogEntry              { return nil }
func (benchSource) FollowLogs(view.LogQuery, uint64) ([]view.LogEntry, uint64, uint64) {
	return nil, 1, 0
}
func (benchSource) CPUByMethod(context.Context, time.Duration) (view.CPUProfile, error) {
	return view.CPUProfile{}, nil
}
func (benchSource) Span(string) (view.Span, bool)          { return view.Span{}, false }
func (benchSource) Trace(string) (view.Trace, bool)        { return view.Trace{}, false }
func (benchSource) TraceOTLP(string) ([]byte, bool, error) { return nil, false, nil }
func (benchSource) Active(int) ([]view.Active, int)        { return nil, 0 }
func (benchSource) Process() view.Process                  { return view.Process{Service: "bench", Host: "h", PID: 1} }
func (benchSource) Follow(view.Query, uint64) ([]view.Span, uint64, uint64) {
	return nil, 1, 0
}
