package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// openStream opens the live stream or follow at path on ts, fails t unless
// its Content-Type is ctype, and closes it when t ends.
func openStream(t *testing.T, ts *httptest.Server, path, ctype string) *http.Response {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != ctype {
		t.Fatalf("GET %s: Content-Type = %q; want %s", path, ct, ctype)
	}
	return resp
}

func TestLiveSummaryStreamsEvents(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{Interval: 10 * time.Millisecond})
	resp := openStream(t, ts, "/debug/rpcs/live/summary?sort=count", "text/event-stream")
	sc := bufio.NewScanner(resp.Body)
	var event strings.Builder
	for sc.Scan() && sc.Text() != "" {
		if !strings.HasPrefix(sc.Text(), "data: ") {
			t.Fatalf("SSE line %q; want data: lines", sc.Text())
		}
		event.WriteString(strings.TrimPrefix(sc.Text(), "data: "))
	}
	if !strings.Contains(event.String(), "user.UserService/FetchUser") {
		t.Errorf("first event lacks the method row:\n%.400s", event.String())
	}
	if resp, _ := testRequest(t, ts, "GET", "/debug/rpcs/live/spans?kind=nope"); resp.StatusCode != 400 {
		t.Errorf("live spans with a bad kind = %d; want 400", resp.StatusCode)
	}
}

func TestFollowStreamsNewSpans(t *testing.T) {
	src := newFakeSource()
	ts := newTestServer(t, src, view.Config{Interval: 10 * time.Millisecond})
	resp := openStream(t, ts, "/debug/rpcs/api/spans?follow=1&method=user.UserService/FetchUser", "application/x-ndjson")
	// The response's headers mean the stream took its position: no sleep.
	src.add(view.Span{TraceID: testTrace, SpanID: "2222222222222222", Method: "user.UserService/FetchUser", Kind: "server", Code: "OK", Start: fixedNow})
	src.add(view.Span{TraceID: testTrace, SpanID: "3333333333333333", Method: "other.Svc/M", Kind: "server", Code: "OK", Start: fixedNow})
	body := bufio.NewReader(resp.Body)
	line, err := body.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var s spanJSON
	if err := json.Unmarshal([]byte(line), &s); err != nil || s.SpanID != "2222222222222222" {
		t.Errorf("first followed line = %q; want the new FetchUser span only", line)
	}
	// A reader that fell behind the store is told how much it missed.
	src.mu.Lock()
	src.lost = 42
	src.mu.Unlock()
	src.add(view.Span{TraceID: testTrace, SpanID: "4444444444444444", Method: "user.UserService/FetchUser", Kind: "server", Code: "OK", Start: fixedNow})
	line, err = body.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(line) != `{"gap":{"skipped":42}}` {
		t.Errorf("line after a loss = %q; want the gap record", line)
	}
	if line, _ = body.ReadString('\n'); !strings.Contains(line, "4444444444444444") {
		t.Errorf("line after the gap = %q; want the next span", line)
	}
}

func TestSSEEventKeepsCarriageReturnsInside(t *testing.T) {
	ev := string(sseEvent("<td>a\rretry: 1\revent: x</td>\r\n<td>b</td>"))
	for _, line := range strings.Split(strings.TrimRight(ev, "\n"), "\n") {
		if !strings.HasPrefix(line, "data: ") {
			t.Errorf("sseEvent line %q; want every line a data: line", line)
		}
	}
	if strings.Contains(ev, "\r") {
		t.Errorf("sseEvent kept a bare \\r, which ends an SSE line")
	}
}

// TestFollowFeedShared: follow streams of the same query share one reader,
// and a stream that fell behind the feed's backlog is told how many spans it
// missed before it gets the chunks still held.
func TestFollowFeedShared(t *testing.T) {
	var fs feeds
	read := func(*bytes.Buffer) (uint64, error) { return 0, nil }
	q := view.Query{Method: "user.UserService/FetchUser", Bucket: -1, Code: -1}
	a, start := fs.join(q, false, read, time.Hour, func(error) {})
	b, _ := fs.join(q, false, read, time.Hour, func(error) {})
	c, _ := fs.join(view.Query{Bucket: -1, Code: -1}, false, read, time.Hour, func(error) {})
	if a != b || a == c {
		t.Fatalf("join: same query got feeds %p and %p, another query %p; want one shared, one apart", a, b, c)
	}
	defer fs.leave(c)
	for i := range followBacklog + 2 { // two chunks more than the feed keeps
		a.publish([]byte(fmt.Sprintf("{\"n\":%d}\n", i)), 3)
	}
	data, end, _ := a.since(start)
	want := "{\"gap\":{\"skipped\":6}}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n"
	if string(data) != want || end != start+3*(followBacklog+2) {
		t.Errorf("since(start) = %q, %d; want %q, %d", data, end, want, start+3*(followBacklog+2))
	}
	if data, next, _ := a.since(end - 3); string(data) != "{\"n\":5}\n" || next != end {
		t.Errorf("since(one chunk behind) = %q, %d; want the last chunk, %d", data, next, end)
	}
	if data, _, _ := a.since(end); data != nil {
		t.Errorf("since(end) = %q; want nothing", data)
	}
	fs.leave(a)
	if fs.m[q] != a {
		t.Error("a feed was closed while a stream still follows it")
	}
	fs.leave(b)
	if _, ok := fs.m[q]; ok {
		t.Error("a feed outlived its last stream")
	}
	select {
	case <-a.stop:
	default:
		t.Error("the feed's reader was not stopped")
	}
}

// TestSnapshotFeedSkipsToLatest: a live page's feed keeps its latest
// fragment alone; a new stream starts with it, and a stream that fell behind
// skips to it with no gap record.
func TestSnapshotFeedSkipsToLatest(t *testing.T) {
	var fs feeds
	n := 0
	f, at := fs.join("/live/x?", true, func(buf *bytes.Buffer) (uint64, error) {
		n++
		fmt.Fprintf(buf, "v%d", n)
		return 1, nil
	}, time.Hour, func(err error) { t.Error(err) })
	defer fs.leave(f)
	if data, _, _ := f.since(at); string(data) != "v1" {
		t.Errorf("a new stream's first data = %q; want the first rendering", data)
	}
	f.publish([]byte("v2"), 1)
	f.publish([]byte("v3"), 1)
	if data, _, _ := f.since(at); string(data) != "v3" {
		t.Errorf("since(two renderings behind) = %q; want the latest alone", data)
	}
}

// TestFollowFeedBatchCap: a read that finds more spans than maxFollowBatch
// encodes the newest of them and reports the rest skipped; many feeds share
// the batch.
func TestFollowFeedBatchCap(t *testing.T) {
	src := newFakeSource()
	var fs feeds
	q := view.Query{Bucket: -1, Code: -1}
	read := follower(&fs, func(limit int, pos uint64) ([]view.Span, uint64, uint64) {
		q.Limit = limit
		return src.Follow(q, pos)
	}, toSpanJSON)
	var buf bytes.Buffer
	if n, err := read(&buf); n != 0 || err != nil || buf.Len() != 0 {
		t.Fatalf("first read = %d, %v, %q; want it to take the position only", n, err, buf.String())
	}
	for i := range maxFollowBatch + 5 {
		src.add(view.Span{TraceID: testTrace, SpanID: fmt.Sprintf("%016x", i), Method: "a.B/C", Kind: "server", Code: "OK", Start: fixedNow})
	}
	if n, err := read(&buf); n != maxFollowBatch+5 || err != nil {
		t.Errorf("read = %d records, %v; want %d", n, err, maxFollowBatch+5)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != maxFollowBatch+1 || lines[0] != `{"gap":{"skipped":5}}` || !strings.Contains(lines[1], fmt.Sprintf("%016x", 5)) {
		t.Errorf("a read over the batch cap sent %d lines starting %q, %.60q; want the gap of 5 then the newest %d spans",
			len(lines), lines[0], lines[1], maxFollowBatch)
	}
	fs.follows.Store(maxFollowBatch) // as many feeds as spans in a batch
	if got := fs.batch(); got != minFollowBatch {
		t.Errorf("batch with %d feeds = %d; want the floor %d", maxFollowBatch, got, minFollowBatch)
	}
	fs.follows.Store(4)
	if got := fs.batch(); got != maxFollowBatch/4 {
		t.Errorf("batch with 4 feeds = %d; want %d", got, maxFollowBatch/4)
	}
}

// churningSource is a fakeSource whose summary changes on every call, with
// many long method names: every tick of a live summary has a big fragment
// to send.
type churningSource struct {
	*fakeSource
	n atomic.Int64
}

func (c *churningSource) Summary(bool) view.Summary {
	s := c.fakeSource.Summary(false)
	n := uint64(c.n.Add(1))
	m := s.Methods[0]
	s.Methods = nil
	for i := range 300 {
		m.Method = fmt.Sprintf("churn.%s/Method%d", strings.Repeat("x", 200), i)
		m.Count = n + uint64(i)
		s.Methods = append(s.Methods, m)
	}
	return s
}

// TestStalledReaderIsDropped: a client that opens a live stream and never
// reads is dropped once one write takes longer than the write timeout, and
// its place is freed; the handler goroutine does not stay blocked.
func TestStalledReaderIsDropped(t *testing.T) {
	h := newHandler(&churningSource{fakeSource: newFakeSource()}, view.Config{Interval: 5 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		Now: func() time.Time { return fixedNow }})
	ts := httptest.NewServer(h.router())
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET /live/summary HTTP/1.1\r\nHost: %s\r\n\r\n", ts.Listener.Addr()); err != nil {
		t.Fatal(err)
	}
	for i := 0; h.streams.open() == 0; i++ {
		if i > 1000 {
			t.Fatal("the stream was never admitted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Never read. The stream fills the socket buffers, its next write times
	// out, and it is dropped.
	for i := 0; h.streams.open() != 0; i++ {
		if i > 3000 { // 30 s: far beyond the 200 ms timeout and the time to fill the buffers
			t.Fatalf("a stream that is never read is still served (%d open)", h.streams.open())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFollowLogs: /api/logs?follow=1 streams the records written after it
// began, as NDJSON.
func TestFollowLogs(t *testing.T) {
	src := newFakeSource()
	ts := newTestServer(t, src, view.Config{Interval: 10 * time.Millisecond})
	resp := openStream(t, ts, "/debug/rpcs/api/logs?follow=1", "application/x-ndjson")
	src.addLog(view.LogEntry{LogLine: view.LogLine{Time: fixedNow, Level: "WARN", Message: "cache miss"}})
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"message":"cache miss"`) {
		t.Errorf("first followed line = %q, %v; want the new record", line, err)
	}
}

// gatedLogSource is a fakeSource whose FollowLogs, past a feed's first read
// (pos 0), waits for a turn from the test and then finds one new record,
// named for the call; it notes the limit of every call.
type gatedLogSource struct {
	*fakeSource
	turn   chan struct{} // one read per value; closed: every read finds nothing
	mu     sync.Mutex
	starts int   // reads at pos 0: feeds started
	limits []int // the limit of every read
	reads  int   // reads past the first
}

func (g *gatedLogSource) FollowLogs(q view.LogQuery, pos uint64) ([]view.LogEntry, uint64, uint64) {
	g.mu.Lock()
	g.limits = append(g.limits, q.Limit)
	if pos == 0 {
		g.starts++
		g.mu.Unlock()
		return nil, 1, 0
	}
	g.mu.Unlock()
	if _, ok := <-g.turn; !ok {
		return nil, pos, 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reads++
	return []view.LogEntry{{LogLine: view.LogLine{Time: fixedNow, Level: "WARN", Message: fmt.Sprintf("read %d", g.reads)}}}, pos + 1, 0
}

// readLine reads one line of r, or fails t if none comes within 10 s.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := r.ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10 s")
		return ""
	}
}

// TestFollowLogsShareOneReader: the log follows of one query share one
// reader, which reads the Source once per tick for all of them, with the
// batch the span follows share too.
func TestFollowLogsShareOneReader(t *testing.T) {
	src := &gatedLogSource{fakeSource: newFakeSource(), turn: make(chan struct{})}
	ts := newTestServer(t, src, view.Config{Interval: time.Millisecond})
	t.Cleanup(func() { close(src.turn) }) // frees a feed waiting for its turn once the streams are gone
	open := func(path string) *bufio.Reader {
		req, _ := http.NewRequest("GET", ts.URL+"/debug/rpcs"+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s = %v, %v; want 200", path, resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return bufio.NewReader(resp.Body)
	}
	open("/api/spans?follow=1") // a follow of spans: two feeds share the batch
	const n = 5
	var streams []*bufio.Reader
	for range n {
		streams = append(streams, open("/api/logs?follow=1&level=warn"))
	}
	for read := 1; read <= 3; read++ {
		src.turn <- struct{}{} // one read of the Source, wherever it comes from
		for i, s := range streams {
			if line := readLine(t, s); !strings.Contains(line, fmt.Sprintf(`"message":"read %d"`, read)) {
				t.Fatalf("stream %d after read %d: %q; want that read's record", i, read, line)
			}
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.starts != 1 {
		t.Errorf("%d log follows of one query started %d readers; want 1", n, src.starts)
	}
	for _, l := range src.limits {
		if l != maxFollowBatch/2 {
			t.Errorf("FollowLogs limits %v; want the batch of two follow feeds, %d", src.limits, maxFollowBatch/2)
			break
		}
	}
}

// panickySource is a fakeSource whose Summary panics once asked to.
type panickySource struct {
	*fakeSource
	panics atomic.Bool
}

func (p *panickySource) Summary(bool) view.Summary {
	if p.panics.Load() {
		panic("summary exploded")
	}
	return p.fakeSource.Summary(false)
}

// TestLiveFeedReportsPanic: a live page whose rendering panics keeps its
// stream and reports the panic to Config.ErrorHandler.
func TestLiveFeedReportsPanic(t *testing.T) {
	src := &panickySource{fakeSource: newFakeSource()}
	reported := make(chan error, 100)
	ts := newTestServer(t, src, view.Config{Interval: time.Millisecond, ErrorHandler: func(err error) {
		select {
		case reported <- err:
		default:
		}
	}})
	resp, err := http.Get(ts.URL + "/debug/rpcs/live/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	if line := readLine(t, body); !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q; want an event", line)
	}
	src.panics.Store(true)
	select {
	case err := <-reported:
		if !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "summary exploded") || !strings.Contains(err.Error(), "/live/summary") {
			t.Errorf("reported %q; want the panic, naming the stream", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a panicking live page reported nothing within 10 s")
	}
}
