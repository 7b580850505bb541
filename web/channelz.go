package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
)

// Connections at "/channelz": what grpc-go's channelz knows of this
// process's servers, client channels and their sockets, read through a
// [Channelz] (github.com/debugz/debugz/channelz). The pages exist only when
// Config.Channelz is set.

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
	Servers  []ChannelzServer
	Channels []ChannelzChannel
}

// ChannelzCalls counts a server's or a channel's calls.
type ChannelzCalls struct {
	Started, Succeeded, Failed int64
	LastStarted                time.Time
}

// ChannelzServer is a gRPC server of the process.
type ChannelzServer struct {
	ID      int64
	Listen  []string // listen addresses
	Calls   ChannelzCalls
	Sockets []ChannelzSocket // its connections
}

// ChannelzChannel is a client channel, or one of its subchannels.
type ChannelzChannel struct {
	ID          int64
	Subchannel  bool
	Target      string
	State       string // IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN
	Calls       ChannelzCalls
	Subchannels []ChannelzChannel // of a top channel, with their sockets
	Sockets     []ChannelzSocket
	Events      []ChannelzEvent // its trace: state changes, resolver and balancer updates
}

// ChannelzSocket is a connection: what flowed over it, and when.
type ChannelzSocket struct {
	ID                               int64
	Local, Remote                    string
	StreamsStarted, StreamsSucceeded int64
	StreamsFailed                    int64
	MessagesSent, MessagesReceived   int64
	KeepAlivesSent                   int64
	LastMessageSent, LastMessageRecv time.Time
	LocalWindow, RemoteWindow        int64  // flow-control windows, bytes; -1 when unknown
	Security                         string // "TLS 1.3 …", "insecure"
}

// ChannelzEvent is a channel trace event.
type ChannelzEvent struct {
	Time        time.Time
	Severity    string
	Description string
}

type channelzPage struct {
	page
	Overview ChannelzOverview
	Err      string
	Peer     string // when set, only the sockets to or from this address
}

type channelPage struct {
	page
	Channel ChannelzChannel
}

func (h *handler) channelz(w http.ResponseWriter, r *http.Request) {
	o, err := h.cfg.Channelz.Overview(r.Context())
	p := channelzPage{page: h.newPage(r, "Connections", "channelz"), Overview: o, Peer: r.URL.Query().Get("peer")}
	if err != nil {
		h.report(err)
		p.Err = err.Error()
	}
	if p.Peer != "" {
		p.Overview = onlyPeer(o, p.Peer)
	}
	h.render(w, r, http.StatusOK, channelzView(p))
}

// lookupChannel validates the {channelID} path parameter and reads the
// channel, answering the error itself.
func (h *handler) lookupChannel(w http.ResponseWriter, r *http.Request) (ChannelzChannel, bool) {
	s := chi.URLParam(r, "channelID")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		h.badRequest(w, r, badParam("channelID", "must be a channel ID, a positive number, not %s", quote(s)))
		return ChannelzChannel{}, false
	}
	c, ok, cerr := h.cfg.Channelz.Channel(r.Context(), id)
	switch {
	case cerr != nil:
		h.report(cerr)
		h.fail(w, r, http.StatusInternalServerError, "channelz: "+cerr.Error())
	case !ok:
		h.fail(w, r, http.StatusNotFound, "No channel "+s+" is known to channelz: it was closed, or never existed.")
	}
	return c, cerr == nil && ok
}

func (h *handler) channel(w http.ResponseWriter, r *http.Request) {
	if c, ok := h.lookupChannel(w, r); ok {
		h.render(w, r, http.StatusOK, channelView(channelPage{page: h.newPage(r, "Channel "+strconv.FormatInt(c.ID, 10), "channelz"), Channel: c}))
	}
}

func (h *handler) apiChannel(w http.ResponseWriter, r *http.Request) {
	if c, ok := h.lookupChannel(w, r); ok {
		h.writeJSON(w, r, http.StatusOK, c)
	}
}

func (h *handler) apiChannelz(w http.ResponseWriter, r *http.Request) {
	o, err := h.cfg.Channelz.Overview(r.Context())
	if err != nil {
		h.report(err)
		h.fail(w, r, http.StatusInternalServerError, "channelz: "+err.Error())
		return
	}
	h.writeJSON(w, r, http.StatusOK, o) // field names as the types say: a view of channelz, not a contract
}

// flowWindow formats a flow-control window: bytes, or "–" when unknown.
func flowWindow(n int64) string {
	if n < 0 {
		return "–"
	}
	return fmtBytes(float64(n))
}

// sinceText is how long ago t was, "never" for the zero time.
func sinceText(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmtDuration(now.Sub(t).Truncate(time.Millisecond)) + " ago"
}

// stateClass colours a connectivity state: READY is fine, a failure is not.
func stateClass(state string) string {
	switch state {
	case "READY":
		return "code ok"
	case "TRANSIENT_FAILURE", "SHUTDOWN":
		return "code err"
	}
	return "code warn"
}

// onlyPeer keeps the sockets whose local or remote address is peer, and the
// servers and channels that have one: the connection an RPC ran on.
func onlyPeer(o ChannelzOverview, peer string) ChannelzOverview {
	keep := func(ss []ChannelzSocket) []ChannelzSocket {
		var out []ChannelzSocket
		for _, s := range ss {
			if s.Remote == peer || s.Local == peer {
				out = append(out, s)
			}
		}
		return out
	}
	var f ChannelzOverview
	for _, s := range o.Servers {
		if s.Sockets = keep(s.Sockets); len(s.Sockets) > 0 {
			f.Servers = append(f.Servers, s)
		}
	}
	for _, c := range o.Channels {
		var subs []ChannelzChannel
		for _, sc := range c.Subchannels {
			if sc.Sockets = keep(sc.Sockets); len(sc.Sockets) > 0 {
				subs = append(subs, sc)
			}
		}
		if c.Subchannels = subs; len(subs) > 0 {
			f.Channels = append(f.Channels, c)
		}
	}
	return f
}
