package debugz

import (
	"fmt"
	"testing"
)

// BenchmarkSourceSummary measures what the pages pay for a summary of 1,000
// methods before rendering it: the processor's Summary and its conversion
// to the pages' rows (redacted names, codes as a list), since start and with
// the time windows.
func BenchmarkSourceSummary(b *testing.B) {
	const methods = 1000
	sp, _ := youngRows(methods)
	cfg := newHandlerConfig(nil)
	src := newSource(sp, &cfg)
	for _, windows := range []bool{false, true} {
		b.Run(fmt.Sprintf("methods=%d/windows=%v", methods, windows), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if s := src.Summary(windows); len(s.Methods) != methods {
					b.Fatalf("%d rows; want %d", len(s.Methods), methods)
				}
			}
		})
	}
}
