package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Live streams, one mechanism for all: the live pages (/live/…, Server-Sent
// Events) and the follows (/api/spans?follow=1, /api/logs?follow=1, NDJSON).
// Every stream of the same query shares a feed: one goroutine that reads the
// Source once per interval, encodes what it read once, and publishes it as a
// chunk that each stream writes. A failed or panicking read publishes nothing
// and is reported to Config.ErrorHandler.
//
// A feed is of one of two kinds:
//   - A snapshot (a live page) publishes its whole fragment when it changed.
//     A new stream starts with the latest; one that fell behind skips to it.
//   - A follow publishes the records that arrived since its last read. A new
//     stream starts with the next chunk; one that fell behind the
//     followBacklog chunks kept is told how many records it missed,
//     {"gap":{"skipped":N}}, the record the Source's own gaps use too.
//
// Locks: feeds.mu before feed.mu. Neither is held while a feed reads or
// reports; a stream waits for nothing under them.

// Bounds on live streams. maxStreams caps the slots of the streams one
// handler serves at once: a stream takes one slot per view it carries (one
// for a live page or a follow, one per view of a shared stream, at most
// maxSharedViews), so the feeds are bounded too. One client (one remote IP
// address) holds at most maxClientStreams of them, so that it cannot take
// them all. A stream past either cap is refused with 503 and Retry-After.
//
// A stream lives at most streamLifetime and then ends: a live page's
// EventSource reconnects by itself (told to retry soon), a follow's client
// reconnects. A stream sends a heartbeat after keepAlive without news (a
// comment on a live page, an empty line on a follow), so that a client that
// went away is noticed; a write that takes longer than
// writeTimeout drops a stalled reader. A reader that never reads holds its
// slot at most until its stream's lifetime ends.
//
// The follows together encode at most maxFollowBatch records per interval,
// shared evenly between the queries followed, spans and logs alike (at
// least minFollowBatch each), so that many distinct queries cost no more
// than one; the older records of a busier interval are reported as skipped.
const (
	maxStreams       = 100
	maxClientStreams = maxStreams / 2
	maxSharedViews   = 20
	retryAfter       = "10"
	writeTimeout     = 10 * time.Second
	streamLifetime   = 5 * time.Minute
	keepAlive        = 15 * time.Second // without news before a heartbeat
	maxFollowBatch   = 1000
	minFollowBatch   = 20
	followBacklog    = 4
)

// slots counts the live streams' slots, in all and by client.
type slots struct {
	mu      sync.Mutex
	n       int
	clients map[string]int // by remote IP address
}

// take takes n slots for client, or reports which cap refuses them.
func (s *slots) take(client string, n int) (refused string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.n+n > maxStreams:
		return fmt.Sprintf("debugz serves at most %d live streams at once", maxStreams)
	case s.clients[client]+n > maxClientStreams:
		return fmt.Sprintf("debugz serves at most %d live streams at once to one address", maxClientStreams)
	}
	if s.clients == nil {
		s.clients = map[string]int{}
	}
	s.n += n
	s.clients[client] += n
	return ""
}

func (s *slots) release(client string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n -= n
	if s.clients[client] -= n; s.clients[client] <= 0 {
		delete(s.clients, client)
	}
}

// open reports how many slots are taken.
func (s *slots) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// client is the remote IP address of r, without its port: every connection
// of one machine counts as one client.
func client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// admit takes n slots for a new live stream, or answers 503.
func (h *handler) admit(w http.ResponseWriter, r *http.Request, n int) (release func(), ok bool) {
	c := client(r)
	if refused := h.streams.take(c, n); refused != "" {
		w.Header().Set("Retry-After", retryAfter)
		h.fail(w, r, http.StatusServiceUnavailable, refused+
			"; this one was refused. The page itself still loads: reload it later, or close other debugz tabs.")
		return nil, false
	}
	return func() { h.streams.release(c, n) }, true
}

// write sends b and flushes it within writeTimeout: a reader that does not
// read is dropped, and never holds a handler goroutine for good.
func (h *handler) write(rc *http.ResponseController, w http.ResponseWriter, b []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(h.writeTimeout)) // unsupported by some writers (tests): then none
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
}

// source is what a stream carries: the feed of key, started with read if it
// has to be, a snapshot (a live page's fragment) or a follow.
type source struct {
	key      any
	snapshot bool
	read     reader
}

// serve streams the feeds of srcs until the client goes away, a write fails
// or the stream's lifetime ends: a live page's (sse) as Server-Sent Events,
// each view's named by its index in srcs when named (a shared stream), or a
// follow as NDJSON. A HEAD request gets the headers alone, a stream past a
// cap a 503.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, sse, named bool, srcs ...source) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	heartbeat := []byte("\n") // an empty line, which NDJSON readers skip
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		heartbeat = []byte(": keep-alive\n\n")
	}
	w.Header().Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead { // the headers a GET would have; no stream
		return
	}
	release, ok := h.admit(w, r, len(srcs))
	if !ok {
		return
	}
	defer release()
	fs := make([]*feed, len(srcs))
	at := make([]uint64, len(srcs))
	for i, s := range srcs { // before the headers: a client that has them is followed
		fs[i], at[i] = h.feeds.join(s.key, s.snapshot, s.read, h.interval, h.report)
		defer h.feeds.leave(fs[i])
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	if err := h.write(rc, w, nil); err != nil {
		return
	}
	quiet := time.NewTimer(h.keepAlive)
	defer quiet.Stop()
	end := time.NewTimer(h.lifetime)
	defer end.Stop()
	// Wait for the client, the timers or any feed: the fixed cases, then
	// one per feed.
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.Context().Done())},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(quiet.C)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(end.C)},
	}
	const fixed = 3
	cases = append(cases, make([]reflect.SelectCase, len(fs))...)
	for {
		sent := false
		for i, f := range fs {
			data, next, changed := f.since(at[i])
			if len(data) > 0 {
				if named {
					data = append([]byte("event: "+strconv.Itoa(i)+"\n"), data...)
				}
				if err := h.write(rc, w, data); err != nil {
					return
				}
				sent = true
			}
			at[i] = next
			cases[fixed+i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(changed)}
		}
		if sent {
			quiet.Reset(h.keepAlive)
		}
		switch chosen, _, _ := reflect.Select(cases); chosen {
		case 0:
			return
		case 1:
			if err := h.write(rc, w, heartbeat); err != nil {
				return
			}
			quiet.Reset(h.keepAlive)
		case 2:
			if sse { // reconnect soon, not after the browser's default seconds
				_ = h.write(rc, w, []byte("retry: 250\n\n"))
			}
			return
		}
	}
}

// reader is a feed's read of the Source: it encodes what it read into buf
// and returns how many records that is, 0 for nothing to publish (a
// snapshot's reader returns 1 for a fragment that changed). A feed calls it
// from one goroutine at a time.
type reader func(buf *bytes.Buffer) (records uint64, err error)

// feeds are the live streams' shared feeds, one per query that has streams.
type feeds struct {
	mu      sync.Mutex
	m       map[any]*feed // by key: the path and query of a live page, or a follow's query
	follows atomic.Int64  // follow feeds in m
}

// batch is how many records a follow feed encodes per read.
func (fs *feeds) batch() int {
	return max(maxFollowBatch/int(max(fs.follows.Load(), 1)), minFollowBatch)
}

// feed reads for every stream of one key; see the top of this file. It counts
// what it published in records.
type feed struct {
	key      any
	snapshot bool
	viewers  int // guarded by feeds.mu
	stop     chan struct{}
	ready    chan struct{} // closed after the first read

	mu      sync.Mutex
	chunks  []chunk // the latest, oldest first: at most followBacklog, one for a snapshot
	end     uint64  // records published so far
	changed chan struct{}
}

// chunk is what one read encoded: records from up to to.
type chunk struct {
	from, to uint64
	data     []byte
}

// join returns the feed of key, started with read if it is new, once it has
// read once, and where a new stream starts: at the latest chunk of a
// snapshot, at the next chunk of a follow.
func (fs *feeds) join(key any, snapshot bool, read reader, interval time.Duration, report func(error)) (*feed, uint64) {
	f := func() *feed {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		if fs.m == nil {
			fs.m = map[any]*feed{}
		}
		f := fs.m[key]
		if f == nil {
			f = &feed{key: key, snapshot: snapshot, stop: make(chan struct{}), ready: make(chan struct{}), changed: make(chan struct{})}
			fs.m[key] = f
			if !snapshot {
				fs.follows.Add(1)
			}
			go f.run(interval, read, report)
		}
		f.viewers++
		return f
	}()
	<-f.ready
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.snapshot && len(f.chunks) > 0 {
		return f, f.chunks[0].from
	}
	return f, f.end
}

func (fs *feeds) leave(f *feed) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.viewers--; f.viewers == 0 {
		delete(fs.m, f.key)
		if !f.snapshot {
			fs.follows.Add(-1)
		}
		close(f.stop)
	}
}

// run reads at once, then once per interval until the feed is stopped.
func (f *feed) run(interval time.Duration, read reader, report func(error)) {
	var buf bytes.Buffer
	f.read(read, &buf, report)
	close(f.ready)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
			f.read(read, &buf, report)
		}
	}
}

// read runs read once and publishes what it encoded. An error is reported,
// and so is a panic, which publishes nothing.
func (f *feed) read(read reader, buf *bytes.Buffer, report func(error)) {
	defer func() {
		if v := recover(); v != nil {
			report(fmt.Errorf("debugz: live stream %v: panic: %v", f.key, v))
		}
	}()
	buf.Reset()
	records, err := read(buf)
	if err != nil {
		report(fmt.Errorf("debugz: live stream %v: %w", f.key, err))
	}
	if records > 0 {
		f.publish(bytes.Clone(buf.Bytes()), records)
	}
}

func (f *feed) publish(data []byte, records uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chunks = append(f.chunks, chunk{from: f.end, to: f.end + records, data: data})
	keep := followBacklog
	if f.snapshot {
		keep = 1
	}
	if len(f.chunks) > keep {
		f.chunks = f.chunks[len(f.chunks)-keep:]
	}
	f.end += records
	close(f.changed)
	f.changed = make(chan struct{})
}

// since returns what a stream that has sent every record up to at sends
// next, the position after it, and a channel closed when there is more. A
// follow's stream that needed chunks that are gone gets a gap record first.
func (f *feed) since(at uint64) (data []byte, end uint64, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if at >= f.end {
		return nil, f.end, f.changed
	}
	i := 0
	for i < len(f.chunks) && f.chunks[i].to <= at {
		i++
	}
	if i == len(f.chunks)-1 && (f.chunks[i].from == at || f.snapshot) {
		return f.chunks[i].data, f.end, f.changed // the common case: no copy
	}
	var b bytes.Buffer
	if f.chunks[i].from > at {
		_ = json.NewEncoder(&b).Encode(gapJSON{Gap: gap{Skipped: f.chunks[i].from - at}})
	}
	for _, c := range f.chunks[i:] {
		b.Write(c.data)
	}
	return b.Bytes(), f.end, f.changed
}
