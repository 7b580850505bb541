package grpcstats

import (
	"cmp"
	"slices"
	"sync"

	"github.com/debugz/debugz/internal/prototext"
	"google.golang.org/protobuf/proto"
)

const (
	captureEach     = 2       // first and last messages captured per direction
	captureMaxBytes = 1 << 10 // per captured message text
)

// capture keeps the text of the first and last [captureEach] messages of each
// direction of a captured RPC. Its lock is taken once per message, after the
// message has been formatted, and only for captured methods.
type capture struct {
	mu   sync.Mutex
	dirs [2]struct{ first, last [captureEach]msgEvent }
}

// add keeps the text of message e of direction d if it is one of the first
// or, so far, the last ones. Payloads that are not protobuf messages are not
// captured.
func (c *capture) add(d int, e msgEvent, payload any) {
	m, ok := payload.(proto.Message)
	if !ok {
		return
	}
	e.text, e.hasText = captureText(m), true
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := e.id - 1; i < captureEach {
		c.dirs[d].first[i] = e
	} else {
		c.dirs[d].last[i%captureEach] = e
	}
}

// merge gives the events evs[from:] of direction d their captured text, and
// appends the captured messages that the timeline does not hold.
func (c *capture) merge(evs []msgEvent, from, d int) []msgEvent {
	var all [2 * captureEach]msgEvent
	c.mu.Lock()
	copy(all[:], c.dirs[d].first[:])
	copy(all[captureEach:], c.dirs[d].last[:])
	c.mu.Unlock()
	own := len(evs)
next:
	for _, e := range all {
		if !e.hasText {
			continue
		}
		for i := from; i < own; i++ {
			if evs[i].id == e.id {
				evs[i].text, evs[i].hasText = e.text, true
				continue next
			}
		}
		for i := own; i < len(evs); i++ {
			if evs[i].id == e.id {
				continue next // first and last overlap in a short stream
			}
		}
		evs = append(evs, e)
	}
	slices.SortFunc(evs[from:], func(a, b msgEvent) int { return cmp.Compare(a.id, b.id) })
	return evs
}

// captureText formats m for message.text: prototext with credentials
// redacted, at most [captureMaxBytes] (see [prototext.Format]).
func captureText(m proto.Message) string { return prototext.Format(m, captureMaxBytes) }
