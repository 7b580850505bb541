package debugz

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/debugz/debugz/internal/semconv"

	"strconv"

	"github.com/debugz/debugz/internal/rpccode"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// maxCode is the highest gRPC status code; values above it count as UNKNOWN.
// The code table itself is rpccode's.
const maxCode = codes.Code(rpccode.Max)

// CodeName returns the canonical name of a gRPC status code ("NOT_FOUND").
// A value outside the defined codes is named "CODE(n)".
// It names the codes [MethodStats.Codes] is indexed by.
func CodeName(c codes.Code) string { return rpccode.Name(int(c)) }

// otelgrpcScope is otelgrpc's instrumentation scope.
const otelgrpcScope = semconv.OtelgrpcScope

// grpcInfo is what a finished span's attributes tell.
type grpcInfo struct {
	system  string // rpc.system or rpc.system.name; "" if neither
	service string // rpc.service (old otelgrpc, otelconnect v0.7)
	method  string // rpc.method: "Method" or "pkg.Service/Method"

	code    codes.Code
	hasCode bool
	size    int // estimated bytes of attribute data
	msgs    messageStats
	attempt attemptInfo // what grpcstats says of a client attempt (retries.go)
}

// nearDeadline is the share of its deadline beyond which a call is flagged.
const nearDeadline = 0.8

// readAttributes makes the pass over a finished span's attributes that OnEnd
// needs: the RPC system, service and method they name, the status code, in
// the key of any instrumentation and protocol (gRPC, gRPC-Web, Connect: a
// Connect code names the gRPC code of the same number), and what grpcstats
// says of its messages; and it gives their size ([attrsSize]), for
// [spanSize]. It does not allocate unless an attribute holds a slice or a
// map.
func readAttributes(attrs []attribute.KeyValue) (info grpcInfo) {
	info.size = (cap(attrs) - len(attrs)) * attrOverhead // see attrsSize
	for i := range attrs {
		kv := &attrs[i]
		if info.size += attrSize(kv); kv.Value.Type() > attribute.STRING {
			info.size += compositeSize(kv)
		}
		k := string(kv.Key)
		if len(k) > len(semconv.DebugzPrefix) && k[:len(semconv.DebugzPrefix)] == semconv.DebugzPrefix {
			if k[len(semconv.DebugzPrefix)] == 'a' { // semconv.AttemptPrefix
				info.attempt.read(k, kv.Value)
			} else {
				info.msgs.read(k, kv.Value)
			}
			continue
		}
		if len(k) < 10 || k[:4] != "rpc." {
			continue
		}
		switch k {
		case semconv.RPCSystem, semconv.RPCSystemName:
			info.system = kv.Value.AsString()
		case semconv.RPCService:
			info.service = kv.Value.AsString()
		case semconv.RPCMethod:
			info.method = kv.Value.AsString()
		case semconv.RPCGRPCStatusCode, semconv.RPCResponseStatusCode, semconv.RPCGRPCWebStatusCode, semconv.RPCConnectErrorCode:
			info.code, info.hasCode = attrCode(kv.Value), true
		}
	}
	return info
}

// attrCode reads a status code attribute of any otelgrpc generation: a
// number, or a string holding a canonical name ("NOT_FOUND"), grpc-go's
// name ("NotFound") or a number ("5"). Anything else, a bool or a name no
// code has, is UNKNOWN: never OK.
func attrCode(v attribute.Value) codes.Code {
	switch v.Type() {
	case attribute.INT64:
		return intCode(v.AsInt64())
	case attribute.STRING:
		if s := v.AsString(); s == "OK" {
			return codes.OK
		} else if c, ok := rpccode.Parse(s); ok {
			return codes.Code(c)
		}
	}
	return codes.Unknown
}

func intCode(n int64) codes.Code {
	if n < 0 || n > int64(maxCode) {
		return codes.Unknown
	}
	return codes.Code(n)
}

// fullMethod returns "pkg.Service/Method" from the attributes of any otelgrpc
// generation, falling back to the span name (which otelgrpc always sets to the
// full method).
func fullMethod(name, service, method string) string {
	name = strings.TrimPrefix(name, "/") // otelgrpc ≤ v0.4x names spans "/pkg.Service/Method"
	switch {
	case strings.IndexByte(method, '/') > 0:
		return method
	case service == "" || method == "":
		return name
	case len(name) == len(service)+1+len(method) && name[len(service)] == '/' &&
		strings.HasPrefix(name, service) && strings.HasSuffix(name, method):
		return name // the same string, without allocating
	default:
		return service + "/" + method
	}
}

// rpcSpan is the one rule of what an RPC span is, for the calls in flight
// (OnStart sees no attributes: reading them would make the SDK copy them)
// and for the rows alike. It goes by kind, instrumentation scope and name,
// and, where the span's attributes were read (OnEnd), by the RPC system they
// name: one of rpcSystems, or another that rules the span out. It returns
// the span's method as its name says it ("pkg.Service/Method"; OnEnd refines
// it from the attributes with [fullMethod]), or false:
//
//   - grpc-go's OpenTelemetry plugin (scope "grpc-go", "grpc-open-telemetry"
//     in v1.71): a client span "Sent.pkg.Service.Method", a server span
//     "Recv.pkg.Service.Method" (without the prefixes before v1.73); its
//     "Attempt." spans are internal, not calls (see [attemptOf]). Between
//     v1.73 and v1.83 a server span without a meter provider is named
//     "Recv." alone: its method is unknownMethod unless grpcstats.NewHandler
//     names it.
//   - otelgrpc, otelconnect and any other instrumentation: a server or client
//     span named like a gRPC method, "pkg.Service/Method" ("/pkg.Service/Method"
//     in otelgrpc before v0.4x), whatever the protocol underneath (gRPC,
//     gRPC-Web, Connect); any server or client span of otelgrpc's scope, or
//     whose attributes name a system of rpcSystems.
//
// The calls in flight are judged without the system: a span named like a
// method whose attributes name another RPC system (apache_dubbo) shows in
// flight but is not counted.
//
// scope is called only when the name leaves it open. names turns the
// plugin's dotted names into methods without allocating for a name seen
// before.
func rpcSpan(kind trace.SpanKind, name string, scope func() string, system string, names *methodNames) (method string, ok bool) {
	if kind != trace.SpanKindServer && kind != trace.SpanKindClient {
		return "", false
	}
	if system != "" && !rpcSystem(system) {
		return "", false
	}
	trimmed := strings.TrimPrefix(name, "/")
	if i := strings.IndexByte(trimmed, '/'); i > 0 && i < len(trimmed)-1 && strings.IndexByte(trimmed[i+1:], '/') < 0 &&
		strings.IndexByte(trimmed, ' ') < 0 {
		return trimmed, true // named like a method: no plugin span is (their names have no slash)
	}
	switch sc := scope(); {
	case sc == semconv.GRPCGoScope || sc == semconv.GRPCGoScopeV171:
		prefix := semconv.GRPCGoServerPrefix
		if kind == trace.SpanKindClient {
			prefix = semconv.GRPCGoClientPrefix
		}
		dotted := strings.TrimPrefix(name, prefix)
		if dotted == "" {
			return unknownMethod, true
		}
		return names.of(dotted), true
	default:
		return trimmed, sc == otelgrpcScope || system != ""
	}
}

// rpcSystem reports whether an rpc.system (or rpc.system.name) value is one
// of the protocols debugz counts as gRPC calls: gRPC, and gRPC-Web and
// Connect as otelconnect names them in either generation.
func rpcSystem(system string) bool {
	switch system {
	case "grpc", "grpc_web", "connect_rpc", "connectrpc":
		return true
	}
	return false
}

// attemptOf reports whether a span is an attempt of a call made through
// grpc-go's plugin ("Attempt.pkg.Service.Method", internal, the child of
// the call's "Sent." span).
func attemptOf(kind trace.SpanKind, name string, scope func() string) bool {
	if kind != trace.SpanKindInternal || !strings.HasPrefix(name, semconv.GRPCGoAttemptPrefix) {
		return false
	}
	sc := scope()
	return sc == semconv.GRPCGoScope || sc == semconv.GRPCGoScopeV171
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

// unknownMethod is the row of the server calls whose span names no method
// (grpc-go's plugin between v1.73 and v1.83, tracing without metrics).
const unknownMethod = "(unknown)"

// methodNames turns the dotted names of grpc-go's plugin
// ("pkg.Service.Method") into methods ("pkg.Service/Method"). It keeps what
// it made in an immutable map, copied by the rare writer, so that a name
// seen before costs a lookup and no allocation; past maxMethodNames names it
// stops keeping them (a caller's flood of unknown methods).
type methodNames struct {
	m  atomic.Pointer[map[string]string]
	mu sync.Mutex // serialises writers
}

const maxMethodNames = 4096

func (n *methodNames) of(dotted string) string {
	if m := n.m.Load(); m != nil {
		if method, ok := (*m)[dotted]; ok {
			return method
		}
	}
	method := dotted
	if i := strings.LastIndexByte(dotted, '.'); i > 0 && i < len(dotted)-1 {
		method = dotted[:i] + "/" + dotted[i+1:]
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.m.Load()
	if old != nil && len(*old) >= maxMethodNames {
		return method
	}
	m := make(map[string]string, 1)
	if old != nil {
		m = maps.Clone(*old)
	}
	m[strings.Clone(dotted)] = method
	n.m.Store(&m)
	return method
}
