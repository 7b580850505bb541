package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// Follow streams: /api/spans?follow=1 sends, as NDJSON, the spans matching a
// query as they end. Like the live pages, every stream of the same query
// shares one reader: once per interval it asks the Source what ended since
// its last look and encodes that once, and each stream writes the encoded
// chunk. A stream that fell behind (its writes were slower than the chunks
// came) is told how many spans it missed: {"gap":{"skipped":N}}, the record
// the Source's own gaps use too.

// Bounds on follow feeds: together they encode at most maxFollowBatch spans
// per interval, shared evenly between the queries followed (at least
// minFollowBatch each), so that many distinct queries cost no more than one;
// the older spans of a busier interval are reported as skipped. The latest
// followBacklog chunks are kept for streams that are behind.
const (
	maxFollowBatch = 1000
	minFollowBatch = 20
	followBacklog  = 4
)

// follow streams spans matching q that end after the request began (from the
// shared feed's latest look, at most one interval before), oldest first,
// until the client goes away.
func (h *handler) follow(w http.ResponseWriter, r *http.Request, q view.Query) {
	release, ok := h.startStream(w, r, "application/x-ndjson")
	if !ok {
		return
	}
	defer release()
	f := h.follows.join(q, h.interval, h.src, h.report) // before the headers: a client that has them is followed
	defer h.follows.leave(f)
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	if err := h.write(rc, w, nil); err != nil {
		return
	}
	_, at, changed := f.since(^uint64(0))
	for {
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		}
		var data []byte
		data, at, changed = f.since(at)
		if len(data) > 0 {
			if err := h.write(rc, w, data); err != nil {
				return
			}
		}
	}
}

// follows are the shared readers of follow streams, one per query that has
// streams.
type follows struct {
	mu sync.Mutex
	m  map[view.Query]*followFeed
	n  atomic.Int64 // len(m)
}

// batch is how many spans one feed encodes per look.
func (fs *follows) batch() int {
	return max(maxFollowBatch/int(max(fs.n.Load(), 1)), minFollowBatch)
}

// followFeed reads the spans matching one query for all of its streams. It
// counts what it published in records: a span, or a span reported skipped.
type followFeed struct {
	q       view.Query // with no Limit
	fs      *follows
	viewers int // guarded by follows.mu
	stop    chan struct{}

	mu      sync.Mutex
	chunks  []chunk // the latest, oldest first, at most followBacklog
	end     uint64  // records published so far
	changed chan struct{}
}

// chunk is the NDJSON of one look: records from up to to.
type chunk struct {
	from, to uint64
	data     []byte
}

func (fs *follows) join(q view.Query, interval time.Duration, src view.Source, report func(error)) *followFeed {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[view.Query]*followFeed{}
	}
	q.Limit = 0 // the feed's batch
	f := fs.m[q]
	if f == nil {
		f = &followFeed{q: q, fs: fs, stop: make(chan struct{}), changed: make(chan struct{})}
		fs.m[q] = f
		fs.n.Store(int64(len(fs.m)))
		_, pos, _ := src.Follow(q, 0)
		go f.run(interval, src, pos, report)
	}
	f.viewers++
	return f
}

func (fs *follows) leave(f *followFeed) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.viewers--; f.viewers == 0 {
		delete(fs.m, f.q)
		fs.n.Store(int64(len(fs.m)))
		close(f.stop)
	}
}

func (f *followFeed) run(interval time.Duration, src view.Source, pos uint64, report func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var buf bytes.Buffer
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		pos = f.look(src, pos, &buf, report)
	}
}

// look reads and publishes what ended since pos, and returns the position
// to look from next. A panic in the Source keeps the position.
func (f *followFeed) look(src view.Source, pos uint64, buf *bytes.Buffer, report func(error)) (next uint64) {
	defer func() {
		if r := recover(); r != nil {
			next = pos
			report(fmt.Errorf("debugz: follow: %v", r))
		}
	}()
	q := f.q
	q.Limit = f.fs.batch()
	spans, next, skipped := src.Follow(q, pos)
	if n := len(spans); n > q.Limit { // a view.Source that ignores the limit
		skipped += uint64(n - q.Limit)
		spans = spans[n-q.Limit:]
	}
	if len(spans) == 0 && skipped == 0 {
		return next
	}
	buf.Reset()
	enc := json.NewEncoder(buf)
	if skipped > 0 {
		_ = enc.Encode(gapJSON{Gap: gap{Skipped: skipped}})
	}
	for _, s := range spans {
		if err := enc.Encode(toSpanJSON(s)); err != nil {
			report(fmt.Errorf("debugz: encode span %s: %w", s.SpanID, err))
		}
	}
	f.publish(bytes.Clone(buf.Bytes()), uint64(len(spans))+skipped)
	return next
}

type gap struct {
	Skipped uint64 `json:"skipped"`
}

type gapJSON struct {
	Gap gap `json:"gap"`
}

func (f *followFeed) publish(data []byte, records uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chunks = append(f.chunks, chunk{from: f.end, to: f.end + records, data: data})
	if len(f.chunks) > followBacklog {
		f.chunks = f.chunks[len(f.chunks)-followBacklog:]
	}
	f.end += records
	close(f.changed)
	f.changed = make(chan struct{})
}

// since returns the NDJSON a stream that has sent every record up to at
// sends next (led by a gap record if chunks it needed are gone), the
// position after it, and a channel closed when there is more. An at past
// the end returns nothing and the end: where a new stream starts.
func (f *followFeed) since(at uint64) (data []byte, end uint64, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if at >= f.end {
		return nil, f.end, f.changed
	}
	i := 0
	for i < len(f.chunks) && f.chunks[i].to <= at {
		i++
	}
	if i == len(f.chunks)-1 && f.chunks[i].from == at {
		return f.chunks[i].data, f.end, f.changed // the common case: no copy
	}
	var b bytes.Buffer
	if i < len(f.chunks) && f.chunks[i].from > at {
		_ = json.NewEncoder(&b).Encode(gapJSON{Gap: gap{Skipped: f.chunks[i].from - at}})
	}
	for _, c := range f.chunks[i:] {
		b.Write(c.data)
	}
	return b.Bytes(), f.end, f.changed
}
