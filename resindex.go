package debugz

import (
	"math/bits"

	"go.opentelemetry.io/otel/trace"
)

// resIndex finds a row's reservoir records by span ID and by trace ID, so
// that Span(id) and Trace(id) probe each row instead of reading its
// hundred-odd records. It is guarded by its row body's mutex, and kept by the
// reservoir push that OnEnd makes anyway: the record a push overwrites
// leaves both tables, the new one enters them, without allocating (a row's
// first reservoir of an error code grows the tables, once per code).
//
// Each table is open addressing with linear probing and backward-shift
// deletion, at most half full, of 8-byte entries: the top 32 bits of the
// ID's hash and the slot's number among the row's reservoirs (see
// row.resSlot). An ID may have several entries (a trace's spans, a span in
// a bucket's and a code's reservoir); a reader compares the full ID in the
// record.
type resIndex struct {
	span, trace []resEntry
	shift       uint // 32 - log2(len(table))
}

type resEntry struct {
	hash uint32 // top bits of the ID's hash
	slot uint32 // row.resSlot number + 1; 0 marks an empty entry
}

func idHash(key uint64) uint32 { return uint32((key * 0x9E3779B97F4A7C15) >> 32) }

// init sizes the tables for slots records.
func (x *resIndex) init(slots int) {
	size := 1 << bits.Len(uint(2*slots-1))
	x.span, x.trace = make([]resEntry, size), make([]resEntry, size)
	x.shift = uint(32 - bits.TrailingZeros(uint(size)))
}

func (x *resIndex) home(h uint32) int { return int(h >> x.shift) }

func (x *resIndex) insert(table []resEntry, h uint32, slot int) {
	mask := len(table) - 1
	i := x.home(h)
	for n := 0; table[i].slot != 0; n++ {
		if n == len(table) {
			return // full, which keep's removals rule out: never loop in OnEnd
		}
		i = (i + 1) & mask
	}
	table[i] = resEntry{h, uint32(slot) + 1}
}

func (x *resIndex) remove(table []resEntry, h uint32, slot int) {
	mask := len(table) - 1
	i := x.home(h)
	for table[i] != (resEntry{h, uint32(slot) + 1}) {
		if table[i].slot == 0 {
			return // not there
		}
		i = (i + 1) & mask
	}
	// Backward shift: move later entries of the run into the hole unless
	// that puts them before their home.
	for j := (i + 1) & mask; table[j].slot != 0; j = (j + 1) & mask {
		if home := x.home(table[j].hash); (j-home)&mask >= (j-i)&mask {
			table[i] = table[j]
			i = j
		}
	}
	table[i] = resEntry{}
}

// each calls f with the slot of each entry of hash h.
func (x *resIndex) each(table []resEntry, h uint32, f func(slot int)) {
	mask := len(table) - 1
	for i := x.home(h); table[i].slot != 0; i = (i + 1) & mask {
		if table[i].hash == h {
			f(int(table[i].slot) - 1)
		}
	}
}

// resSlot numbers the row's reservoir slots: the buckets' reservoirs, then
// one per code.
func (b *rowBody) resSlot(slot int) *record {
	res, k := slot/b.resSize, slot%b.resSize
	if res < len(b.byBucket) {
		return &b.byBucket[res].items[k]
	}
	return &b.byCode[res-len(b.byBucket)].items[k]
}

// keep pushes rec into reservoir res (numbered as by resSlot) and indexes it
// in place of the record it overwrites. The caller holds r.mu.
func (r *rowBody) keep(res int, s *reservoir, rec *record) {
	slot := res*r.resSize + int(s.next)
	if old := &s.items[s.next]; old.spanID.IsValid() {
		r.ids.remove(r.ids.span, idHash(spanKey(old.spanID)), slot)
		r.ids.remove(r.ids.trace, idHash(traceKey(old.traceID)), slot)
	}
	s.push(rec)
	if rec.spanID.IsValid() { // as removal above: an entry never removed would fill the table
		r.ids.insert(r.ids.span, idHash(spanKey(rec.spanID)), slot)
		r.ids.insert(r.ids.trace, idHash(traceKey(rec.traceID)), slot)
	}
}

// reindex sizes the index for the reservoirs the row has now, and indexes
// their records again. The caller holds r.mu.
func (r *rowBody) reindex() {
	n := len(r.byBucket)
	for _, res := range r.byCode {
		if res != nil {
			n++
		}
	}
	r.ids.init(max(n, len(r.byBucket)+2) * r.resSize) // room for two codes before growing
	for res := range len(r.byBucket) + len(r.byCode) {
		if res >= len(r.byBucket) && r.byCode[res-len(r.byBucket)] == nil {
			continue
		}
		for k := range r.resSize {
			slot := res*r.resSize + k
			if rec := r.resSlot(slot); rec.spanID.IsValid() {
				r.ids.insert(r.ids.span, idHash(spanKey(rec.spanID)), slot)
				r.ids.insert(r.ids.trace, idHash(traceKey(rec.traceID)), slot)
			}
		}
	}
}

// appendByID appends to dst copies of the row's reservoir records of span
// ID span (when valid), or else of trace ID tid, for which keep is true.
func (r *row) appendByID(dst []record, span trace.SpanID, tid trace.TraceID, keep func(*record) bool) []record {
	for _, b := range r.bodies() {
		dst = b.appendByID(dst, span, tid, keep)
	}
	return dst
}

func (r *rowBody) appendByID(dst []record, span trace.SpanID, tid trace.TraceID, keep func(*record) bool) []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	table, h := r.ids.trace, idHash(traceKey(tid))
	if span.IsValid() {
		table, h = r.ids.span, idHash(spanKey(span))
	}
	r.ids.each(table, h, func(slot int) {
		rec := r.resSlot(slot)
		if (span.IsValid() && rec.spanID == span || !span.IsValid() && rec.traceID == tid) && keep(rec) {
			dst = append(dst, *rec)
		}
	})
	return dst
}
