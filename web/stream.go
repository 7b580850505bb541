package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
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

// Bounds on live streams. maxStreams caps the streams one handler serves at
// once; one more is refused with 503 and Retry-After. writeTimeout is how
// long one write may take before a stalled reader is dropped. The follows
// together encode at most maxFollowBatch records per interval, shared evenly
// between the queries followed, spans and logs alike (at least
// minFollowBatch each), so that many distinct queries cost no more than one;
// the older records of a busier interval are reported as skipped.
const (
	maxStreams     = 100
	retryAfter     = "10"
	writeTimeout   = 10 * time.Second
	keepAlive      = 15 // intervals between keep-alive comments on a live page's stream
	maxFollowBatch = 1000
	minFollowBatch = 20
	followBacklog  = 4
)

// admit counts a new live stream, or answers 503 when maxStreams are open.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if h.streams.Add(1) > maxStreams {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", retryAfter)
		h.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf(
			"debugz serves at most %d live streams at once; this one was refused. The page itself still loads: reload it later, or close other debugz tabs.", maxStreams))
		return nil, false
	}
	return func() { h.streams.Add(-1) }, true
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

// serve streams the feed of key, a live page's (sse) or a follow, until the
// client goes away or a write fails; read is the feed's reader if it has to
// be started. A HEAD request gets the headers alone, a stream past the cap a
// 503.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, key any, sse bool, read reader) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead { // the headers a GET would have; no stream
		return
	}
	release, ok := h.admit(w, r)
	if !ok {
		return
	}
	defer release()
	f, at := h.feeds.join(key, sse, read, h.interval, h.report) // before the headers: a client that has them is followed
	defer h.feeds.leave(f)
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	if err := h.write(rc, w, nil); err != nil {
		return
	}
	var quiet <-chan time.Time // when a live page's stream sends a keep-alive comment
	if sse {
		t := time.NewTicker(keepAlive * h.interval)
		defer t.Stop()
		quiet = t.C
	}
	for {
		data, end, changed := f.since(at)
		if len(data) > 0 {
			if err := h.write(rc, w, data); err != nil {
				return
			}
		}
		at = end
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-quiet:
			if err := h.write(rc, w, []byte(": keep-alive\n\n")); err != nil {
				return
			}
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
