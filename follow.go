package debugz

import "iter"

// follow returns the retained gRPC spans matching f that entered the recent
// ring since position pos, oldest first, with the position to pass next
// time. Pass 0 to start from now: nothing is returned, only the position
// (never 0, even before the first span). Skipped counts the spans that
// entered since pos but were already overwritten (a reader that fell behind
// the ring): they may or may not have matched, and a follower says so
// instead of losing them silently. With f.Limit set, only the newest f.Limit
// matches are returned, and the spans older than them are not read: they
// count as skipped, matching or not. Its cost grows with the spans that
// entered since (or with those read to find f.Limit matches), not with the
// ring's size, and only the returned spans are copied.
func (sp *SpanProcessor) follow(f Filter, pos uint64) (spans []Span, next, skipped uint64) {
	recs, next, skipped := since(sp.recent, pos, f.Limit, func(seq uint64, r *record) bool {
		r.seq = seq
		return f.match(r, sp.cfg.bounds) && sp.isCall(seq, r)
	})
	spans = make([]Span, len(recs))
	for i := range recs {
		spans[len(recs)-1-i] = sp.toSpan(&recs[i])
	}
	return spans, next, skipped
}

// pushedRing is what since reads: a ringbuffer.Ring or a recordRing.
type pushedRing[T any] interface {
	Pushed() uint64
	Cap() int
	Newest() iter.Seq2[uint64, T]
}

// since reads what entered ring after position pos, newest first, keeping
// the items keep accepts (it may change them), and returns them with the
// position to read from next. A position is a push number plus one, never
// 0; pos 0 starts from now: nothing is read, only the position is returned.
// Skipped counts the items the ring overwrote before they were read and,
// with limit > 0, those older than the limit's kept items, which are not
// read. Pushes still in progress are left for the next read, not lost. It
// is follow's reader and followLogs'.
func since[T any](ring pushedRing[T], pos uint64, limit int, keep func(seq uint64, v *T) bool) (kept []T, next, skipped uint64) {
	next = ring.Pushed()
	defer func() { next++ }()
	if pos == 0 || pos-1 >= next {
		return nil, next, 0
	}
	after := pos - 1
	oldest := next - min(next, uint64(ring.Cap())) + 1 // the oldest push still held
	if after+1 < oldest {
		skipped = oldest - after - 1
	}
	var over uint64 // items not read past the limit
	expect := next  // the next push number Newest should yield
	for seq, v := range ring.Newest() {
		if seq > next {
			continue // pushed since next was read: the next call returns it
		}
		if seq <= after {
			break
		}
		if seq < expect && expect >= oldest { // pushes in between still in progress:
			next = seq // resume before them, so they are not lost
			kept, over = kept[:0], 0
		}
		expect = seq - 1
		if limit > 0 && len(kept) >= limit {
			over = seq - max(after, oldest-1) // this and every older one since: not read
			break
		}
		if keep(seq, &v) {
			kept = append(kept, v)
		}
	}
	return kept, next, skipped + over
}

// followLogs returns the records matching f written since position pos,
// oldest first, with the position to pass next time; pass 0 to start from
// now (nothing is returned, only the position, never 0). Skipped counts the
// records the ring overwrote before they were read and, past f.Limit
// matches, the older ones not read.
func (sp *SpanProcessor) followLogs(f LogFilter, pos uint64) (recs []LogRecord, next, skipped uint64) {
	ring := sp.recentLogs.Load()
	if ring == nil {
		return nil, 1, 0
	}
	kept, next, skipped := since(ring, pos, f.Limit, func(_ uint64, r *recentLog) bool { return f.matches(r) })
	recs = make([]LogRecord, len(kept))
	for i := range kept {
		recs[len(kept)-1-i] = kept[i].record()
	}
	return recs, next, skipped
}
