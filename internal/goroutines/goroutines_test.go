package goroutines

import (
	"context"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	dump := "goroutine profile: total 4\n" +
		"2 @ 0x1 0x2\n# labels: {\"grpc.method\":\"a.B/C\", \"span_id\":\"00f067aa0ba902b7\"}\n" +
		"#\t0x1\tmain.wait+0x55\t/src/main.go:42\n#\t0x2\tmain.handler+0x10\t\t\t/src/main.go:30\n\n" +
		"1 @ 0x3\n# labels: {\"span_id\":\"ffffffffffffffff\"}\n#\t0x3\tmain.other+0x1\t/src/o.go:1\n\n" +
		"1 @ 0x4\n#\t0x4\truntime.gopark+0x1\t/go/proc.go:1\n"
	got := Parse(dump, `"span_id":"00f067aa0ba902b7"`, 64<<10)
	if len(got) != 1 || got[0].Count != 2 || len(got[0].Frames) != 2 || got[0].Frames[0] != "main.wait\n\t/src/main.go:42" || got[0].Frames[1] != "main.handler\n\t/src/main.go:30" {
		t.Errorf("Parse = %+v; want the one labelled record, 2 goroutines, 2 frames", got)
	}
	var huge strings.Builder
	huge.WriteString("1 @ 0x1\n# labels: {\"span_id\":\"ab\"}\n")
	for range 5000 {
		huge.WriteString("#\t0x1\tpkg.deep+0x1\t/src/deep.go:1\n")
	}
	got = Parse(huge.String(), `"span_id":"ab"`, 64<<10)
	if n := len(got[0].Frames); n == 0 || n > (64<<10)/20 || got[0].Frames[n-1] != "…" {
		t.Errorf("a 5000-frame stack kept %d frames; want it cut within %d bytes, ending in …", n, 64<<10)
	}
}

// TestSharedDumpServesEveryCaller: callers within Reuse of a dump share it,
// and callers that come while one is being taken wait for it rather than
// take their own: one dump in flight at a time.
func TestSharedDumpServesEveryCaller(t *testing.T) {
	var taken, inFlight, most atomic.Int32
	s := sharedDump{take: func() string {
		taken.Add(1)
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond) // a dump of many goroutines takes a while
		inFlight.Add(-1)
		return "1 @ 0x1\n# labels: {\"span_id\":\"ab\"}\n#\t0x1\tmain.f+0x1\t/src/f.go:1\n"
	}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if d, _ := s.get(time.Time{}); !strings.Contains(d, "main.f") {
					t.Errorf("get = %q; want the dump", d)
				}
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 1 {
		t.Errorf("40 calls within a second took %d dumps; want 1", n)
	}
	if n := most.Load(); n != 1 {
		t.Errorf("%d dumps were in flight at once; want 1", n)
	}
	s.mu.Lock()
	s.at = time.Now().Add(-Reuse) // a second later
	s.mu.Unlock()
	s.get(time.Time{})
	if n := taken.Load(); n != 2 {
		t.Errorf("a call after Reuse took %d dumps in all; want a second one", n)
	}
	s.drop()
	if s.text != "" {
		t.Errorf("drop kept the dump's text")
	}
}

// TestSharedFindsLabelledGoroutine: Shared reads a real dump of this
// process, and finds a goroutine by its labels.
func TestSharedFindsLabelledGoroutine(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	shared.get(time.Time{}) // a dump from before the goroutine started
	begun := time.Now()
	go pprof.Do(context.Background(), pprof.Labels("span_id", "feedfacefeedface"), func(context.Context) {
		close(started)
		<-release
	})
	<-started
	defer close(release)
	stacks, at := Shared("span_id", "feedfacefeedface", 64<<10, begun) // takes a new one

	if len(stacks) != 1 || stacks[0].Count != 1 || at.IsZero() {
		t.Errorf("Shared = %+v at %v; want the one labelled goroutine", stacks, at)
	}
}
