package ringbuffer_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/debugz/debugz/ringbuffer"
)

// newestFirst returns the values 0..pushed-1 that a ring of capacity c
// holds after pushing them in order, newest first.
func newestFirst(c, pushed int) []int {
	want := []int{}
	for v := pushed - 1; v >= max(0, pushed-c); v-- {
		want = append(want, v)
	}
	return want
}

func TestRing(t *testing.T) {
	type test struct {
		name        string
		capacity    int
		pushes      int
		len         int
		overwritten uint64
	}
	var tests []test
	for _, c := range []int{1, 3, 10} {
		for _, n := range []int{0, c - 1, c, c + 1, 3*c + 2} { // c-1: fewer than cap
			tests = append(tests, test{
				name:        fmt.Sprintf("cap=%d/pushes=%d", c, n),
				capacity:    c,
				pushes:      n,
				len:         min(n, c),
				overwritten: uint64(max(0, n-c)),
			})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ringbuffer.New[int](tt.capacity)
			for i := range tt.pushes {
				r.Push(i)
			}
			if got, want := r.Snapshot(), newestFirst(tt.capacity, tt.pushes); !slices.Equal(got, want) {
				t.Errorf("Snapshot(%q) = %v; want %v", tt.name, got, want)
			}
			if got := r.Len(); got != tt.len {
				t.Errorf("Len(%q) = %v; want %v", tt.name, got, tt.len)
			}
			if got := r.Cap(); got != tt.capacity {
				t.Errorf("Cap(%q) = %v; want %v", tt.name, got, tt.capacity)
			}
			if got := r.Overwritten(); got != tt.overwritten {
				t.Errorf("Overwritten(%q) = %v; want %v", tt.name, got, tt.overwritten)
			}
			if got := r.Pushed(); got != uint64(tt.pushes) {
				t.Errorf("Pushed(%q) = %v; want %v", tt.name, got, tt.pushes)
			}
		})
	}
}

func TestNewPanicsOnBadCapacity(t *testing.T) {
	for _, c := range []int{0, -1} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			defer func() {
				const want = "ringbuffer: New called with capacity < 1"
				if got := recover(); got != want {
					t.Errorf("New(%q) panicked with %v; want %v", fmt.Sprint(c), got, want)
				}
			}()
			ringbuffer.New[int](c)
		})
	}
}

// FuzzRing compares a Ring against a plain-slice model. Each even op pushes
// op; each odd op takes a snapshot with AppendSnapshot into a reused buffer.
func FuzzRing(f *testing.F) {
	f.Add(byte(0), []byte{})
	f.Add(byte(0), []byte{0, 0, 1, 2, 1})
	f.Add(byte(2), []byte{2, 4, 6, 8, 1, 10, 12, 3})
	f.Add(byte(9), []byte{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 1})
	f.Fuzz(func(t *testing.T, c byte, ops []byte) {
		capacity := int(c%32) + 1
		r := ringbuffer.New[byte](capacity)
		var model []byte // every pushed value, oldest first
		buf := []byte{0xff}
		for n, op := range ops {
			in := ops[:n+1]
			if op%2 == 0 {
				if got, want := r.Push(op), uint64(len(model)+1); got != want {
					t.Fatalf("Push(%q) = %v; want push number %v", in, got, want)
				}
				model = append(model, op)
			}
			want := slices.Clone(model[max(0, len(model)-capacity):])
			slices.Reverse(want)
			if op%2 == 1 {
				buf = r.AppendSnapshot(buf[:1])
				if buf[0] != 0xff || !slices.Equal(buf[1:], want) {
					t.Fatalf("AppendSnapshot(%q) = %v; want [255] + %v", in, buf, want)
				}
			}
			if got := r.Snapshot(); !slices.Equal(got, want) {
				t.Fatalf("Snapshot(%q) = %v; want %v", in, got, want)
			}
			var got []byte
			for seq, v := range r.Newest() {
				if wantSeq := uint64(len(model) - len(got)); seq != wantSeq {
					t.Fatalf("Newest(%q) yields push number %v at %d; want %v", in, seq, len(got), wantSeq)
				}
				got = append(got, v)
				if op%3 == 0 && len(got) == 2 { // a reader that stops early
					break
				}
			}
			if stop := op%3 == 0 && len(want) > 2; stop && !slices.Equal(got, want[:2]) || !stop && !slices.Equal(got, want) {
				t.Fatalf("Newest(%q) = %v; want %v (or its first two)", in, got, want)
			}
			if got := r.Len(); got != len(want) {
				t.Fatalf("Len(%q) = %v; want %v", in, got, len(want))
			}
			if got, want := r.Pushed(), uint64(len(model)); got != want {
				t.Fatalf("Pushed(%q) = %v; want %v", in, got, want)
			}
			if got, want := r.Overwritten(), uint64(len(model)-len(want)); got != want {
				t.Fatalf("Overwritten(%q) = %v; want %v", in, got, want)
			}
		}
	})
}

func TestRingConcurrentSafe(t *testing.T) {
	const (
		capacity = 64
		writers  = 4
		readers  = 2
		perW     = 2000
	)
	type item struct{ w, n int }
	r := ringbuffer.New[item](capacity)
	done := make(chan struct{})
	var rwg, wwg sync.WaitGroup
	for range readers {
		rwg.Go(func() {
			var buf []item
			for {
				select {
				case <-done:
					return
				default:
				}
				buf = r.AppendSnapshot(buf[:0])
				if len(buf) > capacity {
					t.Errorf("len(Snapshot()) = %v; want <= %v", len(buf), capacity)
					return
				}
				// Strictly decreasing per writer also rules out duplicates.
				last := map[int]int{} // writer -> last n seen
				for _, it := range buf {
					if prev, ok := last[it.w]; ok && it.n >= prev {
						t.Errorf("Snapshot() has writer %d value %d after %d; want strictly decreasing", it.w, it.n, prev)
						return
					}
					last[it.w] = it.n
				}
			}
		})
	}
	for w := range writers {
		wwg.Go(func() {
			for n := range perW {
				r.Push(item{w, n})
			}
		})
	}
	wwg.Wait()
	close(done)
	rwg.Wait()
	if got := r.Len(); got != capacity {
		t.Errorf("Len() = %v; want %v", got, capacity)
	}
	if got, want := r.Pushed(), uint64(writers*perW); got != want {
		t.Errorf("Pushed() = %v; want %v", got, want)
	}
	if got := len(r.Snapshot()); got != capacity {
		t.Errorf("len(Snapshot()) = %v; want %v", got, capacity)
	}
}

// mutexRing is the trivial single-mutex ring the benchmarks compare against.
type mutexRing[T any] struct {
	mu   sync.Mutex
	buf  []T
	next int
}

func (r *mutexRing[T]) Push(v T) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next%len(r.buf)] = v
	r.next++
	return uint64(r.next)
}

func (r *mutexRing[T]) AppendSnapshot(dst []T) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := r.next - 1; i >= max(0, r.next-len(r.buf)); i-- {
		dst = append(dst, r.buf[i%len(r.buf)])
	}
	return dst
}

type benchItem struct {
	p    *int
	a, b int64
}

type benchRing interface {
	Push(benchItem) uint64
	AppendSnapshot([]benchItem) []benchItem
}

func benchPush(b *testing.B, r benchRing) {
	b.ReportAllocs()
	x := 1
	for i := 0; b.Loop(); i++ {
		r.Push(benchItem{&x, int64(i), 2})
	}
}

func benchPushParallel(b *testing.B, r benchRing) {
	b.ReportAllocs()
	x := 1
	b.RunParallel(func(pb *testing.PB) {
		for i := int64(0); pb.Next(); i++ {
			r.Push(benchItem{&x, i, 2})
		}
	})
}

// benchPushDuringSnapshots measures Push while another goroutine snapshots
// the full ring in a loop.
func benchPushDuringSnapshots(b *testing.B, r benchRing) {
	for range 8192 {
		r.Push(benchItem{})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var buf []benchItem
		for {
			select {
			case <-stop:
				return
			default:
				buf = r.AppendSnapshot(buf[:0])
			}
		}
	})
	benchPush(b, r)
	close(stop)
	wg.Wait()
}

func BenchmarkRing_Push(b *testing.B) { benchPush(b, ringbuffer.New[benchItem](1024)) }
func BenchmarkRing_PushParallel(b *testing.B) {
	benchPushParallel(b, ringbuffer.New[benchItem](1024))
}
func BenchmarkRing_PushDuringSnapshots(b *testing.B) {
	benchPushDuringSnapshots(b, ringbuffer.New[benchItem](8192))
}
func BenchmarkMutexRing_Push(b *testing.B) {
	benchPush(b, &mutexRing[benchItem]{buf: make([]benchItem, 1024)})
}
func BenchmarkMutexRing_PushParallel(b *testing.B) {
	benchPushParallel(b, &mutexRing[benchItem]{buf: make([]benchItem, 1024)})
}
func BenchmarkMutexRing_PushDuringSnapshots(b *testing.B) {
	benchPushDuringSnapshots(b, &mutexRing[benchItem]{buf: make([]benchItem, 8192)})
}

func BenchmarkRing_Snapshot(b *testing.B) {
	r := ringbuffer.New[benchItem](8192)
	for i := range r.Cap() {
		r.Push(benchItem{a: int64(i)})
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Snapshot()
	}
}
