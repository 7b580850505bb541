// Package ringbuffer provides Ring, a generic bounded ring buffer that is
// safe for concurrent use and cheap to write to.
//
// A Ring holds the most recent Cap items pushed into it; each Push beyond
// that overwrites the oldest item. Pushes are numbered in the order they
// claim a position from a shared atomic counter, and each slot has its own
// small lock, so writers never contend on one big lock and a Snapshot holds
// up a writer for no longer than it takes to copy one item.
//
// Snapshot returns items newest first, ordered strictly by push number. When
// no Push runs concurrently, a snapshot is exactly the last min(Pushed, Cap)
// items. When pushes run concurrently, a snapshot may hold fewer items than
// Len: an item whose Push is still in progress, or that is overwritten by a
// newer Push while the snapshot is being taken, is skipped. A snapshot never
// contains a torn value or a duplicate item.
package ringbuffer

import (
	"iter"
	"slices"
	"sync"
	"sync/atomic"
)

// Ring is a bounded ring buffer of items of type T. Its methods are safe for
// concurrent use by multiple goroutines. A Ring must be created with New.
type Ring[T any] struct {
	next  atomic.Uint64 // number of pushes claimed so far
	slots []slot[T]
}

type slot[T any] struct {
	mu  sync.Mutex
	seq uint64 // push number + 1 of the item held in v; 0 if empty
	v   T
}

// New returns a ring holding at most capacity items.
// It panics if capacity < 1.
func New[T any](capacity int) *Ring[T] {
	if capacity < 1 {
		panic("ringbuffer: New called with capacity < 1")
	}
	return &Ring[T]{slots: make([]slot[T], capacity)}
}

// Push appends v to the ring; when the ring is full it overwrites the oldest
// item. It returns the push number of v, counting from 1: the item is held
// while Pushed() - n < Cap(). Push is safe for concurrent use with all other
// methods; it never blocks on a reader for longer than copying one item, and
// never allocates.
func (r *Ring[T]) Push(v T) uint64 {
	i := r.next.Add(1) - 1
	s := &r.slots[i%uint64(len(r.slots))]
	s.mu.Lock()
	defer s.mu.Unlock()
	// A slow Push may reach its slot after a newer Push has claimed it;
	// the newer item wins and this one counts as already overwritten.
	if s.seq <= i {
		s.seq = i + 1
		s.v = v
	}
	return i + 1
}

// Newest yields the items currently held with their push numbers, newest
// first, copying each out of its slot; the loop body runs with no lock held,
// so a reader that stops early costs only the items it read. It sees what
// Snapshot would, and is safe for concurrent use with all other methods.
func (r *Ring[T]) Newest() iter.Seq2[uint64, T] {
	return func(yield func(uint64, T) bool) {
		next := r.next.Load()
		n := min(next, uint64(len(r.slots)))
		for i := next; i > next-n; i-- {
			v, ok := r.slots[(i-1)%uint64(len(r.slots))].load(i)
			if ok && !yield(i, v) {
				return
			}
		}
	}
}

// load returns the slot's item if it is still push number seq.
func (s *slot[T]) load(seq uint64) (v T, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == seq {
		return s.v, true
	}
	return v, false
}

// Snapshot returns the items currently held, newest first, in a freshly
// allocated slice. Snapshot is safe for concurrent use with all other
// methods; see the package documentation for what it returns while pushes
// are in progress.
func (r *Ring[T]) Snapshot() []T {
	return r.AppendSnapshot(make([]T, 0, r.Len()))
}

// AppendSnapshot appends the items currently held, newest first, to dst and
// returns the extended slice, letting callers reuse a buffer. It is safe for
// concurrent use with all other methods and has the same semantics as
// Snapshot.
func (r *Ring[T]) AppendSnapshot(dst []T) []T {
	next := r.next.Load()
	n := min(next, uint64(len(r.slots)))
	dst = slices.Grow(dst, int(n))
	for i := next; i > next-n; i-- {
		if v, ok := r.slots[(i-1)%uint64(len(r.slots))].load(i); ok {
			dst = append(dst, v)
		}
	}
	return dst
}

// Len returns the number of items currently held, min(Pushed, Cap).
// It is safe for concurrent use with all other methods; a Push counts from
// the moment it starts.
func (r *Ring[T]) Len() int {
	return int(min(r.next.Load(), uint64(len(r.slots))))
}

// Cap returns the maximum number of items the ring holds, as passed to New.
// It is safe for concurrent use with all other methods.
func (r *Ring[T]) Cap() int {
	return len(r.slots)
}

// Overwritten returns how many items have been overwritten (evicted) since
// New, that is max(0, Pushed-Cap). It is safe for concurrent use with all
// other methods.
func (r *Ring[T]) Overwritten() uint64 {
	next := r.next.Load()
	return next - min(next, uint64(len(r.slots)))
}

// Pushed returns the total number of pushes since New. It is safe for
// concurrent use with all other methods; a Push counts from the moment it
// starts.
func (r *Ring[T]) Pushed() uint64 {
	return r.next.Load()
}
