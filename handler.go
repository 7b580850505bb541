package debugz

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/internal/redact"
	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/semconv"
	"github.com/debugz/debugz/web"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// HandlerOption configures [NewHandler].
type HandlerOption interface{ applyHandler(*handlerConfig) }

type handlerConfig struct {
	authorize    func(*http.Request) bool
	hosts        []string
	noRedaction  bool
	redactedKeys []string
	traceURL     string
	services     map[string]grpc.ServiceInfo
	channelz     view.Channelz
}

type handlerOptionFunc func(*handlerConfig)

func (f handlerOptionFunc) applyHandler(c *handlerConfig) { f(c) }

// WithAuthorizer sets the function that decides whether a request may see
// the pages, in place of the default checks (see the package's Security
// section): a request over a local connection (loopback at both ends, or a
// Unix socket) whose Host names this machine. Others get 403.
//
// allow is handed the request as the handler receives it: RemoteAddr is
// whatever the server and any middleware before the handler made it (a
// forwarding middleware may have rewritten it from a header), and the
// connection's own local address is in its context under
// [http.LocalAddrContextKey]. Behind a reverse proxy on the same host every
// request comes from loopback: check the user there. A nil function keeps
// the default.
func WithAuthorizer(allow func(r *http.Request) bool) HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.authorize = allow })
}

// WithChannelz adds the connections pages (/channelz), read from c. Use
// github.com/debugz/debugz/channelz, whose Reader.Option returns this
// option: importing that package turns grpc-go's channelz on.
func WithChannelz(c view.Channelz) HandlerOption {
	return handlerOptionFunc(func(cfg *handlerConfig) { cfg.channelz = c })
}

// WithAllowedHosts adds host names (any port; "debug.internal" or
// "debug.internal:6060") that the default checks accept in a request's Host
// header, beside localhost, names under .localhost, loopback addresses and
// the address the request arrived on. Other names are refused, so that a
// page on another site cannot read the dashboard by pointing its own name at
// 127.0.0.1 (DNS rebinding). The connection must still be local. It has no
// effect with [WithAuthorizer].
func WithAllowedHosts(hosts ...string) HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.hosts = append(c.hosts, hosts...) })
}

// WithoutRedaction shows credentials as they are. By default the pages and
// all JSON and OTLP show "[redacted]" in place of the values of keys that
// look like credentials (and of keys given to [WithRedactedKeys]) and of
// the credentials inside any value: the rules are in the JSON contract,
// https://github.com/debugz/debugz/blob/main/docs/api.md#redaction.
//
// Message text captured by grpcstats is redacted when captured, whatever
// this option.
func WithoutRedaction() HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.noRedaction = true })
}

// WithRedactedKeys adds keys whose values are redacted, beside the built-in
// ones (see [WithoutRedaction]): attribute keys, keys inside map values and
// the keys of key=value pairs inside text. A key matches as whole words, in
// any case and with any separators: "ssn" redacts "user.ssn" and "userSSN"
// but not "lesson"; "internal-id" redacts "X-Internal-ID". It adds to the
// keys of earlier calls. The default is no extra keys. It has no effect with
// WithoutRedaction, and none on grpcstats' message capture.
func WithRedactedKeys(keys ...string) HandlerOption {
	keys = slices.Clone(keys)
	return handlerOptionFunc(func(c *handlerConfig) { c.redactedKeys = append(c.redactedKeys, keys...) })
}

// WithTraceURL links every trace ID on every page to a tracing backend, such
// as "http://localhost:16686/trace/{traceID}" for Jaeger: "{traceID}" is
// replaced by the 32-digit hex ID. By default trace IDs link to the local
// waterfall page, which stays reachable from each span's page. It panics if
// template is not an http or https URL containing {traceID}.
func WithTraceURL(template string) HandlerOption {
	u, err := url.Parse(strings.ReplaceAll(template, "{traceID}", "0"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.Contains(template, "{traceID}") {
		panic(fmt.Sprintf("debugz: WithTraceURL needs an http(s) URL containing {traceID}, not %q", template))
	}
	return handlerOptionFunc(func(c *handlerConfig) { c.traceURL = template })
}

// WithServices lists the methods registered on a gRPC server, as
// (*grpc.Server).GetServiceInfo returns them after the services are
// registered. The summary then shows every registered method, those never
// called with a count of 0 (greyed), and each with its streaming kind: "is
// anything calling the new method?". Ignored methods (see
// [WithIgnoredMethods]) stay hidden. By default only methods seen are listed.
func WithServices(services map[string]grpc.ServiceInfo) HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.services = maps.Clone(services) })
}

// NewHandler returns an http.Handler serving the debugz pages and JSON API
// over sp. Every path is relative to where the handler is mounted: under chi,
// r.Mount("/debug/rpcs", h); on a ServeMux,
// mux.Handle("/debug/rpcs/", http.StripPrefix("/debug/rpcs", h)).
//
// Pages: / (summary), /spans (filtered list), /spans/{spanID}, /traces/{traceID}
// (waterfall), /active (in flight). JSON: /api/summary, /api/spans
// (?follow=1 streams NDJSON), /api/spans/{spanID}, /api/active and
// /api/traces/{traceID} as OTLP JSON.
//
// Errors it has no one to return to, such as a panic it recovered from while
// serving a page (the request gets a 500), go to OpenTelemetry's error
// handler ([otel.Handle]).
//
// It panics if sp is nil. The handler is safe for concurrent use.
func NewHandler(sp *SpanProcessor, opts ...HandlerOption) http.Handler {
	if sp == nil {
		panic("debugz: NewHandler called with nil *SpanProcessor")
	}
	var cfg handlerConfig
	for _, o := range opts {
		if o != nil {
			o.applyHandler(&cfg)
		}
	}
	src := &source{sp: sp, streaming: map[string]string{}}
	if !cfg.noRedaction {
		src.red = redact.New(cfg.redactedKeys...)
	}
	for svc, info := range cfg.services {
		for _, m := range info.Methods {
			full := svc + "/" + m.Name
			if !sp.cfg.ignores(full) {
				src.streaming[full] = streamingKind(m)
			}
		}
	}
	return web.NewHandler(src, view.Config{Authorize: cfg.authorize, AllowedHosts: cfg.hosts, TraceURL: cfg.traceURL, Channelz: cfg.channelz,
		NearDeadline: nearDeadline, Buckets: sp.bucketBounds(), ErrorHandler: otel.Handle})
}

func streamingKind(m grpc.MethodInfo) string {
	switch {
	case m.IsClientStream && m.IsServerStream:
		return "bidi streaming"
	case m.IsClientStream:
		return "client streaming"
	case m.IsServerStream:
		return "server streaming"
	}
	return "unary"
}

// source adapts a SpanProcessor to view.Source.
type source struct {
	sp        *SpanProcessor
	red       *redact.Redactor
	profiling atomic.Bool       // a CPU profile is being taken  // nil with WithoutRedaction
	streaming map[string]string // registered method → streaming kind; read-only
}

var _ view.Source = (*source)(nil)

func kindName(k trace.SpanKind) string { return k.String() }

func (s *source) Methods() []string {
	rows := s.sp.rows.all()
	out := make([]string, 0, len(rows)+len(s.streaming))
	for _, r := range rows {
		out = append(out, s.red.String(r.method))
	}
	for m := range s.streaming {
		out = append(out, m)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *source) Summary() view.Summary {
	sum := s.sp.Summary()
	out := view.Summary{Capacity: sum.Capacity, Retained: sum.Retained, Evicted: sum.Evicted, Dropped: sum.Dropped,
		Fault:   faultText(sum.Fault),
		Buckets: sum.BucketBounds, Methods: make([]view.Method, 0, len(sum.Methods)+len(s.streaming))}
	seen := make(map[string]bool, len(sum.Methods))
	for _, m := range sum.Methods {
		wm := view.Method{Method: s.red.String(m.Method), Kind: kindName(m.Kind), Count: m.Count, Errors: m.Errors, Faults: m.Faults,
			Last1m: view.Window(m.Last1m), Last10m: view.Window(m.Last10m),
			Active: m.Active, Buckets: m.Buckets, P50: m.P50, P90: m.P90, P99: m.P99, Max: m.Max,
			Rate:     float64(m.Last1m.Count) / rateWindow, // over a whole minute, even the first: it changes only when calls do
			LastSeen: m.LastSeen, LogWarnings: m.LogWarnings, LogErrors: m.LogErrors}
		for c := codes.OK; c <= maxCode; c++ {
			name := rpccode.Name(int(c))
			if n := m.Codes[name]; n > 0 {
				wm.Codes = append(wm.Codes, view.CodeCount{Code: int(c), Name: name, Count: n})
			}
		}
		wm.Streaming = s.streaming[m.Method]
		wm.Recent = view.Latency{Count: m.Recent.Count, P50: m.Recent.P50, P90: m.Recent.P90, P99: m.Recent.P99, Max: m.Recent.Max}
		wm.MsgCalls, wm.MsgSent, wm.MsgReceived = m.MessageCalls, m.MessagesSent, m.MessagesReceived
		wm.BytesSent, wm.BytesReceived, wm.NearDeadline = m.BytesSent, m.BytesReceived, m.NearDeadline
		if m.Kind == trace.SpanKindServer {
			seen[m.Method] = true
		}
		out.Methods = append(out.Methods, wm)
	}
	for method, kind := range s.streaming { // registered, never seen on the server side
		if !seen[method] {
			out.Methods = append(out.Methods, view.Method{Method: method, Kind: kindName(trace.SpanKindServer),
				Streaming: kind, Buckets: make([]uint64, len(out.Buckets))})
		}
	}
	return out
}

func (s *source) Spans(q view.Query) []view.Span {
	spans := s.sp.Spans(s.filter(q))
	out := make([]view.Span, len(spans))
	for i := range spans {
		out[i] = s.span(&spans[i])
	}
	return out
}

func (s *source) Count(q view.Query) int { return s.sp.Count(s.filter(q)) }

func (s *source) CPUByMethod(ctx context.Context, d time.Duration) (view.CPUProfile, error) {
	return cpuByMethod(ctx, &s.profiling, d)
}

// filter translates the page's query into the engine's.
func (s *source) filter(q view.Query) Filter {
	f := Filter{Method: q.Method, ErrorsOnly: q.Errors, NearDeadline: q.NearDeadline, Min: q.Min, Max: q.Max,
		Before: q.Before, Peer: q.Peer, Limit: q.Limit}
	switch q.Kind {
	case "server":
		f.Kind = trace.SpanKindServer
	case "client":
		f.Kind = trace.SpanKindClient
	}
	if q.Bucket >= 0 {
		f.Bucket = &q.Bucket
	}
	if q.Code >= 0 {
		c := codes.Code(q.Code)
		f.Code = &c
	}
	if q.Trace != "" {
		f.TraceID, _ = trace.TraceIDFromHex(q.Trace)
	}
	return f
}

func (s *source) Span(id string) (view.Span, bool) {
	sid, err := trace.SpanIDFromHex(id)
	if err != nil {
		return view.Span{}, false
	}
	if sp, ok := s.sp.Span(sid); ok {
		return s.span(&sp), true
	}
	for _, a := range s.sp.Active() { // a call still in flight opens too
		if a.SpanID == sid {
			ws := view.Span{TraceID: a.TraceID.String(), SpanID: id, Name: s.red.String(a.Method), Method: s.red.String(a.Method),
				Kind: kindName(a.Kind), Start: a.Start, Duration: max(time.Since(a.Start), 0), Running: true,
				Peer: a.Peer, Goroutines: goroutinesOf(id)}
			if a.ProgressKnown { // so far
				ws.MessagesKnown, ws.MessagesSent, ws.MessagesReceived = true, int64(a.MessagesSent), int64(a.MessagesReceived)
			}
			if budget := a.Deadline.Sub(a.Start); !a.Deadline.IsZero() && budget > 0 {
				ws.DeadlineKnown, ws.DeadlineUsed = true, float64(ws.Duration)/float64(budget)
				ws.NearDeadline = ws.DeadlineUsed > nearDeadline
			}
			if a.Parent.IsValid() {
				ws.ParentSpanID = a.Parent.String()
			}
			return ws, true
		}
	}
	return view.Span{}, false
}

func (s *source) Trace(id string) (view.Trace, bool) {
	tid, err := trace.TraceIDFromHex(id)
	if err != nil {
		return view.Trace{}, false
	}
	spans, running := s.sp.Trace(tid), s.sp.activeOf(tid)
	if len(spans) == 0 && len(running) == 0 {
		return view.Trace{}, false
	}
	t := view.Trace{TraceID: id}
	add := func(ws view.Span, end time.Time) {
		if t.Start.IsZero() || ws.Start.Before(t.Start) {
			t.Start = ws.Start
		}
		if end.After(t.End) {
			t.End = end
		}
		t.Spans = append(t.Spans, ws)
	}
	for i := range spans {
		add(s.span(&spans[i]), spans[i].End)
	}
	now := time.Now()
	for _, a := range running { // ended meanwhile if Trace has it
		if slices.ContainsFunc(spans, func(sp Span) bool { return sp.SpanID == a.SpanID }) {
			continue
		}
		ws := view.Span{TraceID: id, SpanID: a.SpanID.String(), Name: s.red.String(a.Method), Method: s.red.String(a.Method),
			Kind: kindName(a.Kind), Start: a.Start, Duration: max(now.Sub(a.Start), 0), Running: true}
		if a.Parent.IsValid() {
			ws.ParentSpanID = a.Parent.String()
		}
		add(ws, now)
	}
	slices.SortStableFunc(t.Spans, func(a, b view.Span) int { return a.Start.Compare(b.Start) })
	return t, true
}

func (s *source) TraceOTLP(id string) ([]byte, bool, error) {
	tid, err := trace.TraceIDFromHex(id)
	if err != nil {
		return nil, false, nil
	}
	spans := s.sp.Trace(tid)
	if len(spans) == 0 {
		return nil, false, nil
	}
	b, err := otlpJSON(spans, s.red)
	return b, true, err
}

func (s *source) Active() []view.Active {
	act := s.sp.Active()
	out := make([]view.Active, len(act))
	for i, a := range act {
		out[i] = view.Active{TraceID: a.TraceID.String(), SpanID: a.SpanID.String(), Method: s.red.String(a.Method),
			Kind: kindName(a.Kind), Start: a.Start, Peer: a.Peer,
			ProgressKnown: a.ProgressKnown, Sent: a.MessagesSent, Received: a.MessagesReceived, Deadline: a.Deadline}
	}
	return out
}

func (s *source) span(sp *Span) view.Span {
	ws := view.Span{
		TraceID: sp.TraceID.String(), SpanID: sp.SpanID.String(), Name: s.red.String(sp.Name), Method: s.red.String(sp.Method),
		Kind: kindName(sp.Kind), StatusCode: sp.StatusCode, StatusMessage: s.red.String(sp.StatusMessage),
		Start: sp.Start, Duration: sp.Duration, Bucket: bucketOf(s.sp.cfg.bounds, int64(sp.Duration)), Peer: peer(sp.Attributes, sp.Kind),
		Sampled: sp.Sampled, Truncated: sp.Truncated, Attributes: s.attrs(sp.Attributes),
		Scope: sp.Scope.Name, ScopeVersion: sp.Scope.Version,
		MessagesKnown: sp.MessagesKnown, MessagesSent: sp.MessagesSent, MessagesReceived: sp.MessagesReceived,
		BytesSent: sp.BytesSent, BytesReceived: sp.BytesReceived, DeadlineUsed: sp.DeadlineUsed, DeadlineKnown: sp.HasDeadline,
		NearDeadline: sp.DeadlineUsed > nearDeadline,
	}
	if sp.Parent.SpanID().IsValid() {
		ws.ParentSpanID = sp.Parent.SpanID().String()
	}
	if sp.Method != "" {
		ws.Code, ws.CodeNum = rpccode.Name(int(sp.Code)), int(sp.Code)
	}
	for i := range sp.Events {
		e := &sp.Events[i]
		we := view.Event{Name: s.red.String(e.Name), Time: e.Time, Offset: e.Time.Sub(sp.Start), Attributes: s.attrs(e.Attributes)}
		readMessageEvent(&we, e)
		if e.Name == semconv.EventStack {
			for _, kv := range e.Attributes {
				if kv.Key == semconv.StackText {
					we.Stack = kv.Value.AsString()
				}
			}
		}
		ws.Events = append(ws.Events, we)
	}
	if sp.Resource != nil {
		ws.Resource = s.attrs(sp.Resource.Attributes())
	}
	ws.LogsSkipped = sp.LogsSkipped
	for _, l := range sp.Logs {
		wl := s.logLine(&l)
		wl.Offset = l.Time.Sub(sp.Start)
		ws.Logs = append(ws.Logs, wl)
	}
	return ws
}

// logLine is a log record for the pages, redacted.
func (s *source) logLine(l *LogLine) view.LogLine {
	wl := view.LogLine{Time: l.Time, Level: l.Level.String(), Message: s.red.String(l.Message)}
	if l.SpanID.IsValid() {
		wl.SpanID = l.SpanID.String()
	}
	kvs := make([]attribute.KeyValue, len(l.Attrs))
	for i, a := range l.Attrs {
		kvs[i] = slogAttr(a)
	}
	wl.Attrs = s.attrs(kvs)
	return wl
}

func (s *source) Logs(q view.LogQuery) []view.LogEntry {
	return s.logEntries(s.sp.Logs(s.logFilter(q)))
}

func (s *source) FollowLogs(q view.LogQuery, pos uint64) ([]view.LogEntry, uint64, uint64) {
	recs, next, skipped := s.sp.followLogs(s.logFilter(q), pos)
	return s.logEntries(recs), next, skipped
}

// logFilter translates the logs page's query into the engine's.
func (s *source) logFilter(q view.LogQuery) LogFilter {
	f := LogFilter{Method: q.Method, Text: q.Text, Limit: q.Limit}
	switch q.Level {
	case "DEBUG":
		f.MinLevel = math.MinInt // every level, below Debug too
	case "WARN":
		f.MinLevel = slog.LevelWarn
	case "ERROR":
		f.MinLevel = slog.LevelError
	}
	if q.Trace != "" {
		f.TraceID, _ = trace.TraceIDFromHex(q.Trace)
	}
	return f
}

// logEntries are log records for the pages, redacted.
func (s *source) logEntries(recs []LogRecord) []view.LogEntry {
	out := make([]view.LogEntry, len(recs))
	for i := range recs {
		out[i] = view.LogEntry{LogLine: s.logLine(&recs[i].LogLine), Method: s.red.String(recs[i].Method)}
		if recs[i].TraceID.IsValid() {
			out[i].TraceID = recs[i].TraceID.String()
		}
	}
	return out
}

// readMessageEvent tells the pages what a message event, of grpcstats'
// timeline or of otelgrpc before v0.67, says about its message (see
// messageEventOf); it leaves any other event alone.
func readMessageEvent(we *view.Event, e *sdktrace.Event) {
	me, ok := messageEventOf(e)
	if !ok {
		return
	}
	if me.typ != nil {
		we.Message = me.typ.String()
	}
	if me.id != nil {
		we.MessageID = me.id.String()
	}
	if me.size != nil {
		we.MessageSize = me.size.String()
	}
}

// attrs formats attributes for people and JSON, sorted by key, with
// credentials redacted (see [WithoutRedaction]). Type stays the type of the
// value as set.
func (s *source) attrs(kvs []attribute.KeyValue) []view.Attr {
	out := make([]view.Attr, 0, len(kvs))
	for _, kv := range kvs {
		a := view.Attr{Key: string(kv.Key), Type: strings.ToLower(kv.Value.Type().String())}
		v := s.red.KeyValue(kv).Value
		a.Value, a.JSON = v.String(), jsonValue(v)
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b view.Attr) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// jsonValue is an attribute value as plain JSON: maps become objects,
// slices arrays, bytes hex. JSON has no NaN or infinities: those floats
// become the strings "NaN", "Infinity" and "-Infinity", as in OTLP/JSON.
func jsonValue(v attribute.Value) any {
	switch v.Type() {
	case attribute.FLOAT64:
		return jsonFloat(v.AsFloat64())
	case attribute.FLOAT64SLICE:
		fs := v.AsFloat64Slice()
		out := make([]any, len(fs))
		for i, f := range fs {
			out[i] = jsonFloat(f)
		}
		return out
	case attribute.MAP:
		m := map[string]any{}
		for _, kv := range v.AsMap() {
			m[string(kv.Key)] = jsonValue(kv.Value)
		}
		return m
	case attribute.SLICE:
		vs := v.AsSlice()
		out := make([]any, len(vs))
		for i, x := range vs {
			out[i] = jsonValue(x)
		}
		return out
	case attribute.BYTESLICE:
		return hex.EncodeToString(v.AsByteSlice())
	}
	return v.AsInterface()
}

// jsonFloat is f, or its name if JSON has no number for it.
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// peer returns the address of the other side of an RPC, from the attributes
// of any otelgrpc generation.
func peer(kvs []attribute.KeyValue, kind trace.SpanKind) string {
	get := func(keys ...string) string {
		for _, k := range keys {
			for _, kv := range kvs {
				if string(kv.Key) == k {
					if kv.Value.Type() == attribute.INT64 {
						return strconv.FormatInt(kv.Value.AsInt64(), 10)
					}
					return kv.Value.AsString()
				}
			}
		}
		return ""
	}
	join := func(host, port string) string {
		if host == "" || port == "" {
			return host
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return host + ":" + port
	}
	if h := get(semconv.NetworkPeerAddress, semconv.NetSockPeerAddr, semconv.NetPeerIP); h != "" {
		return join(h, get(semconv.NetworkPeerPort, semconv.NetSockPeerPort, semconv.NetPeerPort))
	}
	if kind == trace.SpanKindClient {
		return join(get(semconv.ServerAddress, semconv.NetPeerName), get(semconv.ServerPort, semconv.NetPeerPort))
	}
	return join(get(semconv.ClientAddress), get(semconv.ClientPort))
}

func faultText(f *Fault) string {
	if f == nil {
		return ""
	}
	return f.Time.UTC().Format(time.RFC3339) + ": " + f.Value + "\n" + f.Stack
}

func (s *source) Follow(q view.Query, after uint64) ([]view.Span, uint64, uint64) {
	spans, next, skipped := s.sp.follow(s.filter(q), after)
	out := make([]view.Span, len(spans))
	for i := range spans {
		out[i] = s.span(&spans[i])
	}
	return out, next, skipped
}

// slogAttr is a log attribute as a span attribute, for the pages' formatting
// and redaction.
func slogAttr(a slog.Attr) attribute.KeyValue {
	v := a.Value
	switch v.Kind() {
	case slog.KindBool:
		return attribute.Bool(a.Key, v.Bool())
	case slog.KindInt64:
		return attribute.Int64(a.Key, v.Int64())
	case slog.KindFloat64:
		return attribute.Float64(a.Key, v.Float64())
	}
	return attribute.String(a.Key, v.String())
}
