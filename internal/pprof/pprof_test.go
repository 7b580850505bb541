package pprof

import (
	"bytes"
	"compress/gzip"
	"reflect"
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
