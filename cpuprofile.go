package debugz

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/grpcstats"
	"google.golang.org/protobuf/encoding/protowire"
)

// cpuByMethod takes a CPU profile of the whole process for d, or until ctx
// is done, and sums its CPU time by the method label that
// grpcstats.WithProfilerLabels puts on server goroutines. It fails when
// another CPU profile is running (this handler's or /debug/pprof/profile's).
func cpuByMethod(ctx context.Context, busy *atomic.Bool, d time.Duration) (view.CPUProfile, error) {
	if !busy.CompareAndSwap(false, true) {
		return view.CPUProfile{}, view.ErrProfiling
	}
	defer busy.Store(false)
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return view.CPUProfile{}, fmt.Errorf("%w (%v)", view.ErrProfiling, err)
	}
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	pprof.StopCPUProfile()
	p, err := parseCPUProfile(&buf, grpcstats.LabelMethod)
	p.Start, p.Duration = start, time.Since(start)
	return p, err
}

// parseCPUProfile reads a gzipped profile.proto CPU profile (see
// github.com/google/pprof/proto/profile.proto) and sums its samples' CPU
// time by the value of the string label key; samples without it count
// under "". It reads only the fields it needs, with protowire.
func parseCPUProfile(r io.Reader, key string) (view.CPUProfile, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return view.CPUProfile{}, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return view.CPUProfile{}, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	type sample struct {
		nanos  int64
		labels [][2]int64 // key, str: indexes into the string table
	}
	var strs []string
	var samples []sample
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
	if err != nil {
		return view.CPUProfile{}, fmt.Errorf("debugz: read CPU profile: %w", err)
	}
	byMethod := map[string]time.Duration{}
	var total time.Duration
	for _, s := range samples {
		method := ""
		for _, l := range s.labels {
			if l[0] < int64(len(strs)) && l[1] < int64(len(strs)) && strs[l[0]] == key {
				method = strs[l[1]]
			}
		}
		byMethod[method] += time.Duration(s.nanos)
		total += time.Duration(s.nanos)
	}
	p := view.CPUProfile{Total: total}
	for m, d := range byMethod {
		p.Methods = append(p.Methods, view.MethodCPU{Method: m, CPU: d})
	}
	slices.SortFunc(p.Methods, func(a, b view.MethodCPU) int {
		return cmp.Or(cmp.Compare(b.CPU, a.CPU), cmp.Compare(a.Method, b.Method))
	})
	return p, nil
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
