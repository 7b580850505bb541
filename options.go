package debugz

import (
	"slices"
	"time"

	"github.com/debugz/debugz/internal/rpcmethod"
)

// Defaults of the capture engine. Each is documented on the option that changes it.
const (
	defaultMaxSpans          = 8192
	defaultMaxOtherSpans     = 2048
	defaultMaxSpansPerBucket = 10
	defaultMaxMethods        = 512
	defaultMaxActive         = 10000
	defaultMaxSpanBytes      = 16 << 10
	defaultMaxActiveAge      = time.Hour
)

// OverflowMethod is the method name of the row that counts the RPCs of every
// (method, kind) beyond [WithMaxMethods]. Its spans keep their real method.
const OverflowMethod = "(overflow)"

// defaultBucketBounds returns the default lower bounds of the latency
// buckets: 0, 100µs, 1ms, 10ms, 100ms, 1s and 10s.
func defaultBucketBounds() []time.Duration {
	return []time.Duration{0, 100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond,
		100 * time.Millisecond, time.Second, 10 * time.Second}
}

// DefaultIgnoredMethods returns the methods ignored unless [WithIgnoredMethods]
// says otherwise: the gRPC health service.
func DefaultIgnoredMethods() []string { return []string{"grpc.health.v1.Health/*"} }

type config struct {
	capacity      int
	otherCapacity int
	reservoirSize int
	maxMethods    int
	maxActive     int
	maxSpanBytes  int
	maxActiveAge  time.Duration
	bounds        []int64 // ns, ascending, bounds[0] == 0
	ignored       []string
}

func newConfig(opts []Option) config {
	c := config{
		capacity:      defaultMaxSpans,
		otherCapacity: defaultMaxOtherSpans,
		reservoirSize: defaultMaxSpansPerBucket,
		maxMethods:    defaultMaxMethods,
		maxActive:     defaultMaxActive,
		maxSpanBytes:  defaultMaxSpanBytes,
		maxActiveAge:  defaultMaxActiveAge,
		ignored:       DefaultIgnoredMethods(),
	}
	c.bounds = boundsNanos(defaultBucketBounds())
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// Option configures a [SpanProcessor].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// positive returns n, or def when n is zero or negative.
func positive(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// WithMaxSpans sets how many of the most recent gRPC spans are kept in the
// recent ring. The default value is 8192.
func WithMaxSpans(n int) Option {
	return optionFunc(func(c *config) { c.capacity = positive(n, defaultMaxSpans) })
}

// WithMaxOtherSpans sets how many of the most recent non-gRPC spans (a handler's
// own child spans) are kept so that a trace can be shown whole. The default
// value is 2048.
func WithMaxOtherSpans(n int) Option {
	return optionFunc(func(c *config) { c.otherCapacity = positive(n, defaultMaxOtherSpans) })
}

// WithMaxSpansPerBucket sets how many of the most recent spans are kept per
// (method, kind) for each latency bucket and for each non-OK status code,
// independently of the main ring, so that a hot method cannot evict the one
// failure of a quiet method. The default value is 10.
func WithMaxSpansPerBucket(n int) Option {
	return optionFunc(func(c *config) { c.reservoirSize = positive(n, defaultMaxSpansPerBucket) })
}

// WithMaxMethods caps the number of distinct (method, kind) rows. RPCs beyond
// the cap are counted in a row named [OverflowMethod]. The default value is
// 512.
func WithMaxMethods(n int) Option {
	return optionFunc(func(c *config) { c.maxMethods = positive(n, defaultMaxMethods) })
}

// WithMaxActive caps the number of in-flight RPCs tracked for the in-flight
// view. RPCs started beyond the cap are still captured when they end. The
// default value is 10000.
func WithMaxActive(n int) Option {
	return optionFunc(func(c *config) { c.maxActive = positive(n, defaultMaxActive) })
}

// WithMaxActiveAge sets how long an RPC is listed as in flight without
// ending. Past it, the RPC is forgotten and counted in
// [Summary.ActiveEvicted]: grpc-go starts a server span for a call to an
// unknown method and never ends it, and such phantoms must not stay listed
// for good. The default value is one hour; a stream that legitimately runs
// longer is still captured when it ends.
func WithMaxActiveAge(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.maxActiveAge = d
		}
	})
}

// WithMaxSpanBytes caps the bytes a kept span holds: its name, status
// message, attributes, events and links, counted as held in memory (each
// attribute, event and link the size of the SDK's struct, plus its
// strings). A span over the cap is kept as a truncated copy (its long values
// cut, its [Span.Truncated] set); a span under it is kept as the SDK handed
// it over, without a copy. The default value is 16 KiB.
func WithMaxSpanBytes(n int) Option {
	return optionFunc(func(c *config) { c.maxSpanBytes = positive(n, defaultMaxSpanBytes) })
}

// WithBucketBounds sets the lower bounds of the latency buckets. Bounds are
// sorted and deduplicated, and 0 is added when missing, so the buckets are
// disjoint and cover every duration. An empty list keeps the default: 0,
// 100µs, 1ms, 10ms, 100ms, 1s and 10s.
func WithBucketBounds(bounds ...time.Duration) Option {
	return optionFunc(func(c *config) {
		if len(bounds) > 0 {
			c.bounds = boundsNanos(bounds)
		}
	})
}

// WithIgnoredMethods replaces the list of methods whose spans are dropped
// without being counted. An entry is a full method ("pkg.Service/Method") or a
// whole service ("pkg.Service/*"). Calling it with no entries ignores nothing.
// The default is [DefaultIgnoredMethods], the gRPC health service.
func WithIgnoredMethods(methods ...string) Option {
	return optionFunc(func(c *config) { c.ignored = slices.Clone(methods) })
}

func boundsNanos(bounds []time.Duration) []int64 {
	ns := []int64{0}
	for _, b := range bounds {
		if b > 0 {
			ns = append(ns, int64(b))
		}
	}
	slices.Sort(ns)
	return slices.Compact(ns)
}

// ignores reports whether method matches the ignore list.
func (c *config) ignores(method string) bool { return rpcmethod.Match(c.ignored, method) }
