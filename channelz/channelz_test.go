package channelz_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/channelz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

// TestConnectionsPages: with a server and a client that made calls, the
// connections pages list the server with its listen address and a socket
// with messages, the client's channel READY with its subchannel's socket,
// and the channel's events; the reader's own in-process connection is left
// out; a bad or unknown channel ID is a 400 or a 404.
func TestConnectionsPages(t *testing.T) {
	cz, err := channelz.New()
	if err != nil {
		t.Fatal(err)
	}
	defer cz.Close()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	// The wrapper puts the peer on the spans with every otelgrpc version:
	// an RPC's page links to the connection by it.
	client := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler { return grpcstats.WrapHandler(h) }, nil)
	for range 3 {
		if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	h := debugz.NewHandler(sp, cz.Option())

	code, body := grpctest.Get(t, h, "/api/channelz")
	var o struct {
		Servers []struct {
			Listen  []string
			Calls   struct{ Started int64 }
			Sockets []struct {
				MessagesReceived int64 `json:"messages_received"`
			}
		}
		Channels []struct {
			ID          int64
			Target      string
			State       string
			Subchannels []struct {
				Sockets []struct {
					MessagesSent int64 `json:"messages_sent"`
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &o); code != 200 || err != nil {
		t.Fatalf("GET /api/channelz = %d, %v: %.300s", code, err, body)
	}
	var served, received bool
	if len(o.Servers) != 1 {
		t.Errorf("%d servers listed; want the test's, not the reader's own in-memory one", len(o.Servers))
	}
	for _, s := range o.Servers {
		served = served || s.Calls.Started >= 3
		for _, so := range s.Sockets {
			received = received || so.MessagesReceived >= 3
		}
	}
	var channelID int64
	for _, c := range o.Channels {
		if strings.Contains(c.Target, "debugz-channelz") {
			t.Error("the reader's own channel is listed")
		}
		if c.State == "READY" && len(c.Subchannels) > 0 && len(c.Subchannels[0].Sockets) > 0 && c.Subchannels[0].Sockets[0].MessagesSent >= 3 {
			channelID = c.ID
		}
	}
	if !served || !received || channelID == 0 {
		t.Errorf("channelz: server with 3 calls %v, socket with 3 messages %v, READY channel with a busy socket %v:\n%.1500s",
			served, received, channelID != 0, body)
	}
	if code, page := grpctest.Get(t, h, "/channelz"); code != 200 || !strings.Contains(page, "READY") || !strings.Contains(page, "Connections") {
		t.Errorf("GET /channelz = %d; want the page with a READY channel", code)
	}
	if code, page := grpctest.Get(t, h, "/channelz/channels/"+strconv.FormatInt(channelID, 10)); code != 200 || !strings.Contains(page, "READY") ||
		!strings.Contains(strings.ToLower(page), "channel created") {
		t.Errorf("GET the channel's page = %d; want its events, from its creation:\n%.1500s", code, page)
	}
	// An RPC's page links to the connection it ran on.
	spans := sp.Spans(debugz.Filter{Method: "grpc.testing.TestService/UnaryCall", Kind: trace.SpanKindClient, Limit: 1})
	if len(spans) == 1 {
		_, page := grpctest.Get(t, h, "/spans/"+spans[0].SpanID.String())
		if !strings.Contains(page, "channelz?peer=") {
			t.Fatalf("the RPC's page does not link to its connection:\n%.3000s", page)
		}
		i := strings.Index(page, "channelz?peer=")
		link := page[i : i+strings.IndexByte(page[i:], '"')]
		if code, conn := grpctest.Get(t, h, "/"+strings.ReplaceAll(link, "&amp;", "&")); code != 200 || !strings.Contains(conn, "Only the connection") {
			t.Errorf("GET %s = %d; want the one connection", link, code)
		}
	} else {
		t.Error("no client span of UnaryCall")
	}
	// And back: a socket links to the calls with its peer.
	_, all := grpctest.Get(t, h, "/channelz")
	n := 0
	for rest := all; ; n++ {
		i := strings.Index(rest, "spans?peer=")
		if i < 0 {
			break
		}
		link := rest[i : i+strings.IndexByte(rest[i:], '"')]
		rest = rest[i+len(link):]
		if _, calls := grpctest.Get(t, h, "/"+strings.ReplaceAll(link, "&amp;", "&")); !strings.Contains(calls, "grpc.testing.TestService/UnaryCall") {
			t.Errorf("GET %s lists no UnaryCall", link)
		}
	}
	if n == 0 {
		t.Error("no socket links to its calls")
	}
	if code, body := grpctest.Get(t, h, "/api/channelz/channels/"+strconv.FormatInt(channelID, 10)); code != 200 || !strings.Contains(body, `"state":"READY"`) {
		t.Errorf("GET /api/channelz/channels/{id} = %d %.300s; want the channel as JSON", code, body)
	}
	if code, _ := grpctest.Get(t, h, "/channelz/channels/999999999"); code != 404 {
		t.Errorf("GET an unknown channel = %d; want 404", code)
	}
	if code, _ := grpctest.Get(t, h, "/channelz/channels/x"); code != 400 {
		t.Errorf("GET a malformed channel ID = %d; want 400", code)
	}
	if code, _ := grpctest.Get(t, debugz.NewHandler(sp), "/channelz"); code != 404 {
		t.Errorf("GET /channelz without the option = %d; want 404", code)
	}
}
