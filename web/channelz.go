package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/go-chi/chi/v5"
)

// Connections at "/channelz": what grpc-go's channelz knows of this
// process's servers, client channels and their sockets, read through a
// [Channelz] (github.com/debugz/debugz/channelz). The pages exist only when
// Config.Channelz is set.

type channelzPage struct {
	page
	Overview view.ChannelzOverview
	Err      string
	Peer     string // when set, only the sockets to or from this address
}

type channelPage struct {
	page
	Channel view.ChannelzChannel
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
func (h *handler) lookupChannel(w http.ResponseWriter, r *http.Request) (view.ChannelzChannel, bool) {
	s := chi.URLParam(r, "channelID")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		h.badRequest(w, r, badParam("channelID", "must be a channel ID, a positive number, not %s", quote(s)))
		return view.ChannelzChannel{}, false
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
	h.writeJSON(w, r, http.StatusOK, o)
}

// notShownText says how many entries of a list are not shown ("… and 50
// more channels not shown"), or "" when all are.
func notShownText(n view.ChannelzNotShown, noun string) string {
	switch {
	case n.More:
		return "… and more than " + fmtInt(n.Count) + " more " + noun + " not shown"
	case n.Count > 0:
		return "… and " + fmtInt(n.Count) + " more " + noun + " not shown"
	}
	return ""
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
func onlyPeer(o view.ChannelzOverview, peer string) view.ChannelzOverview {
	keep := func(ss []view.ChannelzSocket) []view.ChannelzSocket {
		var out []view.ChannelzSocket
		for _, s := range ss {
			if s.Remote == peer || s.Local == peer {
				out = append(out, s)
			}
		}
		return out
	}
	// The lists' cuts stay: the connection may be among what is not shown.
	f := view.ChannelzOverview{ServersNotShown: o.ServersNotShown, ChannelsNotShown: o.ChannelsNotShown}
	for _, s := range o.Servers {
		if s.Sockets = keep(s.Sockets); len(s.Sockets) > 0 {
			f.Servers = append(f.Servers, s)
		}
	}
	for _, c := range o.Channels {
		var subs []view.ChannelzChannel
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
