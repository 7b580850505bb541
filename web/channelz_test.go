package web

import (
	"testing"

	"github.com/debugz/debugz/internal/view"
)

func TestNotShownText(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    view.ChannelzNotShown
		want string
	}{
		{"all shown", view.ChannelzNotShown{}, ""},
		{"counted", view.ChannelzNotShown{Count: 1234}, "… and 1,234 more channels not shown"},
		{"counting stopped", view.ChannelzNotShown{Count: 10000, More: true}, "… and more than 10,000 more channels not shown"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := notShownText(tt.n, "channels"); got != tt.want {
				t.Errorf("notShownText(%+v) = %q; want %q", tt.n, got, tt.want)
			}
		})
	}
}

// TestOnlyPeerKeepsCuts: filtered to one peer, the overview still says
// what is not shown, where the peer's connection may be.
func TestOnlyPeerKeepsCuts(t *testing.T) {
	o := view.ChannelzOverview{ServersNotShown: view.ChannelzNotShown{Count: 2}, ChannelsNotShown: view.ChannelzNotShown{Count: 3, More: true}}
	if f := onlyPeer(o, "127.0.0.1:1"); f.ServersNotShown != o.ServersNotShown || f.ChannelsNotShown != o.ChannelsNotShown {
		t.Errorf("onlyPeer(%+v) = %+v; want the cuts kept", o, f)
	}
}
