package debugz

import (
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/goroutines"
	"github.com/debugz/debugz/internal/view"
)

// maxStackBytes bounds the goroutine stacks shown for one RPC.
const maxStackBytes = 64 << 10

// goroutinesOf returns the stacks of the goroutines labelled with span ID id
// by grpcstats.WithProfilerLabels: where a running RPC's handler, and the
// goroutines it started, are now. It takes a goroutine dump; it runs only
// when a running RPC's page is opened.
func goroutinesOf(id string) []view.Goroutine {
	var out []view.Goroutine
	for _, s := range goroutines.Labelled(grpcstats.LabelSpanID, id, maxStackBytes) {
		out = append(out, view.Goroutine(s))
	}
	return out
}
