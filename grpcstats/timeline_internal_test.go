package grpcstats

import (
	"math"
	"slices"
	"testing"
)

// TestSlotSetIDs checks the timeline's slot arithmetic on streams of any
// length, those past 2^32 messages included, on 32-bit platforms too.
func TestSlotSetIDs(t *testing.T) {
	tests := []struct {
		name        string
		first, ring int
		from, to    uint64 // ids put, in order
		want        []uint64
	}{
		{"short stream", 2, 2, 1, 3, []uint64{1, 2, 3}},
		{"first and last", 2, 2, 1, 10, []uint64{1, 2, 9, 10}},
		{"first only", 3, 0, 1, 10, []uint64{1, 2, 3}},
		{"past 2^31", 2, 2, 1<<31 - 3, 1<<31 + 2, []uint64{1<<31 + 1, 1<<31 + 2}},
		{"past 2^32", 2, 3, 1<<32 - 1, 1<<32 + 4, []uint64{1<<32 + 2, 1<<32 + 3, 1<<32 + 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &slotSet{first: make([]slot, tt.first), ring: make([]slot, tt.ring)}
			for id := tt.from; id <= tt.to; id++ {
				set.put(id, 10, 5, int64(id))
			}
			var got []uint64
			for _, e := range set.read(nil, received, tt.to) {
				if e.dir != received || e.size != 10 || e.csize != 5 || e.at != int64(e.id) {
					t.Errorf("read event %+v; want direction %d, sizes 10 and 5, at its id", e, received)
				}
				got = append(got, e.id)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids read after putting %d…%d = %v; want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestPackSizes(t *testing.T) {
	tests := []struct {
		name                string
		length, compressed  int
		wantLength, wantCmp uint64
	}{
		{"small", 300, 120, 300, 120},
		{"negative is 0", -1, -5, 0, 0},
		{"capped", math.MaxInt, math.MaxInt, math.MaxUint32, math.MaxUint32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := packSizes(tt.length, tt.compressed)
			if l, c := p>>32, p&math.MaxUint32; l != tt.wantLength || c != tt.wantCmp {
				t.Errorf("packSizes(%d, %d) unpacks to %d, %d; want %d, %d", tt.length, tt.compressed, l, c, tt.wantLength, tt.wantCmp)
			}
		})
	}
}
