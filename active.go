package debugz

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/debugz/debugz/grpcstats"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const activeShards = 16

// activeTable tracks in-flight spans by span ID: OnStart adds, OnEnd removes.
// It is sharded so that concurrent RPCs rarely share a lock, and each shard is
// a small open-addressing hash table (linear probing, backward-shift delete)
// preallocated at half load, so adding and removing never allocate and cost
// a few compares. Each shard holds at most its share of cfg.maxActive spans;
// a span started when its shard is full takes the place of the shard's
// oldest, which is counted as evicted: a flood of RPCs that never end (a
// caller's unknown methods) cannot keep new RPCs out.
type activeTable struct {
	perShard int
	evicted  atomic.Uint64 // spans pushed out by newer ones or aged out
	shards   [activeShards]activeShard
}

type activeShard struct {
	mu    sync.Mutex
	n     int
	shift uint     // 64 - log2(len(keys))
	keys  []uint64 // span IDs; 0 marks an empty slot (no valid span has ID 0)
	order []uint64 // when each span was added, by the shard's count of adds
	adds  uint64
	spans []activeEntry
	_     [16]byte // keep shards on separate cache lines
}

func (t *activeTable) init(maxActive int) {
	t.perShard = max(1, (maxActive+activeShards-1)/activeShards)
	size := 1 << bits.Len(uint(2*t.perShard-1)) // a power of two ≥ 2·perShard
	for i := range t.shards {
		sh := &t.shards[i]
		sh.shift = uint(64 - bits.TrailingZeros(uint(size)))
		sh.keys = make([]uint64, size)
		sh.order = make([]uint64, size)
		sh.spans = make([]activeEntry, size)
	}
}

// activeKey is the table's key of a span: its span ID as a number.
func activeKey(sc trace.SpanContext) uint64 {
	id := sc.SpanID()
	return binary.LittleEndian.Uint64(id[:])
}

func (t *activeTable) shard(key uint64) *activeShard { return &t.shards[key%activeShards] }

// home is the slot where a key's probe starts (Fibonacci hashing).
func (sh *activeShard) home(key uint64) int { return int((key * 0x9E3779B97F4A7C15) >> sh.shift) }

func (t *activeTable) add(key uint64, s sdktrace.ReadWriteSpan) {
	if key == 0 {
		return
	}
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.n >= t.perShard && sh.find(key) < 0 {
		sh.delete(sh.oldest())
		t.evicted.Add(1)
	}
	mask := len(sh.keys) - 1
	i := sh.home(key)
	for sh.keys[i] != 0 && sh.keys[i] != key {
		i = (i + 1) & mask
	}
	if sh.keys[i] == 0 {
		sh.n++
		sh.adds++
		sh.order[i] = sh.adds
	}
	sh.keys[i], sh.spans[i] = key, activeEntry{span: s}
}

// remove forgets the tracked span key and returns its log lines.
func (t *activeTable) remove(key uint64) *spanLogs {
	if key == 0 {
		return nil
	}
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var logs *spanLogs
	if i := sh.find(key); i >= 0 {
		logs = sh.spans[i].logs
		sh.delete(i)
	}
	return logs
}

// find returns the slot holding key, or -1; the caller holds sh.mu.
func (sh *activeShard) find(key uint64) int {
	mask := len(sh.keys) - 1
	for i := sh.home(key); sh.keys[i] != 0; i = (i + 1) & mask {
		if sh.keys[i] == key {
			return i
		}
	}
	return -1
}

// oldest returns the slot of the span added first; the caller holds sh.mu
// and the shard is not empty. It runs only when the shard is full.
func (sh *activeShard) oldest() int {
	o := -1
	for i, k := range sh.keys {
		if k != 0 && (o < 0 || sh.order[i] < sh.order[o]) {
			o = i
		}
	}
	return o
}

// delete empties slot i with backward-shift deletion: later entries of the
// probe run move into the hole unless that would put them before their home
// slot. The caller holds sh.mu.
func (sh *activeShard) delete(i int) {
	mask := len(sh.keys) - 1
	for j := i; ; {
		j = (j + 1) & mask
		if sh.keys[j] == 0 {
			break
		}
		h := sh.home(sh.keys[j])
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			sh.keys[i], sh.order[i], sh.spans[i] = sh.keys[j], sh.order[j], sh.spans[j]
			i = j
		}
	}
	sh.keys[i], sh.order[i], sh.spans[i] = 0, 0, activeEntry{}
	sh.n--
}

// spans returns the tracked in-flight spans, in no order, first forgetting
// those that started before ageOut (unix ns; 0 keeps all) and counting them
// as evicted.
func (t *activeTable) spans(ageOut int64) []activeEntry {
	var out []activeEntry
	for i := range t.shards {
		out = t.shards[i].appendSpans(out, ageOut, &t.evicted)
	}
	return out
}

func (sh *activeShard) appendSpans(out []activeEntry, ageOut int64, evicted *atomic.Uint64) []activeEntry {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var old []uint64
	for j, k := range sh.keys {
		if k == 0 {
			continue
		}
		if ageOut != 0 && sh.spans[j].span.StartTime().UnixNano() < ageOut {
			old = append(old, k)
		} else {
			out = append(out, sh.spans[j])
		}
	}
	for _, k := range old { // deleting moves entries: not while scanning
		sh.delete(sh.find(k))
		evicted.Add(1)
	}
	return out
}

// activeEntry is a tracked in-flight span, with what grpcstats.WrapHandler
// says of its progress when it is told to (grpcstats.WithProgress).
type activeEntry struct {
	span     sdktrace.ReadWriteSpan
	progress grpcstats.Progress
	logs     *spanLogs // logged while it ran (SpanProcessor.LogHandler); nil if none
}

// update calls f with the entry of the tracked span key under its shard's
// lock, and reports whether the span is tracked.
func (t *activeTable) update(key uint64, f func(*activeEntry)) bool {
	if key == 0 {
		return false
	}
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i := sh.find(key)
	if i >= 0 {
		f(&sh.spans[i])
	}
	return i >= 0
}

// addLog has fill write a log line kept with the tracked span key, and
// reports whether the span is tracked.
func (t *activeTable) addLog(key uint64, fill func(*LogLine)) bool {
	return t.update(key, func(e *activeEntry) {
		if e.logs == nil {
			e.logs = &spanLogs{}
		}
		line := e.logs.slot()
		fill(line)
		e.logs.count(line.Level)
	})
}

// setProgress attaches p to the tracked span key, if it is tracked.
func (t *activeTable) setProgress(key uint64, p grpcstats.Progress) {
	t.update(key, func(e *activeEntry) { e.progress = p })
}

// clear forgets every tracked span.
func (t *activeTable) clear() {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		clear(sh.keys)
		clear(sh.order)
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
