package debugz

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/debugz/debugz/internal/access"
	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz/internal/redact"
	"github.com/debugz/debugz/web"
	"go.opentelemetry.io/otel"
	"google.golang.org/grpc"
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
	snapshotMax  int // WithSnapshotMaxBytes
}

type handlerOptionFunc func(*handlerConfig)

func (f handlerOptionFunc) applyHandler(c *handlerConfig) { f(c) }

// WithAuthorizer sets the function that decides whether a request may see
// the pages, in place of the default check that it came over a local
// connection (loopback at both ends, or a Unix socket); see the package's
// Security section. Others get 403.
//
// The Host check stays: a request must still name this machine (or a name
// given to [WithAllowedHosts]) in its Host header, since an authorizer that
// looks at the remote address would otherwise let in a page on another site
// that rebinds its name to 127.0.0.1 (DNS rebinding): the browser connects
// from this machine. Behind a reverse proxy that sends its own public name,
// add that name with WithAllowedHosts, or WithAllowedHosts("*") to turn the
// Host check off when allow checks the user (a session cookie, a header
// only the proxy sets); an authorizer that trusts an address never should.
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
// 127.0.0.1 (DNS rebinding). The connection must still be local, unless
// [WithAuthorizer] decides instead. The name "*" accepts any Host: it turns
// the check off, for a handler behind an authorizer that checks the user.
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
// this option. The connections pages (see [WithChannelz]) redact channel
// targets and events the same way.
func WithoutRedaction() HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.noRedaction = true })
}

// WithRedactedKeys adds keys whose values are redacted, beside the built-in
// ones (see [WithoutRedaction]): attribute keys, keys inside map values and
// the keys of key=value pairs inside text. A key matches as whole words, in
// any case and with any separators: "ssn" redacts "user.ssn" and "userSSN"
// but not "lesson"; "internal-id" redacts "X-Internal-ID". It adds to the
// keys of earlier calls. The default is no extra keys. It has no effect with
// WithoutRedaction. It applies to the message text grpcstats captured when
// that text is shown ("ssn: [redacted]"), on top of the built-in rules
// applied when it was captured.
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
// /api/traces/{traceID} as OTLP JSON; /api/snapshot, one file of the moment
// (see [WriteSnapshot]), linked from every page as "Save snapshot".
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
	cfg := newHandlerConfig(opts)
	src := newSource(sp, &cfg)
	var snapshots sync.Mutex // one at a time: each holds up to its bound in memory
	return web.NewHandler(src, view.Config{Authorize: cfg.authorize, AllowedHosts: cfg.hosts, TraceURL: cfg.traceURL, Channelz: cfg.channelz,
		NearDeadline: nearDeadline, Buckets: sp.bucketBounds(), ErrorHandler: otel.Handle,
		Snapshot: func(w io.Writer) error {
			snapshots.Lock()
			defer snapshots.Unlock()
			return src.writeSnapshot(w, &cfg)
		}})
}

func newHandlerConfig(opts []HandlerOption) handlerConfig {
	var cfg handlerConfig
	for _, o := range opts {
		if o != nil {
			o.applyHandler(&cfg)
		}
	}
	return cfg
}

// newSource is the pages' view of sp, redacted as cfg says.
func newSource(sp *SpanProcessor, cfg *handlerConfig) *source {
	src := &source{sp: sp, streaming: map[string]string{}}
	if !cfg.noRedaction {
		src.red = redact.New(cfg.redactedKeys...)
		if cfg.channelz != nil {
			cfg.channelz = redactedChannelz{c: cfg.channelz, red: src.red}
		}
	}
	for svc, info := range cfg.services {
		for _, m := range info.Methods {
			full := svc + "/" + m.Name
			if !sp.cfg.ignores(full) {
				src.streaming[full] = streamingKind(m)
			}
		}
	}
	return src
}

// LocalOnly returns h behind the checks [NewHandler] applies by default (see
// the package's Security section): it serves a request only over a local
// connection (loopback at both ends, or a Unix socket) and only when its
// Host names this machine, and answers 403 saying why otherwise. Wrap the
// other debug handlers served beside debugz with it, such as net/http/pprof
// and expvar, which check nothing themselves: without it a page on another
// site that rebinds its name to 127.0.0.1 reads them through the visitor's
// browser. It panics if h is nil. The handler is safe for concurrent use
// if h is.
//
//	r.Mount("/debug", debugz.LocalOnly(middleware.Profiler()))
func LocalOnly(h http.Handler) http.Handler {
	if h == nil {
		panic("debugz: LocalOnly called with nil http.Handler")
	}
	return access.Policy{}.Wrap(h)
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
