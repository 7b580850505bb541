package grpcstats

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/debugz/debugz/internal/redact"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

const (
	captureEach     = 2       // first and last messages captured per direction
	captureMaxBytes = 1 << 10 // per captured message text
	ellipsis        = "…"
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

// captureText formats m for [AttrMessageText]: multi-line prototext with
// credential-like fields redacted, cut on a rune boundary to
// [captureMaxBytes], an ellipsis included.
func captureText(m proto.Message) string {
	s := redactText(prototext.MarshalOptions{Multiline: true, Indent: "  "}.Format(m))
	if len(s) <= captureMaxBytes {
		return s
	}
	i := captureMaxBytes - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
}

// redactText replaces, in a multi-line prototext rendering, the value of every
// field whose name looks like a credential ([redact.Sensitive]) with
// [redact.Marker], a whole sub-message included, and the value of a map entry
// whose key looks like one.
func redactText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	depth := 0     // of the line being read
	skip := 0      // > 0 inside a redacted sub-message
	keyDepth := -1 // depth of the map entry whose key is sensitive
	for line := range strings.Lines(s) {
		t := strings.TrimSpace(line)
		opens, closes := strings.HasSuffix(t, "{") || strings.HasSuffix(t, "<"), t == "}" || t == ">"
		if skip > 0 {
			if opens {
				skip++
			} else if closes {
				skip--
			}
			continue
		}
		if closes {
			if keyDepth == depth {
				keyDepth = -1
			}
			depth--
			b.WriteString(line)
			continue
		}
		name, value, ok := fieldOf(t)
		if ok && (redact.Sensitive(name) || (name == "value" && keyDepth == depth)) {
			indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
			b.WriteString(indent + name + ": " + redact.Marker + line[len(strings.TrimRight(line, "\r\n")):])
			if opens {
				skip = 1
			}
			continue
		}
		if ok && name == "key" && redact.Sensitive(value) {
			keyDepth = depth
		}
		if opens {
			depth++
		}
		b.WriteString(line)
	}
	return b.String()
}

// fieldOf splits a trimmed prototext line, `name: value`, `name: {` or
// `[ext.name]: value`, into its field name and value.
func fieldOf(t string) (name, value string, ok bool) {
	var i int
	if strings.HasPrefix(t, "[") {
		i = strings.IndexByte(t, ']') + 1
	} else {
		i = strings.IndexAny(t, ": {<")
	}
	if i <= 0 {
		return "", "", false
	}
	value = strings.TrimSpace(t[i:])
	value = strings.TrimSpace(strings.TrimPrefix(value, ":"))
	return t[:i], value, true
}
