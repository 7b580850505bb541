// Package goroutines reads the goroutines carrying a profiler label out of a
// goroutine dump: where a running RPC's goroutines are now. It is the one
// reader of the dump's text format, for the pages of the root package and
// for grpcstats' capture of slow RPCs' stacks.
package goroutines

import (
	"bytes"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Stack is a stack that Count goroutines share, innermost call first: each
// frame is a function, a newline, a tab and its file:line.
type Stack struct {
	Count  int
	Frames []string
}

// Labelled returns the stacks of the goroutines whose profiler labels hold
// key=value, within maxBytes of frames. It takes a goroutine dump of its
// own, which stops the world briefly and costs CPU in proportion to the
// goroutines: call it on request, not on every RPC.
func Labelled(key, value string, maxBytes int) []Stack {
	return Parse(dump(), label(key, value), maxBytes)
}

// Shared is Labelled over the process's shared dump, and when that dump was
// taken: a dump serves every caller for Reuse, and only one is taken at a
// time (callers meanwhile wait for it), so that any number of people
// watching running calls cost at most one dump a second. A dump taken
// before notBefore (the call's start) cannot show the call: a new one is
// taken.
func Shared(key, value string, maxBytes int, notBefore time.Time) ([]Stack, time.Time) {
	d, at := shared.get(notBefore)
	return Parse(d, label(key, value), maxBytes), at
}

// Reuse is how long one shared dump serves every caller of Shared; after
// 2×Reuse unused it is dropped, so that its text is not kept for good.
const Reuse = time.Second

// shared is the process's shared dump: the goroutines are the process's,
// whichever handler asks.
var shared = sharedDump{take: dump}

type sharedDump struct {
	take  func() string
	mu    sync.Mutex // held while a dump is taken: one at a time
	text  string
	at    time.Time
	clear *time.Timer // drops text once unused
}

func (s *sharedDump) get(notBefore time.Time) (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.text == "" || time.Since(s.at) >= Reuse || s.at.Before(notBefore) {
		s.text, s.at = s.take(), time.Now()
		if s.clear == nil {
			s.clear = time.AfterFunc(2*Reuse, s.drop)
		} else {
			s.clear.Reset(2 * Reuse)
		}
	}
	return s.text, s.at
}

// drop forgets the dump's text.
func (s *sharedDump) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.text = ""
}

// dump is a goroutine dump in the text format of debug=1; "" if it failed.
func dump() string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return ""
	}
	return buf.String()
}

// label is how a dump's labels line spells key=value.
func label(key, value string) string { return strconv.Quote(key) + ":" + strconv.Quote(value) }

// Parse reads a goroutine dump in the text format of debug=1 (records of
// "N @ addresses", "# labels: {…}" and "#\taddr\tfunc+off\tfile:line" lines,
// separated by blank lines) and returns the records whose labels line
// contains label, within maxBytes of frames: past it, a last frame "…".
func Parse(dump, label string, maxBytes int) []Stack {
	var out []Stack
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
		var s Stack
		s.Count, _ = strconv.Atoi(n)
		for _, l := range lines[2:] {
			f := strings.Split(l, "\t")
			if len(f) < 4 || f[0] != "#" {
				continue
			}
			fn := f[2]
			if i := strings.LastIndex(fn, "+0x"); i > 0 {
				fn = fn[:i]
			}
			frame := fn + "\n\t" + strings.TrimSpace(f[len(f)-1]) // tabs align the file:line column
			if size += len(frame); size > maxBytes {
				s.Frames = append(s.Frames, "…")
				return append(out, s)
			}
			s.Frames = append(s.Frames, frame)
		}
		out = append(out, s)
	}
	return out
}

// Text writes stacks as one text: each stack's count, then its frames.
func Text(stacks []Stack) string {
	var b strings.Builder
	for i, s := range stacks {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strconv.Itoa(s.Count))
		if s.Count == 1 {
			b.WriteString(" goroutine:\n")
		} else {
			b.WriteString(" goroutines:\n")
		}
		for _, f := range s.Frames {
			b.WriteString(f)
			b.WriteString("\n")
		}
	}
	return b.String()
}
