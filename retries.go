package debugz

import (
	"encoding/hex"
	"math"
	"sync"
	"sync/atomic"

	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Retries. With a retry policy, grpc makes several attempts of one client
// call; otelgrpc makes a client span of each, siblings, and says nothing of
// retries, so that a call that succeeds on its fourth attempt would count as
// four calls, three failed. grpcstats numbers the attempts
// (semconv.AttemptNumber and the others): a failed attempt, which grpc may
// retry, is numbered, and so is every later attempt, which names the one
// before it. Since an attempt ends before grpc decides whether to make
// another, a failed attempt is counted as its call's outcome when it ends;
// if another attempt of the same call follows, that one takes its place:
// the earlier attempt is taken out of its row (its count, code, latency and
// windows), and out of the spans listed as calls, where it stays as a span
// of the trace, and the call counts once, by its last attempt, with the
// latency its caller saw (from the start of its first attempt). So the rows
// say what the callers saw once each call is over; while a call waits to
// retry, its failed attempt counts as its outcome.
//
// grpc-go's own plugin needs none of this: its call span holds its attempt
// spans (attemptOf). Without grpcstats, otelgrpc's attempts count as calls.

// attemptInfo is what grpcstats says of a client attempt.
type attemptInfo struct {
	number   int64  // 1-based; 0 when the span says nothing (a call's only attempt)
	previous uint64 // the previous attempt's span (spanKey); 0 if none
	offset   int64  // ns from the start of the call's first attempt to this one's
}

// read reads one of grpcstats' attempt attributes (semconv.AttemptPrefix).
func (a *attemptInfo) read(key string, v attribute.Value) {
	switch key {
	case semconv.AttemptNumber:
		a.number = v.AsInt64()
	case semconv.AttemptPrevious:
		var id trace.SpanID
		if s := v.AsString(); len(s) == 2*len(id) {
			if _, err := hex.Decode(id[:], []byte(s)); err == nil {
				a.previous = spanKey(id)
			}
		}
	case semconv.AttemptOffset:
		a.offset = max(v.AsInt64(), 0)
	}
}

// maxPendingAttempts bounds the failed attempts kept in case their call
// makes another: past it the oldest is forgotten, and should its call still
// retry, the earlier attempt stays counted as a failed call.
const maxPendingAttempts = 1024

// retryTable holds the failed client attempts that a later attempt of their
// call may replace, and marks the records of the recent ring so replaced.
// Its mutex is a leaf, taken by OnEnd only for attempts grpcstats numbered.
type retryTable struct {
	mu      sync.Mutex
	pending map[uint64]pendingAttempt // by spanKey
	order   []uint64                  // the keys in the order kept, a ring of maxPendingAttempts
	next    int                       // the slot of order the next key takes

	// replaced has, at the slot of the recent ring that holds a record, its
	// push number when a later attempt replaced it (0 otherwise): so the
	// ring's copies, which cannot change, are read as attempts. Made with
	// the first attempt replaced.
	replaced atomic.Pointer[[]atomic.Uint64]
}

// pendingAttempt is a failed attempt as it was counted.
type pendingAttempt struct {
	rec  record
	msgs messageStats
}

// keep remembers a failed attempt, counted as rec, until another attempt of
// its call replaces it or maxPendingAttempts later ones push it out.
func (t *retryTable) keep(rec *record, msgs *messageStats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = make(map[uint64]pendingAttempt)
		t.order = make([]uint64, maxPendingAttempts)
	}
	delete(t.pending, t.order[t.next]) // the oldest, if still there
	key := spanKey(rec.spanID)
	t.order[t.next] = key
	t.next = (t.next + 1) % len(t.order)
	t.pending[key] = pendingAttempt{rec: *rec, msgs: *msgs}
}

// take returns and forgets the failed attempt of span key.
func (t *retryTable) take(key uint64) (pendingAttempt, bool) {
	if key == 0 {
		return pendingAttempt{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.pending[key]
	delete(t.pending, key)
	return p, ok
}

// markReplaced notes that the recent ring's record of push number seq, in a
// ring of capacity slots, was replaced by a later attempt.
func (t *retryTable) markReplaced(seq uint64, capacity int) {
	marks := t.replaced.Load()
	if marks == nil {
		t.mu.Lock()
		if marks = t.replaced.Load(); marks == nil {
			m := make([]atomic.Uint64, capacity)
			marks = &m
			t.replaced.Store(marks)
		}
		t.mu.Unlock()
	}
	(*marks)[(seq-1)%uint64(len(*marks))].Store(seq)
}

// isReplaced reports whether the recent ring's record of push number seq
// was replaced by a later attempt of its call.
func (t *retryTable) isReplaced(seq uint64) bool {
	marks := t.replaced.Load()
	return marks != nil && seq > 0 && (*marks)[(seq-1)%uint64(len(*marks))].Load() == seq
}

// replaceAttempt readies a client span that grpcstats numbered as an
// attempt of its call for OnEnd to count: rec is ready to be kept, info is
// what its attributes said. An attempt after the first replaces the one
// before it (which OnEnd kept because it failed) and takes the call's
// latency, offset included.
func (sp *SpanProcessor) replaceAttempt(rec *record, info *grpcInfo) {
	a := &info.attempt
	rec.attempts = uint16(min(a.number, math.MaxUint16))
	if a.number > 1 {
		rec.dur += a.offset
		if prev, ok := sp.retries.take(a.previous); ok {
			sp.retries.markReplaced(prev.rec.seq, sp.recent.Cap())
			prev.rec.row.retract(&prev.rec, &prev.msgs, sp.cfg.bounds)
		}
	}
}

// isCall reports whether the recent ring's record r, of push number seq, is
// still counted as a call; if a later attempt replaced it, it makes r the
// record of a span that is no call (see asAttempt).
func (sp *SpanProcessor) isCall(seq uint64, r *record) bool {
	if r.attempts == 0 || r.row == nil || !sp.retries.isReplaced(seq) {
		return true
	}
	r.asAttempt()
	return false
}

// asAttempt makes r the record of an attempt that a later attempt of its
// call replaced: kept as a span of its trace, as grpc-go's plugin's attempt
// spans are, but no call: no row, no method, no attempts.
func (r *record) asAttempt() {
	r.row, r.method, r.attempts, r.code = nil, "", 0, codes.OK
}

// retract takes out of the row what add counted for rec, an attempt that a
// later attempt of its call replaced, and turns its copies in the
// reservoirs into attempts. Its maximum and last end stay: a call lasts
// longer than any of its attempts, and ends later. A window that has moved
// on since rec was counted no longer holds it.
func (r *row) retract(rec *record, m *messageStats, bounds []int64) {
	b, sec, minute, hi := placesOf(rec, bounds)
	body := r.body(rec.stripe)
	body.mu.Lock()
	defer body.mu.Unlock()
	body.count--
	body.codes[rec.code]--
	body.buckets[b]--
	body.hist[hi]--
	if w := &body.recent[minute&1]; w.minute == minute && w.n > 0 && w.counts[hi] > 0 {
		w.n--
		w.counts[hi]--
	}
	body.rate[(sec%rateWindow+rateWindow)%rateWindow].uncount(sec, rec.code)
	body.win.remove(sec, minute, rec.code, b, hi)
	if m.known {
		body.msgCalls--
		body.msgSent -= uint64(max(m.sent, 0))
		body.msgReceived -= uint64(max(m.received, 0))
		body.bytesSent -= uint64(max(m.bytesSent, 0))
		body.bytesReceived -= uint64(max(m.bytesReceived, 0))
	}
	if rec.near {
		body.nearDeadline--
	}
	if rec.attempts > 1 {
		body.retried--
	}
	if rec.logs != nil {
		body.logWarnings -= rec.logs.warnings
		body.logErrors -= rec.logs.errors
	}
	replace := func(s *reservoir) {
		for i := range s.items {
			if it := &s.items[i]; it.seq == rec.seq && it.row == r {
				it.asAttempt()
			}
		}
	}
	replace(&body.byBucket[b])
	if res := body.byCode[rec.code]; res != nil {
		replace(res)
	}
}

// uncount takes back a call with code c that count added at second or
// minute at, if the slot still holds that second or minute.
func (t *tally) uncount(at int64, c codes.Code) {
	if t.at != at || t.calls == 0 {
		return
	}
	t.calls--
	if c != codes.OK {
		t.errors--
		if rpccode.ServerFault(int(c)) {
			t.fault--
		}
	}
}
