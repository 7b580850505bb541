package debugz

import (
	"encoding/binary"
	"math/bits"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const activeShards = 16

// activeTable tracks in-flight spans by span ID: OnStart adds, OnEnd removes.
// It is sharded so that concurrent RPCs rarely share a lock, and each shard is
// a small open-addressing hash table (linear probing, backward-shift delete)
// preallocated at half load, so adding and removing never allocate and cost
// a few compares. Each shard holds at most its share of cfg.maxActive spans;
// spans started beyond that are not tracked.
type activeTable struct {
	perShard int
	shards   [activeShards]activeShard
}

type activeShard struct {
	mu    sync.Mutex
	n     int
	shift uint     // 64 - log2(len(keys))
	keys  []uint64 // span IDs; 0 marks an empty slot (no valid span has ID 0)
	spans []sdktrace.ReadWriteSpan
	_     [16]byte // keep shards on separate cache lines
}

func (t *activeTable) init(maxActive int) {
	t.perShard = max(1, (maxActive+activeShards-1)/activeShards)
	size := 1 << bits.Len(uint(2*t.perShard-1)) // a power of two ≥ 2·perShard
	for i := range t.shards {
		sh := &t.shards[i]
		sh.shift = uint(64 - bits.TrailingZeros(uint(size)))
		sh.keys = make([]uint64, size)
		sh.spans = make([]sdktrace.ReadWriteSpan, size)
	}
}

func activeKey(s interface{ SpanContext() trace.SpanContext }) uint64 {
	id := s.SpanContext().SpanID()
	return binary.LittleEndian.Uint64(id[:])
}

func (t *activeTable) shard(key uint64) *activeShard { return &t.shards[key%activeShards] }

// home is the slot where a key's probe starts (Fibonacci hashing).
func (sh *activeShard) home(key uint64) int { return int((key * 0x9E3779B97F4A7C15) >> sh.shift) }

func (t *activeTable) add(s sdktrace.ReadWriteSpan) {
	key := activeKey(s)
	if key == 0 {
		return
	}
	sh := t.shard(key)
	mask := len(sh.keys) - 1
	sh.mu.Lock()
	if sh.n < t.perShard {
		i := sh.home(key)
		for sh.keys[i] != 0 && sh.keys[i] != key {
			i = (i + 1) & mask
		}
		if sh.keys[i] == 0 {
			sh.n++
		}
		sh.keys[i], sh.spans[i] = key, s
	}
	sh.mu.Unlock()
}

func (t *activeTable) remove(s sdktrace.ReadOnlySpan) {
	key := activeKey(s)
	if key == 0 {
		return
	}
	sh := t.shard(key)
	mask := len(sh.keys) - 1
	sh.mu.Lock()
	i := sh.home(key)
	for sh.keys[i] != key {
		if sh.keys[i] == 0 { // not tracked
			sh.mu.Unlock()
			return
		}
		i = (i + 1) & mask
	}
	// Backward-shift deletion: pull later entries of the probe run into the
	// hole unless that would move them before their home slot.
	for j := i; ; {
		j = (j + 1) & mask
		if sh.keys[j] == 0 {
			break
		}
		h := sh.home(sh.keys[j])
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			sh.keys[i], sh.spans[i] = sh.keys[j], sh.spans[j]
			i = j
		}
	}
	sh.keys[i], sh.spans[i] = 0, nil
	sh.n--
	sh.mu.Unlock()
}

// spans returns the tracked in-flight spans, in no order.
func (t *activeTable) spans() []sdktrace.ReadWriteSpan {
	var out []sdktrace.ReadWriteSpan
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for j, k := range sh.keys {
			if k != 0 {
				out = append(out, sh.spans[j])
			}
		}
		sh.mu.Unlock()
	}
	return out
}

// clear forgets every tracked span.
func (t *activeTable) clear() {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		clear(sh.keys)
		clear(sh.spans)
		sh.n = 0
		sh.mu.Unlock()
	}
}

// len returns how many spans are tracked.
func (t *activeTable) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += sh.n
		sh.mu.Unlock()
	}
	return n
}
