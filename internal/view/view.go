// Package view holds what the root package hands the pages for them to
// show: the [Source] the handler reads, its queries and the values it
// returns. It is internal: nothing here is part of debugz's public API.
package view

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// The view models: what the root package hands over for the pages to show.

// Source is what the handler reads. Every method returns copies that the
// handler may keep; all must be safe for concurrent use.
type Source interface {
	// Summary is what every row counted; with windows, each Method's In
	// too (the last minute's and 10 minutes' figures), which costs a read
	// of every row's time slots: only a windowed summary asks for it.
	Summary(windows bool) Summary
	// Methods lists the methods with a row or registered (WithServices),
	// sorted, without computing a Summary.
	Methods() []string
	Spans(q Query) []Span
	// Count is how many retained spans match q, whatever its Limit.
	Count(q Query) int
	// Span returns a retained span, or a call still in flight (Running,
	// without its Goroutines: they cost a goroutine dump, read apart).
	Span(spanID string) (Span, bool)
	// Goroutines returns where a running call's goroutines are (those
	// labelled with its span ID), from a goroutine dump shared by every
	// caller for a second, and when that dump was taken.
	Goroutines(spanID string) ([]Goroutine, time.Time)
	Trace(traceID string) (Trace, bool)
	// TraceOTLP returns the trace as OTLP JSON (an ExportTraceServiceRequest
	// with hex IDs); found is false when no span of it is retained, err
	// non-nil when it could not be encoded.
	TraceOTLP(traceID string) (b []byte, found bool, err error)
	// Active returns at most limit of the calls in flight, the oldest
	// first, and how many are in flight in all.
	Active(limit int) (calls []Active, total int)
	// Process says which process this is, for every page's header.
	Process() Process
	// Logs returns the latest log records matching q, newest first.
	Logs(q LogQuery) []LogEntry
	// FollowLogs is Follow for log records: those matching q since
	// position pos (0: from now), oldest first, at most q.Limit.
	FollowLogs(q LogQuery, pos uint64) (logs []LogEntry, next, skipped uint64)
	// CPUByMethod profiles the process's CPU for d (or until ctx is done)
	// and sums it by gRPC method; it fails while another CPU profile runs.
	CPUByMethod(ctx context.Context, d time.Duration) (CPUProfile, error)
	// Follow returns the spans matching q that ended after position after,
	// oldest first, the position to pass next, and how many spans ended in
	// between that the store no longer holds (a reader that fell behind).
	// After 0 starts from now.
	Follow(q Query, after uint64) (spans []Span, next, skipped uint64)
}

// Query selects spans; it is parsed from the query string of /spans and
// /api/spans. Zero values mean "any", except Bucket and Code where -1 does.
type Query struct {
	Method string
	Kind   string // "", "server" or "client"
	Bucket int    // latency bucket index, -1 for any
	Code   int    // gRPC code, -1 for any
	Errors bool   // any code but OK
	// Side narrows Errors to the server's faults ("fault") or the callers'
	// errors ("caller"); "" for both.
	Side string
	// NearDeadline selects the calls flagged as near their deadline
	// ([Span.NearDeadline]).
	NearDeadline bool
	// Retried selects the client calls that made more than one attempt
	// ([Span.Attempts]).
	Retried bool
	Min     time.Duration
	Max     time.Duration
	Trace   string    // 32 lowercase hex digits, "" for any
	Before  time.Time // spans that ended before it; zero for any
	Since   time.Time // spans that ended at or after it; zero for any
	Peer    string    // the other side's host:port, "" for any
	Limit   int
}

// Summary is the view of the summary page and /api/summary. Its JSON is
// described in docs/api.md; web adds the methods (their codes are an object
// there).
type Summary struct {
	Capacity int             `json:"capacity"`
	Retained int             `json:"retained"`
	Evicted  uint64          `json:"evicted"`
	Dropped  uint64          `json:"dropped,omitempty"` // spans lost to a recovered panic in debugz; 0 unless there is a bug
	Fault    string          `json:"fault,omitempty"`   // the first such panic with its stack; "" if none
	Buckets  []time.Duration `json:"bucket_bounds_ns"`  // lower bound of each latency bucket
	Methods  []Method        `json:"-"`
}

// Method is one (method, kind) row of the summary, a method of
// /api/summary (docs/api.md), where Codes is an object that web adds.
type Method struct {
	Method string `json:"method"`
	Kind   string `json:"kind"` // "server" or "client"
	Count  uint64 `json:"count"`
	Errors uint64 `json:"errors"` // calls whose code is not OK
	Faults uint64 `json:"faults"` // the Errors whose code says the server failed (rpccode.ServerFault)
	// Last1m and Last10m count the calls of the last minute and the last 10
	// minutes; Count, Errors and Faults are since start.
	Last1m  Window        `json:"last_1m"`
	Last10m Window        `json:"last_10m"`
	Active  int           `json:"active"`
	Codes   []CodeCount   `json:"-"`       // in code order, only codes seen
	Buckets []uint64      `json:"buckets"` // one per Summary.Buckets entry
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
	Rate    float64       `json:"rate_1m_per_s"` // per second, over the last minute
	// Recent is the latency of the calls that ended in this minute and the
	// one before; P50…Max above are since start.
	Recent   Latency   `json:"recent"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Streaming is how the method is registered on the server: "unary",
	// "server streaming", "client streaming" or "bidi streaming"; "" if unknown.
	Streaming string `json:"streaming,omitempty"`
	// Messages and uncompressed bytes of the MsgCalls calls whose spans
	// carried them; NearDeadline calls were flagged as near their deadline.
	MsgCalls      uint64 `json:"message_calls"`
	MsgSent       uint64 `json:"messages_sent"`
	MsgReceived   uint64 `json:"messages_received"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesReceived uint64 `json:"bytes_received"`
	NearDeadline  uint64 `json:"near_deadline"`
	// Retried counts the client calls that made more than one attempt
	// (where the instrumentation says: grpc-go's plugin).
	Retried uint64 `json:"retried"`
	// LogWarnings and LogErrors count what the calls' handlers logged at
	// Warn and at Error or above.
	LogWarnings uint64 `json:"log_warnings"`
	LogErrors   uint64 `json:"log_errors"`
	// In are the figures over the last minute (In[0]) and the last 10
	// minutes (In[1]), which the summary shows in place of Count, Errors,
	// Faults, Codes, Buckets and the quantiles when asked for a window.
	In [2]InWindow `json:"-"`
}

// InWindow are a row's figures over a recent window: its counts, codes,
// buckets and quantiles as they would read had the process started then.
type InWindow struct {
	Count   uint64        `json:"count"`
	Errors  uint64        `json:"errors"`
	Faults  uint64        `json:"faults"`
	Codes   []CodeCount   `json:"codes"` // in code order, only codes seen
	Buckets []uint64      `json:"buckets"`
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
}

// Process says which process the pages show.
type Process struct {
	Service string    `json:"service,omitempty"` // service.name of the spans' resource; "" if unknown
	Version string    `json:"version,omitempty"` // service.version, else the main module's version; "" if unknown
	Host    string    `json:"host"`              // the host name
	PID     int       `json:"pid"`               // the process ID
	Start   time.Time `json:"start"`             // when the span processor started
}

// CPUProfile is the CPU time of the process over a while, by the gRPC
// method its goroutines were serving (grpcstats.WithProfilerLabels); Method
// "" is CPU time no labelled goroutine spent.
type CPUProfile struct {
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Total    time.Duration `json:"cpu_ns"` // CPU time, on every core
	// Samples is how many samples the profile took (100 a second of CPU):
	// with few, the shares are rough.
	Samples int         `json:"samples"`
	Methods []MethodCPU `json:"-"` // most CPU first; web adds each one's share
}

// MethodCPU is the CPU time spent serving one method, its samples, and the
// functions it spent the most in.
type MethodCPU struct {
	Method  string        `json:"method"`
	CPU     time.Duration `json:"cpu_ns"`
	Samples int           `json:"samples"`
	Top     []FuncCPU     `json:"top"`
}

// FuncCPU is a function's CPU time within a method: Flat in the function
// itself, Cum in it and the functions it called.
type FuncCPU struct {
	Function string        `json:"function"`
	Flat     time.Duration `json:"flat_ns"`
	Cum      time.Duration `json:"cum_ns"`
}

// Window counts the calls of a method that ended in a recent window.
type Window struct {
	Count  uint64 `json:"count"`
	Errors uint64 `json:"errors"`
	Faults uint64 `json:"faults"`
}

// Latency is a count of calls and their quantiles.
type Latency struct {
	Count uint64        `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// CodeCount is how many RPCs ended with one gRPC status code.
type CodeCount struct {
	Code  int    // numeric code
	Name  string // canonical name, "NOT_FOUND"
	Count uint64
}

// Attr is one attribute, its value already formatted and redacted by the
// Source (the whole value for a key that looks like a credential, the
// secrets inside it otherwise).
type Attr struct {
	Key   string
	Value string // formatted for people
	Type  string // "string", "int64", … as in the OTel attribute type
	JSON  any    // the value for JSON: string, int64, float64, bool or a slice of them
}

// Event is a span event with its offset from the span's start.
type Event struct {
	Name       string
	Time       time.Time
	Offset     time.Duration
	Attributes []Attr
	// Message is "SENT" or "RECEIVED" when the event records one message of
	// the call, "" for any other event; MessageID and MessageSize (in
	// uncompressed bytes) are as the event says, "" when it does not say.
	Message, MessageID, MessageSize string
	// Stack is where a slow call's goroutines were at the event's time
	// (grpcstats.WithSlowStacks): per stack, its goroutines, then its
	// frames; "" for any other event.
	Stack string
}

// Span is one retained span, gRPC call or not (then Method is "").
type Span struct {
	TraceID       string // 32 hex digits
	SpanID        string // 16 hex digits
	ParentSpanID  string // "" for a root span
	Name          string
	Method        string
	Kind          string // "server", "client", "internal", …
	Code          string // canonical gRPC code name; "" for a non-gRPC span
	CodeNum       int
	StatusCode    string // OTel status: "Unset", "Error", "Ok"
	StatusMessage string
	// StatusDetails are the details of the error status the call ended
	// with (grpcstats), redacted; nil when it had none.
	StatusDetails []StatusDetail
	Start         time.Time
	Duration      time.Duration
	Bucket        int
	Peer          string // host:port of the other side, when known
	Sampled       bool
	Truncated     bool
	Attributes    []Attr // sorted by key
	Events        []Event
	Resource      []Attr // sorted by key
	Scope         string // instrumentation scope name
	ScopeVersion  string
	// Messages of the call, when the span says (MessagesKnown).
	MessagesKnown                  bool
	MessagesSent, MessagesReceived int64
	BytesSent, BytesReceived       int64
	DeadlineUsed                   float64 // share of the deadline used; 0 without one
	DeadlineKnown                  bool    // the call had a deadline and the span says how much it used
	// Attempts is how many attempts a client call made, where its
	// instrumentation says; 0 where it does not.
	Attempts int
	// NearDeadline flags a call that used more of its deadline than
	// [Config.NearDeadline].
	NearDeadline bool
	// Running marks a span still in flight (in a trace): Duration is how
	// long it has run so far, and it has no code yet.
	Running bool
	// Goroutines are where a running RPC's goroutines are now, when its
	// server labels them (grpcstats.WithProfilerLabels) and web asked the
	// Source for them (Source.Goroutines); GoroutinesAt is when they were.
	Goroutines   []Goroutine
	GoroutinesAt time.Time
	// Logs are what the call's handlers logged while it ran, oldest first;
	// LogsSkipped were logged between the first and the last kept.
	Logs        []LogLine
	LogsSkipped int
}

// StatusDetail is one detail of a call's error status: its message type
// ("google.rpc.ErrorInfo") and its fields as text, both redacted.
type StatusDetail struct {
	Type string
	Text string
}

// LogLine is a log record of a call, redacted.
type LogLine struct {
	Time    time.Time
	Offset  time.Duration // from the call's start
	Level   string        // "DEBUG", "INFO", "WARN", "ERROR" (or "INFO+2" and the like)
	Message string
	Attrs   []Attr
	SpanID  string // the span it was logged in: the call's, or a child's
}

// Goroutine is a stack that Count goroutines share, innermost call first:
// each frame is "function\n\tfile:line".
type Goroutine struct {
	Count  int
	Frames []string
}

// Trace is every retained span of one trace, ordered by start.
type Trace struct {
	TraceID string
	Start   time.Time
	End     time.Time
	Spans   []Span
}

// Active is an RPC still in flight.
// In /api/active (docs/api.md) web adds elapsed_ns and, when ProgressKnown,
// the messages so far.
type Active struct {
	TraceID string    `json:"trace_id"`
	SpanID  string    `json:"span_id"`
	Method  string    `json:"method"`
	Kind    string    `json:"kind"`
	Start   time.Time `json:"start"`
	Peer    string    `json:"peer,omitempty"` // the other side, from the gRPC layer (grpcstats.WithProgress)
	// What the gRPC layer says of the call so far (grpcstats.WithProgress);
	// the rest is zero when ProgressKnown is false.
	ProgressKnown bool      `json:"-"`
	Sent          uint64    `json:"-"`
	Received      uint64    `json:"-"`
	Deadline      time.Time `json:"deadline,omitzero"` // zero without one
}

// Channelz reads grpc-go's channelz data; it must be safe for concurrent use.
type Channelz interface {
	// Overview returns every server with its sockets and every top channel
	// with its subchannels' sockets.
	Overview(ctx context.Context) (ChannelzOverview, error)
	// Channel returns one channel or subchannel with its trace events, and
	// false when there is none with this ID.
	Channel(ctx context.Context, id int64) (ChannelzChannel, bool, error)
}

// ChannelzOverview is every server and top channel of the process.
type ChannelzOverview struct {
	Servers          []ChannelzServer  `json:"servers"`
	Channels         []ChannelzChannel `json:"channels"`
	ServersNotShown  ChannelzNotShown  `json:"servers_not_shown,omitzero"`  // beyond the bound on servers
	ChannelsNotShown ChannelzNotShown  `json:"channels_not_shown,omitzero"` // beyond the bound on channels
}

// ChannelzNotShown counts the entries of a list that are not shown: those
// after the first ones by ID, up to a bound (see package channelz).
type ChannelzNotShown struct {
	Count int  `json:"count"` // entries not shown
	More  bool `json:"more"`  // counting stopped too: more than Count are not shown
}

// ChannelzCalls counts a server's or a channel's calls.
type ChannelzCalls struct {
	Started     int64     `json:"started"`
	Succeeded   int64     `json:"succeeded"`
	Failed      int64     `json:"failed"`
	LastStarted time.Time `json:"last_started,omitzero"`
}

// ChannelzServer is a gRPC server of the process.
type ChannelzServer struct {
	ID      int64            `json:"id"`
	Listen  []string         `json:"listen"` // listen addresses
	Calls   ChannelzCalls    `json:"calls"`
	Sockets []ChannelzSocket `json:"sockets"` // its connections
	// SocketsNotShown are its connections beyond the bound on sockets.
	SocketsNotShown ChannelzNotShown `json:"sockets_not_shown,omitzero"`
}

// ChannelzChannel is a client channel, or one of its subchannels.
type ChannelzChannel struct {
	ID          int64             `json:"id"`
	Subchannel  bool              `json:"subchannel"`
	Target      string            `json:"target"`
	State       string            `json:"state"` // IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN
	Calls       ChannelzCalls     `json:"calls"`
	Subchannels []ChannelzChannel `json:"subchannels,omitempty"` // of a top channel, with their sockets
	Sockets     []ChannelzSocket  `json:"sockets,omitempty"`
	// SocketsNotShown are a subchannel's sockets beyond the bound on sockets;
	// on a channel's own page, its subchannels' together.
	SocketsNotShown ChannelzNotShown `json:"sockets_not_shown,omitzero"`
	Events          []ChannelzEvent  `json:"events,omitempty"` // its trace: state changes, resolver and balancer updates
}

// ChannelzSocket is a connection: what flowed over it, and when.
type ChannelzSocket struct {
	ID               int64     `json:"id"`
	Local            string    `json:"local"`
	Remote           string    `json:"remote"`
	StreamsStarted   int64     `json:"streams_started"`
	StreamsSucceeded int64     `json:"streams_succeeded"`
	StreamsFailed    int64     `json:"streams_failed"`
	MessagesSent     int64     `json:"messages_sent"`
	MessagesReceived int64     `json:"messages_received"`
	KeepAlivesSent   int64     `json:"keep_alives_sent"`
	LastMessageSent  time.Time `json:"last_message_sent,omitzero"`
	LastMessageRecv  time.Time `json:"last_message_received,omitzero"`
	LocalWindow      int64     `json:"local_window_bytes"` // flow-control windows, bytes; -1 when unknown
	RemoteWindow     int64     `json:"remote_window_bytes"`
	Security         string    `json:"security"` // "TLS 1.3 …", "insecure"
}

// ChannelzEvent is a channel trace event.
type ChannelzEvent struct {
	Time        time.Time `json:"time"`
	Severity    string    `json:"severity"`
	Description string    `json:"description"`
}

// Config configures [NewHandler].
type Config struct {
	// Authorize decides whether a request may be served, in place of the
	// local-connection check (package access): nil serves only requests
	// over a local connection. Either way the Host must name this machine
	// or one of AllowedHosts.
	Authorize func(*http.Request) bool
	// StacksAbove is how many goroutines the process may have for a running
	// call's page to take its stacks unasked; above it the page offers them
	// (?stacks=1), since a dump costs CPU in proportion to the goroutines.
	// 0 means 10,000; negative, never unasked.
	StacksAbove int
	// AllowedHosts are more names (with any port) the Host check accepts,
	// beside localhost and loopback addresses; "*" accepts any Host.
	AllowedHosts []string
	// Channelz, when set, adds the connections pages (github.com/debugz/debugz/channelz).
	Channelz Channelz
	// TraceURL, when set, is the tracing backend's page of a trace with
	// "{traceID}" in place of the ID; every trace ID links to it.
	TraceURL string
	// NearDeadline is the share of its deadline beyond which the [Source]
	// flags a call as near it ([Span.NearDeadline]), for the pages to quote:
	// 0.8 reads "more than 80% of its deadline". Zero words it without a
	// number.
	NearDeadline float64
	// Buckets are the lower bounds of the latency buckets (the same as every
	// Summary's), so that a query's bucket is checked without a Summary.
	Buckets []time.Duration
	// ErrorHandler receives the errors the handler has no one to return to:
	// a panic it recovered from (the request gets a 500), a page it failed to
	// render or encode. It may be called concurrently. Nil discards them. A
	// client that goes away while a response is written is not an error.
	ErrorHandler func(error)
	// Snapshot, when set, writes a snapshot of the moment: /api/snapshot
	// serves it and every page links to it ("Save snapshot").
	Snapshot func(w io.Writer) error
	// Banner, when set, heads every page: the viewer of a snapshot names the
	// process and the moment it shows.
	Banner string

	// Set by tests only.
	Now            func() time.Time // the clock; nil means time.Now
	Interval       time.Duration    // how often live pages and follow streams look for news; zero means one second
	WriteTimeout   time.Duration    // how long one write of a stream may take; zero means the handler's default
	StreamLifetime time.Duration    // how long a live stream lasts before it ends (and the page reconnects); zero means the handler's default
}

// LogQuery selects log records.
type LogQuery struct {
	Level  string    // "DEBUG", "INFO", "WARN" or "ERROR": that level and above; "" for Info and above
	Method string    // as Query.Method
	Trace  string    // 32 lowercase hex digits, "" for any
	Text   string    // in the message, in any case
	Since  time.Time // logged at or after it; zero for any
	Limit  int
}

// LogEntry is one of the latest log records.
type LogEntry struct {
	LogLine
	TraceID  string // "" outside any span
	Method   string // the RPC it was logged under, else the span it was logged in; "" outside
	SpanName string // the name of the span it was logged in (SpanID); "" outside
}

// ErrProfiling is the error of [Source.CPUByMethod] while another CPU
// profile is being taken: the handler answers 409 Conflict.
var ErrProfiling = errors.New("a CPU profile is already being taken (here or at /debug/pprof/profile); try again when it is done")
