package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/debugz/debugz/internal/view"
)

// Follows: /api/spans?follow=1 sends, as NDJSON, the spans matching a query
// as they end, and /api/logs?follow=1 the log records as they are written,
// from the shared feed of the query (see stream.go).

// follow streams spans matching q that end after the request began (from the
// shared feed's latest read, at most one interval before), oldest first,
// until the client goes away.
func (h *handler) follow(w http.ResponseWriter, r *http.Request, q view.Query) {
	q.Limit = 0 // the feeds' batch
	h.serve(w, r, false, false, source{key: q, read: follower(&h.feeds, func(limit int, pos uint64) ([]view.Span, uint64, uint64) {
		q.Limit = limit
		return h.src.Follow(q, pos)
	}, toSpanJSON)})
}

// followLogs is follow for the log records matching q.
func (h *handler) followLogs(w http.ResponseWriter, r *http.Request, q view.LogQuery) {
	q.Limit = 0
	h.serve(w, r, false, false, source{key: q, read: follower(&h.feeds, func(limit int, pos uint64) ([]view.LogEntry, uint64, uint64) {
		q.Limit = limit
		return h.src.FollowLogs(q, pos)
	}, toEntryJSON)})
}

// follower is a follow feed's reader. follow reads, as the Source's Follow
// does, at most limit records since position pos (0: takes the position);
// each read encodes the newest fs.batch() records as NDJSON, led by a gap
// record for those the Source or the batch skipped.
func follower[T, J any](fs *feeds, follow func(limit int, pos uint64) ([]T, uint64, uint64), toJSON func(T) J) reader {
	var pos uint64
	return func(buf *bytes.Buffer) (uint64, error) {
		limit := fs.batch()
		items, next, skipped := follow(limit, pos)
		pos = next
		if n := len(items); n > limit { // a Source that ignores the limit
			skipped += uint64(n - limit)
			items = items[n-limit:]
		}
		enc := json.NewEncoder(buf)
		if skipped > 0 {
			_ = enc.Encode(gapJSON{Gap: gap{Skipped: skipped}})
		}
		var errs []error
		for _, it := range items {
			if err := enc.Encode(toJSON(it)); err != nil {
				errs = append(errs, err)
			}
		}
		return uint64(len(items)) + skipped, errors.Join(errs...)
	}
}

type gap struct {
	Skipped uint64 `json:"skipped"`
}

type gapJSON struct {
	Gap gap `json:"gap"`
}
