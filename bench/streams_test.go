package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/debugz/debugz"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// streamPaths are the streams a client may follow, opened in turn: two live
// pages (Server-Sent Events) and the NDJSON stream of new spans.
var streamPaths = []string{"/live/summary", "/live/spans", "/api/spans?follow=1"}

// streamConnectTimeout bounds the wait for every stream to be answered.
const streamConnectTimeout = 30 * time.Second

// streams are n clients following a debugz handler.
type streams struct {
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	transports []*http.Transport
	refused    int // answered 503 Service Unavailable
}

// openStreams opens n streams to the handler at base (a 127.0.0.1 URL),
// spread over streamPaths and over two client addresses (the handler serves
// one address at most half its streams), each read and discarded by a goroutine of its own,
// and returns once every one is answered: with its headers, or refused with
// 503. It fails b on any other answer.
func openStreams(b *testing.B, base string, n int, paths func(i int) string) *streams {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &streams{
		cancel: cancel,
	}
	var clients []*http.Client
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		// Every stream holds a connection of its own for as long as it lasts.
		tr := &http.Transport{DialContext: d.DialContext, MaxConnsPerHost: 1000, MaxIdleConnsPerHost: 1000}
		s.transports = append(s.transports, tr)
		clients = append(clients, &http.Client{Transport: tr})
	}
	answered := make(chan error, n)
	for i := range n {
		s.wg.Add(1)
		go func(client *http.Client, url string) {
			defer s.wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				answered <- err
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				answered <- err
				return
			}
			defer resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				answered <- nil
				_, _ = io.Copy(io.Discard, resp.Body) // until canceled
			case http.StatusServiceUnavailable:
				answered <- errRefused
			default:
				answered <- fmt.Errorf("GET %s: %s", url, resp.Status)
			}
		}(clients[i%2], base+paths(i))
	}
	timeout := time.After(streamConnectTimeout)
	for range n {
		select {
		case err := <-answered:
			switch err {
			case nil:
			case errRefused:
				s.refused++
			default:
				s.close()
				b.Fatal(err)
			}
		case <-timeout:
			s.close()
			b.Fatalf("streams not answered within %v", streamConnectTimeout)
		}
	}
	return s
}

var errRefused = fmt.Errorf("stream refused")

// close ends every stream and waits for their goroutines.
func (s *streams) close() {
	s.cancel()
	s.wg.Wait()
	for _, tr := range s.transports {
		tr.CloseIdleConnections()
	}
}

// streamMethods is how many methods BenchmarkLiveStreams spreads its calls
// over, so that the live summary has that many rows to render.
const streamMethods = 50

// settleTime is a little more than the handler's live interval (one second).
const settleTime = 1200 * time.Millisecond

// settle serves calls of ms through tr from every CPU, untimed, for
// settleTime, so that every stream has looked for news under load before the
// timer starts: the first, shortest runs of a benchmark, which follow one
// another with no pause, then see the same load as the long ones, and b.N is
// predicted from it.
func settle(tr trace.Tracer, ms []rpcMethod) {
	deadline := time.Now().Add(settleTime)
	var wg sync.WaitGroup
	for g := range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := g; time.Now().Before(deadline); i++ {
				serveSpan(context.Background(), tr, &ms[i%len(ms)], i, time.Time{}, time.Time{})
			}
		})
	}
	wg.Wait()
}

// streamBench is what BenchmarkLiveStreams runs against: a debugz processor
// on its own TracerProvider, its handler on a loopback server, and the
// streams following it.
type streamBench struct {
	tp      *sdktrace.TracerProvider
	tr      trace.Tracer
	srv     *httptest.Server
	streams *streams
}

// newStreamBench sets up a streamBench with n streams, settled under load.
func newStreamBench(b *testing.B, ms []rpcMethod, n int, paths func(i int) string) *streamBench {
	b.Helper()
	sp := debugz.NewSpanProcessor(debugz.WithMaxSpans(capacity))
	sb := &streamBench{}
	sb.tp, sb.tr = newTracer(sp, ms)
	sb.srv = httptest.NewServer(debugz.NewHandler(sp))
	ok := false
	defer func() {
		if !ok { // openStreams failed b
			sb.close(b)
		}
	}()
	sb.streams = openStreams(b, sb.srv.URL, n, paths)
	settle(sb.tr, ms)
	ok = true
	return sb
}

// close ends the streams, then the server, then the TracerProvider.
func (sb *streamBench) close(b *testing.B) {
	if sb.streams != nil {
		sb.streams.close()
	}
	sb.srv.CloseClientConnections()
	sb.srv.Close()
	stopProvider(b, sb.tp)
}

// BenchmarkLiveStreams measures span throughput, the whole lifecycle through
// the SDK from every CPU, into a debugz processor whose handler is serving 0,
// 20 or 300 live streams, spread over the live summary, the live span list
// and a follow stream: 100 people with the dashboard open. The last case is
// an attacker's: 300 follow streams, each of a query of its own, so that no
// two share a reader. It reports spans/s and how many streams the handler
// refused.
//
// The live pages and the follow stream look for news once a second (and
// answer at once on connecting): a run much shorter than a second may fall
// between two looks. The streams are settled under untimed load first; for
// figures to compare, use a -benchtime of seconds.
func BenchmarkLiveStreams(b *testing.B) {
	ms := manyMethods(streamMethods)
	ctx := context.Background()
	viewers := func(i int) string { return streamPaths[i%len(streamPaths)] }
	distinct := func(i int) string { return fmt.Sprintf("/api/spans?follow=1&min=%dns", i) }
	for _, c := range []struct {
		name  string
		n     int
		paths func(int) string
	}{{"streams=0", 0, viewers}, {"streams=20", 20, viewers}, {"streams=300", 300, viewers}, {"follow=300-distinct", 300, distinct}} {
		// Set up on the first run of the sub-benchmark, not before it, so
		// that one left out by -bench costs nothing; torn down once its
		// last run is over.
		var sb *streamBench
		b.Run(c.name, func(b *testing.B) {
			if sb == nil {
				sb = newStreamBench(b, ms, c.n, c.paths)
			}
			tr := sb.tr
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					serveSpan(ctx, tr, &ms[i%len(ms)], i, time.Time{}, time.Time{})
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(sb.streams.refused), "refused")
		})
		if sb != nil {
			sb.close(b)
		}
	}
}
