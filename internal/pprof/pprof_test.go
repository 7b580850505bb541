package pprof

import (
	"bytes"
	"compress/gzip"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// profile builds a gzipped profile.proto with the string table strs and
// the given samples, each already encoded.
func profile(t *testing.T, strs []string, samples ...[]byte) []byte {
	t.Helper()
	var b []byte
	for _, s := range samples {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	}
	for _, s := range strs {
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	return gzipped(t, b)
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleOf encodes a sample of the values vals (packed or not) and the
// string labels given as pairs of string table indexes.
func sampleOf(packed bool, vals []uint64, labels ...[2]uint64) []byte {
	var b []byte
	if packed {
		var p []byte
		for _, v := range vals {
			p = protowire.AppendVarint(p, v)
		}
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	} else {
		for _, v := range vals {
			b = protowire.AppendTag(b, 2, protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		}
	}
	for _, l := range labels {
		var lb []byte
		lb = protowire.AppendTag(lb, 1, protowire.VarintType)
		lb = protowire.AppendVarint(lb, l[0])
		lb = protowire.AppendTag(lb, 2, protowire.VarintType)
		lb = protowire.AppendVarint(lb, l[1])
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, lb)
	}
	return b
}

func TestCPUByLabel(t *testing.T) {
	strs := []string{"", "grpc.method", "a.B/C", "a.B/D", "other", "x"}
	const ms = uint64(time.Millisecond)
	tests := []struct {
		name      string
		samples   [][]byte
		wantTotal time.Duration
		want      []LabelCPU
	}{
		{name: "empty"},
		{
			name: "packed and unpacked values, by label, most first",
			samples: [][]byte{
				sampleOf(true, []uint64{1, 10 * ms}, [2]uint64{1, 2}),
				sampleOf(false, []uint64{2, 20 * ms}, [2]uint64{1, 3}),
				sampleOf(true, []uint64{1, 5 * ms}, [2]uint64{4, 5}, [2]uint64{1, 2}),
			},
			wantTotal: 35 * time.Millisecond,
			want:      []LabelCPU{{"a.B/D", 20 * time.Millisecond}, {"a.B/C", 15 * time.Millisecond}},
		},
		{
			name: "no label or another label counts under the empty value",
			samples: [][]byte{
				sampleOf(true, []uint64{1, 3 * ms}),
				sampleOf(true, []uint64{1, 4 * ms}, [2]uint64{4, 5}),
			},
			wantTotal: 7 * time.Millisecond,
			want:      []LabelCPU{{"", 7 * time.Millisecond}},
		},
		{
			name: "ties by value",
			samples: [][]byte{
				sampleOf(true, []uint64{1, ms}, [2]uint64{1, 3}),
				sampleOf(true, []uint64{1, ms}, [2]uint64{1, 2}),
			},
			wantTotal: 2 * time.Millisecond,
			want:      []LabelCPU{{"a.B/C", time.Millisecond}, {"a.B/D", time.Millisecond}},
		},
		{
			name: "string indexes out of the table are ignored",
			samples: [][]byte{
				sampleOf(true, []uint64{1, ms}, [2]uint64{1, 99}),
				sampleOf(true, []uint64{1, ms}, [2]uint64{99, 2}),
			},
			wantTotal: 2 * time.Millisecond,
			want:      []LabelCPU{{"", 2 * time.Millisecond}},
		},
		{
			name:    "a sample of one value has no CPU time",
			samples: [][]byte{sampleOf(true, []uint64{1}, [2]uint64{1, 2})},
			want:    []LabelCPU{{"a.B/C", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, got, err := CPUByLabel(bytes.NewReader(profile(t, strs, tt.samples...)), "grpc.method")
			if err != nil {
				t.Fatal(err)
			}
			if total != tt.wantTotal || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CPUByLabel = %v, %v; want %v, %v", total, got, tt.wantTotal, tt.want)
			}
		})
	}
}

func TestCPUByLabelRejectsGarbage(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"not gzip", []byte("not gzip")},
		{"truncated gzip", gzipped(t, []byte("profile"))[:10]},
		{"bad tag", gzipped(t, []byte{0xff})},
		{"length past the end", gzipped(t, protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.BytesType), 100))},
		{"bad packed varint", profile(t, nil, protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{0x80}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := CPUByLabel(bytes.NewReader(tt.in), "k"); err == nil || !strings.HasPrefix(err.Error(), "debugz: read CPU profile: ") {
				t.Errorf("CPUByLabel(%q) error = %v; want a debugz: read CPU profile error", tt.in, err)
			}
		})
	}
}

// withStack adds the location IDs of a stack, innermost first, to an
// encoded sample.
func withStack(s []byte, locs ...uint64) []byte {
	for _, l := range locs {
		s = protowire.AppendTag(s, 1, protowire.VarintType)
		s = protowire.AppendVarint(s, l)
	}
	return s
}

// message encodes the varint fields of a message, with nested ones
// (field number → its encoded messages) after them.
func message(varints map[protowire.Number]uint64, nested map[protowire.Number][][]byte) []byte {
	var b []byte
	for _, n := range slices.Sorted(maps.Keys(varints)) {
		b = protowire.AppendTag(b, n, protowire.VarintType)
		b = protowire.AppendVarint(b, varints[n])
	}
	for _, n := range slices.Sorted(maps.Keys(nested)) {
		for _, m := range nested[n] {
			b = protowire.AppendTag(b, n, protowire.BytesType)
			b = protowire.AppendBytes(b, m)
		}
	}
	return b
}

// TestReadTopFunctions: each label value's samples, and the functions they
// spent the most time in, flat (innermost frame, an inlined call counting
// as its own function) and cumulative (anywhere on the stack, once per
// sample, even when recursive).
func TestReadTopFunctions(t *testing.T) {
	strs := []string{"", "grpc.method", "a.B/C", "main.hash", "main.handle", "main.inlined"}
	const ms = uint64(time.Millisecond)
	line := func(fn uint64) []byte { return message(map[protowire.Number]uint64{1: fn}, nil) }
	var b []byte
	for _, s := range [][]byte{
		withStack(sampleOf(true, []uint64{1, 10 * ms}, [2]uint64{1, 2}), 1, 2),    // hash ← handle
		withStack(sampleOf(true, []uint64{1, 10 * ms}, [2]uint64{1, 2}), 1, 2, 2), // hash ← handle ← handle
		withStack(sampleOf(true, []uint64{1, 5 * ms}, [2]uint64{1, 2}), 3),        // inlined into handle
		withStack(sampleOf(true, []uint64{1, 4 * ms}), 2),                         // handle, unlabelled
	} {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	}
	for _, loc := range [][]byte{
		message(map[protowire.Number]uint64{1: 1}, map[protowire.Number][][]byte{4: {line(10)}}),
		message(map[protowire.Number]uint64{1: 2}, map[protowire.Number][][]byte{4: {line(11)}}),
		message(map[protowire.Number]uint64{1: 3}, map[protowire.Number][][]byte{4: {line(12), line(11)}}),
	} {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, loc)
	}
	for id, name := range map[uint64]uint64{10: 3, 11: 4, 12: 5} {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, message(map[protowire.Number]uint64{1: id, 2: name}, nil))
	}
	for _, s := range strs {
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	p, err := Read(bytes.NewReader(gzipped(t, b)), "grpc.method", 2)
	if err != nil {
		t.Fatal(err)
	}
	d := func(n uint64) time.Duration { return time.Duration(n * ms) }
	want := Profile{Total: d(29), Samples: 4, ByValue: []LabelProfile{
		{LabelCPU: LabelCPU{"a.B/C", d(25)}, Samples: 3, Top: []FuncCPU{{"main.hash", d(20), d(20)}, {"main.inlined", d(5), d(5)}}},
		{LabelCPU: LabelCPU{"", d(4)}, Samples: 1, Top: []FuncCPU{{"main.handle", d(4), d(4)}}},
	}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Read = %+v;\nwant %+v", p, want)
	}
	all, err := Read(bytes.NewReader(gzipped(t, b)), "grpc.method", 10)
	if err != nil || len(all.ByValue) == 0 || len(all.ByValue[0].Top) != 3 || all.ByValue[0].Top[2] != (FuncCPU{"main.handle", 0, d(25)}) {
		t.Errorf("Read with room for all = %+v, %v; want main.handle third, 0 flat and 25ms cumulative", all, err)
	}
}
