package grpcstats

import (
	"slices"
	"time"
)

// defaultTimeline is how many of the first and of the last messages of each
// streaming direction WrapHandler records unless WithMessageTimeline says
// otherwise.
const defaultTimeline = 8

type config struct {
	timeline  int             // first and last messages per streaming direction
	capture   []string        // method patterns whose messages are captured as text
	labels    bool            // label server RPC goroutines (WithProfilerLabels)
	progress  ProgressTracker // told of each RPC as it starts (WithProgress)
	slowAfter time.Duration   // capture the stacks of server RPCs that run longer (WithSlowStacks)
}

func newConfig(opts []Option) config {
	cfg := config{timeline: defaultTimeline}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	return cfg
}

// Option configures [WrapHandler]. An Option is immutable: one may be reused
// for several handlers, from any goroutine.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMessageTimeline sets how many of the first and of the last messages of
// each streaming direction of an RPC are recorded as "message" span
// events: with n = 8, a stream of 30 messages each way gets events for
// messages 1–8 and 23–30 of each direction. The default value is 8; a
// negative n keeps it, and an n above 65536 counts as 65536. Zero records no events (the counts and byte sums are
// still set): use it when the wrapped handler emits message events itself, as
// otelgrpc before v0.67 does with its WithMessageEvents option.
//
// Memory: a streaming direction of an in-flight RPC holds 2n slots of 24
// bytes (768 bytes for a bidi stream at the default).
func WithMessageTimeline(n int) Option {
	return optionFunc(func(c *config) {
		if n >= 0 {
			c.timeline = n
		}
	})
}

// WithMessageCapture records, for the listed methods, the text of the first
// and the last 2 messages of each direction of an RPC as the message.text
// attribute of their "message" events (added even when the timeline is
// shorter or off, and for unary RPCs). An entry is a full method
// ("pkg.Service/Method") or a whole service ("pkg.Service/*"). The text is the
// prototext of the message (other payloads are not captured), redacted field
// by field as the package documentation says, cut to 1 KiB. The default is to capture nothing, as does
// calling it with no entries.
//
// Memory and cost: an in-flight captured RPC holds up to 8 texts of at most
// 1 KiB; every message of a captured method is formatted as it passes, since
// any could turn out to be one of the last two. Leave capture off for hot or
// large-message methods.
func WithMessageCapture(methods ...string) Option {
	methods = slices.Clone(methods)
	return optionFunc(func(c *config) { c.capture = methods })
}
