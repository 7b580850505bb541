package debugz

import (
	"bytes"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/web"
)

// maxStackBytes bounds the goroutine stacks shown for one RPC.
const maxStackBytes = 64 << 10

// goroutinesOf returns the stacks of the goroutines labelled with span ID id
// by grpcstats.WithProfilerLabels: where a running RPC's handler, and the
// goroutines it started, are now. It takes a goroutine dump, which stops
// the world briefly; it runs only when a running RPC's page is opened.
func goroutinesOf(id string) []web.Goroutine {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return nil
	}
	return parseGoroutines(buf.String(), `"`+grpcstats.LabelSpanID+`":"`+id+`"`)
}

// parseGoroutines reads a goroutine dump in the text format of debug=1
// (records of "N @ addresses", "# labels: {…}" and "#\taddr\tfunc+off\tfile:line"
// lines, separated by blank lines) and returns the records whose labels
// contain label, within maxStackBytes.
func parseGoroutines(dump, label string) []web.Goroutine {
	var out []web.Goroutine
	size := 0
	for rec := range strings.SplitSeq(dump, "\n\n") {
		lines := strings.Split(rec, "\n")
		for len(lines) > 0 && !strings.Contains(lines[0], " @ ") { // the dump's header, before the first record
			lines = lines[1:]
		}
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "# labels: ") || !strings.Contains(lines[1], label) {
			continue
		}
		n, _, _ := strings.Cut(lines[0], " ")
		g := web.Goroutine{}
		g.Count, _ = strconv.Atoi(n)
		for _, l := range lines[2:] {
			f := strings.Split(l, "\t")
			if len(f) < 4 || f[0] != "#" {
				continue
			}
			fn := f[2]
			if i := strings.LastIndex(fn, "+0x"); i > 0 {
				fn = fn[:i]
			}
			frame := fn + "\n\t" + strings.TrimSpace(f[3])
			if size += len(frame); size > maxStackBytes {
				g.Frames = append(g.Frames, "…")
				return append(out, g)
			}
			g.Frames = append(g.Frames, frame)
		}
		out = append(out, g)
	}
	return out
}
