// Package pprof reads CPU profiles in the profile.proto format that
// runtime/pprof writes (see github.com/google/pprof/proto/profile.proto):
// only the fields it needs, with protowire, so that debugz does not depend
// on a profile library.
package pprof

import (
	"cmp"
	"compress/gzip"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// LabelCPU is the CPU time of the samples that carry one value of a label.
type LabelCPU struct {
	Value string // "" for the samples without the label
	CPU   time.Duration
}

// CPUByLabel reads a gzipped profile.proto CPU profile and sums its samples'
// CPU time by the value of the string label key; samples without it count
// under "". It returns the total CPU time and the sums, most CPU first (ties
// by value).
func CPUByLabel(r io.Reader, key string) (total time.Duration, byValue []LabelCPU, err error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return 0, nil, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return 0, nil, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	strs, samples, err := parse(b)
	if err != nil {
		return 0, nil, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	sums := map[string]time.Duration{}
	for _, s := range samples {
		value := ""
		for _, l := range s.labels {
			if l[0] < int64(len(strs)) && l[1] < int64(len(strs)) && strs[l[0]] == key {
				value = strs[l[1]]
			}
		}
		sums[value] += time.Duration(s.nanos)
		total += time.Duration(s.nanos)
	}
	for v, d := range sums {
		byValue = append(byValue, LabelCPU{Value: v, CPU: d})
	}
	slices.SortFunc(byValue, func(a, b LabelCPU) int {
		return cmp.Or(cmp.Compare(b.CPU, a.CPU), cmp.Compare(a.Value, b.Value))
	})
	return total, byValue, nil
}

// sample is a profile sample: its CPU time and its string labels.
type sample struct {
	nanos  int64
	labels [][2]int64 // key, str: indexes into the string table
}

// parse reads the string table and the samples of an uncompressed profile.
func parse(b []byte) (strs []string, samples []sample, err error) {
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 6 && typ == protowire.BytesType: // string_table
			strs = append(strs, string(v))
		case num == 2 && typ == protowire.BytesType: // sample
			var s sample
			var vals []uint64 // [samples, nanoseconds]
			err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				switch {
				case num == 2 && typ == protowire.BytesType: // value, packed
					more, err := varints(v)
					vals = append(vals, more...)
					return err
				case num == 2 && typ == protowire.VarintType: // value, unpacked: Go writes two values so
					n, _ := protowire.ConsumeVarint(v)
					vals = append(vals, n)
				case num == 3 && typ == protowire.BytesType: // label
					var l [2]int64
					err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
						if typ == protowire.VarintType && (num == 1 || num == 2) {
							n, _ := protowire.ConsumeVarint(v)
							l[num-1] = int64(n)
						}
						return nil
					})
					s.labels = append(s.labels, l)
					return err
				}
				return nil
			})
			if len(vals) >= 2 {
				s.nanos = int64(vals[1])
			}
			samples = append(samples, s)
			return err
		}
		return nil
	})
	return strs, samples, err
}

// eachField calls f with each field of the protobuf message b; for a
// varint field v holds the varint's bytes, for a length-delimited one its
// contents.
func eachField(b []byte, f func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			s, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			v, n = s, m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			v = b[:n]
		}
		if err := f(num, typ, v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// varints decodes a packed repeated varint field.
func varints(b []byte) ([]uint64, error) {
	var out []uint64
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		out = append(out, v)
		b = b[n:]
	}
	return out, nil
}
