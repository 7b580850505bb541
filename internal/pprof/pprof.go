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
	p, err := Read(r, key, 0)
	for _, v := range p.ByValue {
		byValue = append(byValue, v.LabelCPU)
	}
	return p.Total, byValue, err
}

// Profile is a CPU profile summed by the values of a label.
type Profile struct {
	Total   time.Duration
	Samples int
	ByValue []LabelProfile // most CPU first, ties by value
}

// LabelProfile is the CPU time of one value of the label, its samples, and
// the functions those samples spent the most time in.
type LabelProfile struct {
	LabelCPU
	Samples int
	Top     []FuncCPU // most flat CPU first (ties by cumulative, then name)
}

// FuncCPU is a function's CPU time in some samples: Flat in the function
// itself (it was the innermost frame), Cum in it and what it called.
type FuncCPU struct {
	Function  string
	Flat, Cum time.Duration
}

// Read reads a gzipped profile.proto CPU profile and sums its samples' CPU
// time by the value of the string label key (samples without it count
// under ""), with each value's top functions, at most top of them.
func Read(r io.Reader, key string, top int) (Profile, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return Profile{}, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return Profile{}, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	pr, err := parse(b)
	if err != nil {
		return Profile{}, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	type sums struct {
		LabelProfile
		funcs map[string]*FuncCPU
	}
	byValue := map[string]*sums{}
	var p Profile
	for _, s := range pr.samples {
		value := ""
		for _, l := range s.labels {
			if l[0] < int64(len(pr.strs)) && l[1] < int64(len(pr.strs)) && pr.strs[l[0]] == key {
				value = pr.strs[l[1]]
			}
		}
		v := byValue[value]
		if v == nil {
			v = &sums{LabelProfile: LabelProfile{LabelCPU: LabelCPU{Value: value}}, funcs: map[string]*FuncCPU{}}
			byValue[value] = v
		}
		d := time.Duration(s.nanos)
		v.CPU += d
		v.Samples++
		p.Total += d
		p.Samples++
		if top > 0 {
			pr.addStack(v.funcs, s.locations, d)
		}
	}
	for _, v := range byValue {
		for _, f := range v.funcs {
			v.Top = append(v.Top, *f)
		}
		slices.SortFunc(v.Top, func(a, b FuncCPU) int {
			return cmp.Or(cmp.Compare(b.Flat, a.Flat), cmp.Compare(b.Cum, a.Cum), cmp.Compare(a.Function, b.Function))
		})
		v.Top = v.Top[:min(len(v.Top), top)]
		p.ByValue = append(p.ByValue, v.LabelProfile)
	}
	slices.SortFunc(p.ByValue, func(a, b LabelProfile) int {
		return cmp.Or(cmp.Compare(b.CPU, a.CPU), cmp.Compare(a.Value, b.Value))
	})
	return p, nil
}

// addStack adds d to the flat time of the innermost function of the stack
// locs (location IDs, innermost first) and to the cumulative time of every
// function on it, once each.
func (pr *parsed) addStack(funcs map[string]*FuncCPU, locs []uint64, d time.Duration) {
	seen := map[string]bool{}
	for i, id := range locs {
		for j, fn := range pr.locations[id] { // inlined calls first
			name := pr.funcName(fn)
			f := funcs[name]
			if f == nil {
				f = &FuncCPU{Function: name}
				funcs[name] = f
			}
			if i == 0 && j == 0 {
				f.Flat += d
			}
			if !seen[name] {
				seen[name] = true
				f.Cum += d
			}
		}
	}
}

// funcName is the name of function id, "?" when the profile does not say.
func (pr *parsed) funcName(id uint64) string {
	if n, ok := pr.functions[id]; ok && n >= 0 && n < int64(len(pr.strs)) && pr.strs[n] != "" {
		return pr.strs[n]
	}
	return "?"
}

// sample is a profile sample: its CPU time, its stack and its string labels.
type sample struct {
	nanos     int64
	locations []uint64   // location IDs, innermost first
	labels    [][2]int64 // key, str: indexes into the string table
}

// parsed is what parse reads of a profile.
type parsed struct {
	strs      []string
	samples   []sample
	locations map[uint64][]uint64 // location ID → its functions' IDs, innermost (inlined) first
	functions map[uint64]int64    // function ID → its name's index in strs
}

// parse reads the string table, the samples, the locations and the
// functions of an uncompressed profile.
func parse(b []byte) (*parsed, error) {
	pr := &parsed{locations: map[uint64][]uint64{}, functions: map[uint64]int64{}}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 6: // string_table
			pr.strs = append(pr.strs, string(v))
		case 2: // sample
			s, err := parseSample(v)
			pr.samples = append(pr.samples, s)
			return err
		case 4: // location
			return parseLocation(v, pr.locations)
		case 5: // function
			var id uint64
			var name int64
			err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if typ == protowire.VarintType {
					n, _ := protowire.ConsumeVarint(v)
					switch num {
					case 1:
						id = n
					case 2:
						name = int64(n)
					}
				}
				return nil
			})
			pr.functions[id] = name
			return err
		}
		return nil
	})
	return pr, err
}

// parseSample reads a Sample message.
func parseSample(b []byte) (sample, error) {
	var s sample
	var vals []uint64 // [samples, nanoseconds]
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType: // location_id, packed
			more, err := varints(v)
			s.locations = append(s.locations, more...)
			return err
		case num == 1 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			s.locations = append(s.locations, n)
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
	return s, err
}

// parseLocation reads a Location message into locations: its ID and the
// functions of its lines.
func parseLocation(b []byte, locations map[uint64][]uint64) error {
	var id uint64
	var funcs []uint64
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			id, _ = protowire.ConsumeVarint(v)
		case num == 4 && typ == protowire.BytesType: // line
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if num == 1 && typ == protowire.VarintType {
					n, _ := protowire.ConsumeVarint(v)
					funcs = append(funcs, n)
				}
				return nil
			})
		}
		return nil
	})
	locations[id] = funcs
	return err
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
