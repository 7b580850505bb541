package grpcstats

import (
	"github.com/debugz/debugz/internal/semconv"
	"net"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Values of handler.peerState. Whether the wrapped handler puts a peer
// address on its spans is learnt once (peerUnknown → peerSet or peerUnset)
// and holds for all, since a handler does not change its ways; looking costs
// a copy of the span's attributes.
const (
	peerUnknown = iota
	peerSet
	peerUnset
)

// addsPeer reports whether the RPC's span needs the peer address from
// grpcstats: whether the wrapped handler, judged by span the first time,
// puts none on its spans.
func (h *handler) addsPeer(span trace.Span) bool {
	ps := h.peerState.Load()
	if ps == peerUnknown {
		ps = peerUnset
		if hasPeerAddress(span) {
			ps = peerSet
		}
		h.peerState.Store(ps)
	}
	return ps == peerUnset
}

// hasPeerAddress reports whether span already says its peer's address, in the
// key of any semantic conventions generation. Spans that cannot tell (not the
// SDK's) are taken to have none.
func hasPeerAddress(span trace.Span) bool {
	ro, ok := span.(interface{ Attributes() []attribute.KeyValue })
	if !ok {
		return false
	}
	for _, kv := range ro.Attributes() {
		switch kv.Key {
		case semconv.NetworkPeerAddress, semconv.NetSockPeerAddr, semconv.NetPeerIP:
			return true
		}
	}
	return false
}

// appendPeer appends the address and, when it has one, the port of a.
func appendPeer(attrs []attribute.KeyValue, a net.Addr) []attribute.KeyValue {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP != nil {
		return append(attrs, attribute.String(semconv.NetworkPeerAddress, tcp.IP.String()), attribute.Int(semconv.NetworkPeerPort, tcp.Port))
	}
	s := a.String()
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return append(attrs, attribute.String(semconv.NetworkPeerAddress, s))
	}
	attrs = append(attrs, attribute.String(semconv.NetworkPeerAddress, host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int(semconv.NetworkPeerPort, p))
	}
	return attrs
}
