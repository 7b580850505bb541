package debugz

import (
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const activeShards = 16

// activeTable tracks in-flight gRPC spans by span ID, sharded so that
// concurrent RPCs rarely share a lock. Each shard holds at most its share of
// cfg.maxActive spans; spans started beyond that are not tracked.
type activeTable struct {
	perShard int
	shards   [activeShards]struct {
		mu sync.Mutex
		m  map[trace.SpanID]sdktrace.ReadWriteSpan
		_  [40]byte // keep shards on separate cache lines
	}
}

func (t *activeTable) init(maxActive int) {
	t.perShard = max(1, maxActive/activeShards)
	for i := range t.shards {
		t.shards[i].m = make(map[trace.SpanID]sdktrace.ReadWriteSpan)
	}
}

func (t *activeTable) add(s sdktrace.ReadWriteSpan) {
	id := s.SpanContext().SpanID()
	sh := &t.shards[id[7]%activeShards]
	sh.mu.Lock()
	if len(sh.m) < t.perShard {
		sh.m[id] = s
	}
	sh.mu.Unlock()
}

func (t *activeTable) remove(id trace.SpanID) {
	sh := &t.shards[id[7]%activeShards]
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
}

// spans returns the tracked in-flight spans, in no order.
func (t *activeTable) spans() []sdktrace.ReadWriteSpan {
	var out []sdktrace.ReadWriteSpan
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, s := range sh.m {
			out = append(out, s)
		}
		sh.mu.Unlock()
	}
	return out
}
