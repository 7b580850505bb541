package channelz_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/channelz"
	"github.com/debugz/debugz/internal/grpctest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// manyConnections serves grpctest's service on 127.0.0.1 and makes n
// client channels to it, each with a call made: n channels and n server
// sockets. It returns the server's address.
func manyConnections(t *testing.T, n int) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, grpctest.Service{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	addr := lis.Addr().String()
	for range n {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		if _, err := testpb.NewTestServiceClient(conn).UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	return addr
}

// notShown is a list's cut in /api/channelz.
type notShown struct {
	Count int
	More  bool
}

// overview is what the bounds tests read of /api/channelz.
type overview struct {
	Servers []struct {
		Listen          []string
		Sockets         []struct{ ID int64 }
		SocketsNotShown *notShown `json:"sockets_not_shown"`
	}
	Channels         []struct{ Target string }
	ServersNotShown  *notShown `json:"servers_not_shown"`
	ChannelsNotShown *notShown `json:"channels_not_shown"`
}

// readOverview reads /api/channelz and counts the channels to addr and the
// sockets of the server listening on it, with their cuts.
func readOverview(t *testing.T, h http.Handler, addr string) (o overview, channels, sockets int, channelsCut, socketsCut *notShown) {
	t.Helper()
	code, body := grpctest.Get(t, h, "/api/channelz")
	if err := json.Unmarshal([]byte(body), &o); code != 200 || err != nil {
		t.Fatalf("GET /api/channelz = %d, %v: %.300s", code, err, body)
	}
	for _, c := range o.Channels {
		if c.Target == addr {
			channels++
		}
	}
	for _, s := range o.Servers {
		if len(s.Listen) == 1 && s.Listen[0] == addr {
			sockets, socketsCut = len(s.Sockets), s.SocketsNotShown
		}
	}
	return o, channels, sockets, o.ChannelsNotShown, socketsCut
}

// servedConnections opens n client channels to one server (manyConnections)
// and returns a channelz reader and the handler that shows it.
func servedConnections(t *testing.T, n int) (*channelz.Reader, http.Handler, string) {
	t.Helper()
	cz, err := channelz.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cz.Close() })
	addr := manyConnections(t, n)
	return cz, debugz.NewHandler(debugz.NewSpanProcessor(), cz.Option()), addr
}

// TestOverviewPagesThroughAll: with 150 client channels and 150 server
// sockets, more than one page of channelz's each, /api/channelz lists all
// of them and says nothing is left out.
func TestOverviewPagesThroughAll(t *testing.T) {
	const n = 150
	_, h, addr := servedConnections(t, n)
	o, channels, sockets, channelsCut, socketsCut := readOverview(t, h, addr)
	if channels != n || sockets != n {
		t.Errorf("/api/channelz lists %d channels to the server and %d of its sockets; want %d of each", channels, sockets, n)
	}
	if channelsCut != nil || socketsCut != nil || o.ServersNotShown != nil {
		t.Errorf("/api/channelz says channels %v, sockets %v, servers %v are not shown; want all shown", channelsCut, socketsCut, o.ServersNotShown)
	}
	if _, page := grpctest.Get(t, h, "/channelz"); strings.Contains(page, "not shown") {
		t.Error("/channelz says something is not shown; want all shown")
	}
}

// TestOverviewBounds: with bounds lowered below 150 channels and sockets,
// /api/channelz lists as many as the bounds and says exactly how many it
// does not list, and so does /channelz; where counting stops too (at ten
// times the bound), it says "more than".
func TestOverviewBounds(t *testing.T) {
	const n = 150
	cz, h, addr := servedConnections(t, n)

	channelz.SetBounds(cz, 1000, 40, 40)
	o, channels, sockets, channelsCut, socketsCut := readOverview(t, h, addr)
	// Channels are listed by ID: those of earlier tests not yet gone come
	// first, and every one not listed is the test's.
	if len(o.Channels) != 40 || sockets != 40 {
		t.Errorf("with bounds of 40, /api/channelz lists %d channels and %d sockets; want 40 of each", len(o.Channels), sockets)
	}
	if want := (notShown{Count: n - channels}); channelsCut == nil || *channelsCut != want {
		t.Errorf("channels_not_shown = %+v; want %+v", channelsCut, want)
	}
	if want := (notShown{Count: n - 40}); socketsCut == nil || *socketsCut != want {
		t.Errorf("sockets_not_shown = %+v; want %+v", socketsCut, want)
	}
	_, page := grpctest.Get(t, h, "/channelz")
	for _, want := range []string{"… and 110 more connections not shown", "… and " + strconv.Itoa(n-channels) + " more channels not shown"} {
		if !strings.Contains(page, want) {
			t.Errorf("/channelz does not say %q", want)
		}
	}

	// Counting stops at ten times the bound, past a page of channelz's.
	channelz.SetBounds(cz, 1000, 1000, 5)
	_, _, sockets, _, socketsCut = readOverview(t, h, addr)
	if sockets != 5 || socketsCut == nil || !socketsCut.More || socketsCut.Count < 50 || sockets+socketsCut.Count >= n {
		t.Errorf("with a bound of 5, /api/channelz lists %d sockets, sockets_not_shown = %+v; want 5, and more than at least 50 not shown", sockets, socketsCut)
	}
	if _, page := grpctest.Get(t, h, "/channelz"); socketsCut != nil && !strings.Contains(page, "… and more than "+strconv.Itoa(socketsCut.Count)+" more connections not shown") {
		t.Errorf("/channelz does not say more than %d connections are not shown", socketsCut.Count)
	}
}
