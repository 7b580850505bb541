// Package channelz shows what grpc-go's channelz knows on the debugz pages:
// this process's servers, client channels and subchannels with their state
// and calls, their sockets (streams, messages, keepalives, last message
// times, flow-control windows, security) and each channel's trace events
// (state changes, resolver and balancer updates): the /debug/events page of
// x/net/trace, for gRPC.
//
// Importing this package turns channelz on, through grpc-go's public
// channelz service (google.golang.org/grpc/channelz/service), which debugz
// reads in process over an in-memory connection. channelz tracks only what
// is created after it is on: import this package in main (or wherever the
// servers and clients are made), and pass [Option] to debugz.NewHandler:
//
//	cz, err := channelz.New()
//	...
//	defer cz.Close()
//	r.Mount("/debug/rpcs", debugz.NewHandler(sp, cz.Option()))
//
// Without it, debugz does not turn channelz on: its bookkeeping costs every
// connection and call a little. A server with no TCP or Unix listener (one
// served over an in-memory listener) is not shown.
//
// # Bounds
//
// One reading pages through channelz (a page of 100 at a time, by ID) and
// shows the first 1,000 servers, the first 1,000 client channels, and the
// first 1,000 sockets of each server or subchannel, by ID. Past a bound it
// goes on counting, up to ten times the bound, and the pages say how many
// are not shown ("… and 50 more channels not shown"), or "more than" that
// many when counting stopped too.
package channelz

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/debugz/debugz"
	"google.golang.org/grpc"
	channelzpb "google.golang.org/grpc/channelz/grpc_channelz_v1"
	"google.golang.org/grpc/channelz/service"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Bounds on one reading (see the package doc): the servers and channels
// shown, the sockets shown per server or subchannel, how far past a bound
// a list is counted, and the page size asked of channelz.
const (
	maxServers  = 1000
	maxChannels = 1000
	maxSockets  = 1000
	countFactor = 10
	pageSize    = 100
	parallel    = 8 // channels, subchannels and sockets read at once
	timeout     = 5 * time.Second
)

// bounds are the bounds a Reader applies: the constants, or lower ones in
// tests.
type bounds struct {
	servers, channels, sockets int
}

// ownTarget is the target of the connection debugz reads channelz over,
// left out of what it shows.
const ownTarget = "passthrough:///debugz-channelz"

// Reader reads channelz for the debugz pages. It is safe for concurrent use.
type Reader struct {
	srv    *grpc.Server
	lis    *bufconn.Listener
	conn   *grpc.ClientConn
	client channelzpb.ChannelzClient
	max    bounds // set by New; lowered by tests before the first reading
}

var _ view.Channelz = (*Reader)(nil)

// New starts the in-process channelz service debugz reads. Close it when the
// handler is done.
func New() (*Reader, error) {
	r := &Reader{srv: grpc.NewServer(), lis: bufconn.Listen(1 << 20),
		max: bounds{servers: maxServers, channels: maxChannels, sockets: maxSockets}}
	service.RegisterChannelzServiceToServer(r.srv)
	go func() { _ = r.srv.Serve(r.lis) }()
	conn, err := grpc.NewClient(ownTarget,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return r.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		r.srv.Stop()
		return nil, fmt.Errorf("debugz/channelz: %w", err)
	}
	r.conn, r.client = conn, channelzpb.NewChannelzClient(conn)
	return r, nil
}

// Option is the debugz.NewHandler option that adds the connections pages.
func (r *Reader) Option() debugz.HandlerOption { return debugz.WithChannelz(r) }

// Close stops the in-process channelz service.
func (r *Reader) Close() error {
	err := r.conn.Close()
	r.srv.Stop()
	return err
}

// Overview implements view.Channelz.
func (r *Reader) Overview(ctx context.Context) (view.ChannelzOverview, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var o view.ChannelzOverview
	servers, notShown, err := list(r.max.servers, func(start int64) ([]*channelzpb.Server, bool, error) {
		resp, err := r.client.GetServers(ctx, &channelzpb.GetServersRequest{StartServerId: start, MaxResults: pageSize})
		return resp.GetServer(), resp.GetEnd(), err
	}, func(s *channelzpb.Server) int64 { return s.GetRef().GetServerId() }, nil)
	if err != nil {
		return o, fmt.Errorf("debugz/channelz: servers: %w", err)
	}
	o.ServersNotShown = notShown
	for _, s := range servers {
		ws := view.ChannelzServer{ID: s.GetRef().GetServerId(), Calls: calls(s.GetData().GetCallsStarted(), s.GetData().GetCallsSucceeded(),
			s.GetData().GetCallsFailed(), s.GetData().GetLastCallStartedTimestamp())}
		for _, l := range s.GetListenSocket() {
			sock, err := r.client.GetSocket(ctx, &channelzpb.GetSocketRequest{SocketId: l.GetSocketId()})
			if addr := address(sock.GetSocket().GetLocal()); err == nil && addr != "" {
				ws.Listen = append(ws.Listen, addr)
			}
		}
		if len(ws.Listen) == 0 {
			continue // no TCP or Unix listener: the in-memory server debugz reads channelz from
		}
		refs, notShown, err := list(r.max.sockets, func(start int64) ([]*channelzpb.SocketRef, bool, error) {
			resp, err := r.client.GetServerSockets(ctx, &channelzpb.GetServerSocketsRequest{ServerId: ws.ID, StartSocketId: start, MaxResults: pageSize})
			return resp.GetSocketRef(), resp.GetEnd(), err
		}, (*channelzpb.SocketRef).GetSocketId, nil)
		if err == nil {
			ws.Sockets, ws.SocketsNotShown = r.sockets(ctx, refs), notShown
		}
		o.Servers = append(o.Servers, ws)
	}
	channels, notShown, err := list(r.max.channels, func(start int64) ([]*channelzpb.Channel, bool, error) {
		resp, err := r.client.GetTopChannels(ctx, &channelzpb.GetTopChannelsRequest{StartChannelId: start, MaxResults: pageSize})
		return resp.GetChannel(), resp.GetEnd(), err
	}, func(c *channelzpb.Channel) int64 { return c.GetRef().GetChannelId() },
		func(c *channelzpb.Channel) bool { return c.GetData().GetTarget() != ownTarget })
	if err != nil {
		return o, fmt.Errorf("debugz/channelz: channels: %w", err)
	}
	o.ChannelsNotShown = notShown
	if len(channels) > 0 {
		o.Channels = make([]view.ChannelzChannel, len(channels))
	}
	each(len(channels), func(i int) {
		c := channels[i]
		wc := channel(c.GetRef().GetChannelId(), false, c.GetData())
		for _, sc := range c.GetSubchannelRef() {
			if sub, ok := r.subchannel(ctx, sc.GetSubchannelId()); ok {
				wc.Subchannels = append(wc.Subchannels, sub)
			}
		}
		wc.Events = nil // on the channel's own page
		o.Channels[i] = wc
	})
	return o, nil
}

// each calls f(0) … f(n-1), up to parallel of them at once, and returns when
// all have returned.
func each(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// list pages through a channelz list in ID order: get reads the page from
// ID start on and says whether it is the last. It returns the first bound
// entries that keep accepts (nil keeps all), and counts those after them up
// to countFactor times bound; beyond, the count is a lower bound.
func list[T any](bound int, get func(start int64) ([]T, bool, error), id func(T) int64, keep func(T) bool) ([]T, view.ChannelzNotShown, error) {
	var (
		shown    []T
		notShown view.ChannelzNotShown
		start    int64
	)
	for {
		page, end, err := get(start)
		if err != nil {
			return shown, notShown, err
		}
		for _, e := range page {
			start = id(e) + 1
			switch {
			case keep != nil && !keep(e):
			case len(shown) < bound:
				shown = append(shown, e)
			default:
				notShown.Count++
			}
		}
		if end || len(page) == 0 {
			return shown, notShown, nil
		}
		if notShown.Count >= countFactor*bound {
			notShown.More = true
			return shown, notShown, nil
		}
	}
}

// Channel implements view.Channelz: a channel, or else a subchannel, by ID.
func (r *Reader) Channel(ctx context.Context, id int64) (view.ChannelzChannel, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := r.client.GetChannel(ctx, &channelzpb.GetChannelRequest{ChannelId: id})
	if err == nil {
		wc := channel(id, false, c.GetChannel().GetData())
		for _, sc := range c.GetChannel().GetSubchannelRef() {
			if sub, ok := r.subchannel(ctx, sc.GetSubchannelId()); ok {
				wc.Subchannels = append(wc.Subchannels, sub)
				wc.Sockets = append(wc.Sockets, sub.Sockets...)
				wc.SocketsNotShown.Count += sub.SocketsNotShown.Count
			}
		}
		return wc, true, nil
	}
	if status.Code(err) != codes.NotFound {
		return view.ChannelzChannel{}, false, fmt.Errorf("debugz/channelz: channel %d: %w", id, err)
	}
	if sub, ok := r.subchannel(ctx, id); ok {
		return sub, true, nil
	}
	return view.ChannelzChannel{}, false, nil
}

// subchannel reads subchannel id with its sockets.
func (r *Reader) subchannel(ctx context.Context, id int64) (view.ChannelzChannel, bool) {
	sc, err := r.client.GetSubchannel(ctx, &channelzpb.GetSubchannelRequest{SubchannelId: id})
	if err != nil {
		return view.ChannelzChannel{}, false
	}
	wc := channel(id, true, sc.GetSubchannel().GetData())
	refs := sc.GetSubchannel().GetSocketRef() // all of them: channelz does not page these
	wc.Sockets = r.sockets(ctx, refs[:min(len(refs), r.max.sockets)])
	wc.SocketsNotShown.Count = max(len(refs)-r.max.sockets, 0)
	return wc, true
}

func channel(id int64, sub bool, d *channelzpb.ChannelData) view.ChannelzChannel {
	c := view.ChannelzChannel{ID: id, Subchannel: sub, Target: d.GetTarget(), State: d.GetState().GetState().String(),
		Calls: calls(d.GetCallsStarted(), d.GetCallsSucceeded(), d.GetCallsFailed(), d.GetLastCallStartedTimestamp())}
	for _, e := range d.GetTrace().GetEvents() {
		c.Events = append(c.Events, view.ChannelzEvent{Time: when(e.GetTimestamp()), Severity: e.GetSeverity().String(), Description: e.GetDescription()})
	}
	return c
}

func calls(started, succeeded, failed int64, last *timestamppb.Timestamp) view.ChannelzCalls {
	return view.ChannelzCalls{Started: started, Succeeded: succeeded, Failed: failed, LastStarted: when(last)}
}

// sockets reads the sockets refs name, in their order; a socket closed
// meanwhile is left out. None is nil.
func (r *Reader) sockets(ctx context.Context, refs []*channelzpb.SocketRef) []view.ChannelzSocket {
	if len(refs) == 0 {
		return nil
	}
	out := make([]view.ChannelzSocket, len(refs))
	found := make([]bool, len(refs))
	each(len(refs), func(i int) { out[i], found[i] = r.socket(ctx, refs[i].GetSocketId()) })
	kept := out[:0]
	for i, s := range out {
		if found[i] {
			kept = append(kept, s)
		}
	}
	return kept
}

// socket reads socket id, and false when it is gone.
func (r *Reader) socket(ctx context.Context, id int64) (view.ChannelzSocket, bool) {
	s, err := r.client.GetSocket(ctx, &channelzpb.GetSocketRequest{SocketId: id})
	if err != nil {
		return view.ChannelzSocket{}, false
	}
	d := s.GetSocket().GetData()
	ws := view.ChannelzSocket{ID: id, Local: address(s.GetSocket().GetLocal()), Remote: address(s.GetSocket().GetRemote()),
		StreamsStarted: d.GetStreamsStarted(), StreamsSucceeded: d.GetStreamsSucceeded(), StreamsFailed: d.GetStreamsFailed(),
		MessagesSent: d.GetMessagesSent(), MessagesReceived: d.GetMessagesReceived(), KeepAlivesSent: d.GetKeepAlivesSent(),
		LastMessageSent: when(d.GetLastMessageSentTimestamp()), LastMessageRecv: when(d.GetLastMessageReceivedTimestamp()),
		LocalWindow: -1, RemoteWindow: -1, Security: "insecure"}
	if w := d.GetLocalFlowControlWindow(); w != nil {
		ws.LocalWindow = w.GetValue()
	}
	if w := d.GetRemoteFlowControlWindow(); w != nil {
		ws.RemoteWindow = w.GetValue()
	}
	switch sec := s.GetSocket().GetSecurity(); {
	case sec.GetTls() != nil:
		ws.Security = "TLS " + sec.GetTls().GetStandardName()
	case sec.GetOther() != nil:
		ws.Security = sec.GetOther().GetName()
	}
	return ws, true
}

// address formats a channelz address: host:port, a Unix socket's name, or
// what other addresses call themselves.
func address(a *channelzpb.Address) string {
	switch {
	case a.GetTcpipAddress() != nil:
		t := a.GetTcpipAddress()
		ip, _ := netipAddr(t.GetIpAddress())
		return net.JoinHostPort(ip, strconv.Itoa(int(t.GetPort())))
	case a.GetUdsAddress() != nil:
		return a.GetUdsAddress().GetFilename()
	case a.GetOtherAddress() != nil:
		return a.GetOtherAddress().GetName()
	}
	return ""
}

func netipAddr(b []byte) (string, error) {
	if len(b) != 4 && len(b) != 16 {
		return "", errors.New("not an IP address")
	}
	return net.IP(b).String(), nil
}

func when(t *timestamppb.Timestamp) time.Time {
	if t == nil || (t.GetSeconds() == 0 && t.GetNanos() == 0) {
		return time.Time{}
	}
	return t.AsTime()
}
