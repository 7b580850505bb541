package debugz

import (
	"strings"

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
// It is the spelling of the keys of [MethodStats.Codes].
func CodeName(c codes.Code) string { return rpccode.Name(int(c)) }

// otelgrpcScope is otelgrpc's instrumentation scope.
const otelgrpcScope = semconv.OtelgrpcScope

// grpcInfo is what a finished span's attributes tell.
type grpcInfo struct {
	method  string
	code    codes.Code
	hasCode bool
	size    int // estimated bytes of attribute data
	msgs    messageStats
}

// nearDeadline is the share of its deadline beyond which a call is flagged.
const nearDeadline = 0.8

// readAttributes makes the pass over a finished span's attributes that OnEnd
// needs: whether they say it is a gRPC span, its full method, its status code
// and what grpcstats says of its messages; and it gives their size
// ([attrsSize]), for [spanSize]. It does not allocate unless an old otelgrpc
// span's name disagrees with its rpc.service and rpc.method (or an attribute
// holds a slice or a map).
func readAttributes(name string, attrs []attribute.KeyValue) (info grpcInfo, isGRPC bool) {
	var service, method string
	for i := range attrs {
		kv := &attrs[i]
		k := string(kv.Key)
		if len(k) > len(semconv.DebugzPrefix) && k[:len(semconv.DebugzPrefix)] == semconv.DebugzPrefix {
			info.msgs.read(k, kv.Value)
			continue
		}
		if len(k) < 10 || k[:4] != "rpc." {
			continue
		}
		switch k {
		case semconv.RPCSystem, semconv.RPCSystemName:
			isGRPC = isGRPC || kv.Value.AsString() == "grpc"
		case semconv.RPCService:
			service = kv.Value.AsString()
		case semconv.RPCMethod:
			method = kv.Value.AsString()
		case semconv.RPCGRPCStatusCode, semconv.RPCResponseStatusCode:
			info.code, info.hasCode = attrCode(kv.Value), true
		}
	}
	info.method = fullMethod(name, service, method)
	info.size = attrsSize(attrs)
	return info, isGRPC
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

// looksLikeGRPC reports whether a starting span may be a gRPC span. OnStart
// cannot read attributes without making the SDK copy them later, so it goes by
// kind, instrumentation scope and the shape of the name ("pkg.Service/Method").
func looksLikeGRPC(kind trace.SpanKind, name string, scope func() string) bool {
	if kind != trace.SpanKindServer && kind != trace.SpanKindClient {
		return false
	}
	i := strings.IndexByte(name, '/')
	if i > 0 && i < len(name)-1 && strings.IndexByte(name[i+1:], '/') < 0 && strings.IndexByte(name, ' ') < 0 {
		return true
	}
	return scope() == otelgrpcScope
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
