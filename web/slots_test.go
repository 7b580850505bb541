package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (127.0.0.0/8 is all loopback on Linux): another client, as the
// server sees it.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: maxStreams + 10}}
}

// get opens path on ts with c and returns the response, closed when t ends.
func get(t *testing.T, ctx context.Context, c *http.Client, ts *httptest.Server, path string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// waitFor polls cond every 10 ms for up to 30 s, and fails t with what if
// it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 3000 {
			t.Fatalf("after 30 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveStreamsCapped: one address gets at most maxClientStreams streams,
// another address still gets its own, and past maxStreams in all a stream
// is refused with 503 and Retry-After; a stream that ends frees its place.
func TestLiveStreamsCapped(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	paths := []string{"/debug/rpcs/live/summary", "/debug/rpcs/live/spans", "/debug/rpcs/api/spans?follow=1"}
	refused := func(resp *http.Response, why string) {
		t.Helper()
		var body []byte
		if resp.StatusCode != 200 { // a stream's body never ends
			body, _ = io.ReadAll(resp.Body)
		}
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), why) {
			t.Errorf("stream past the cap = %d, Retry-After %q, %q; want 503 saying %q", resp.StatusCode, resp.Header.Get("Retry-After"), body, why)
		}
	}
	hog := clientFrom("127.0.0.1")
	var first *http.Response
	for i := range maxClientStreams {
		resp := get(t, ctx, hog, ts, paths[i%3])
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d of one address = %d; want 200", i, resp.StatusCode)
		}
		first = cmpOr(first, resp)
	}
	refused(get(t, ctx, hog, ts, paths[0]), "to one address")
	other := clientFrom("127.0.0.2")
	for i := range maxStreams - maxClientStreams {
		if resp := get(t, ctx, other, ts, paths[i%3]); resp.StatusCode != 200 {
			t.Fatalf("stream %d of another address = %d; want 200: one address must not take every slot", i, resp.StatusCode)
		}
	}
	refused(get(t, ctx, clientFrom("127.0.0.3"), ts, paths[1]), "at most 100 live streams")
	first.Body.Close()
	waitFor(t, "a closed stream never freed its place", func() bool {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/debug/rpcs/live/active", nil)
		resp, err := hog.Do(req)
		if err != nil {
			return false
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
		}
		return resp.StatusCode == 200
	})
}

func cmpOr(a, b *http.Response) *http.Response {
	if a != nil {
		return a
	}
	return b
}

// TestNonReadersFreeTheirSlots: 100 raw clients that open a live page's
// stream and never read past its status line take at most one address's
// share of the slots, a client at another address is served meanwhile, and
// every slot is free again once the streams' lifetime ends.
func TestNonReadersFreeTheirSlots(t *testing.T) {
	h := newHandler(newFakeSource(), view.Config{Interval: 10 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		StreamLifetime: time.Second, Now: func() time.Time { return fixedNow }})
	ts := httptest.NewServer(h.router())
	defer ts.Close()
	admitted := 0
	for i := range 100 {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := fmt.Fprintf(conn, "GET /live/summary?sort=count HTTP/1.1\r\nHost: %s\r\n\r\n", ts.Listener.Addr()); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		status, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if strings.Contains(status, " 200 ") {
			admitted++
		}
	}
	if admitted == 0 || admitted > maxClientStreams {
		t.Errorf("%d streams admitted for one address; want 1 to %d", admitted, maxClientStreams)
	}
	resp := get(t, context.Background(), clientFrom("127.0.0.2"), ts, "/live/summary")
	if resp.StatusCode != 200 {
		t.Fatalf("a reader at another address while 100 clients never read = %d; want 200", resp.StatusCode)
	}
	resp.Body.Close()
	waitFor(t, fmt.Sprintf("streams that are never read still hold their slots (%d taken)", h.streams.open()), func() bool {
		return h.streams.open() == 0
	})
}

// TestStreamsEndAfterTheirLifetime: a live page's stream ends after its
// lifetime, telling the browser to reconnect soon, and so does a follow.
func TestStreamsEndAfterTheirLifetime(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{Interval: 10 * time.Millisecond, StreamLifetime: 200 * time.Millisecond})
	for _, path := range []string{"/debug/rpcs/live/summary", "/debug/rpcs/api/spans?follow=1"} {
		resp := openStream(t, ts, path, map[bool]string{true: "text/event-stream", false: "application/x-ndjson"}[strings.Contains(path, "/live/")])
		body := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(resp.Body)
			body <- string(b)
		}()
		select {
		case b := <-body:
			if strings.Contains(path, "/live/") && !strings.HasSuffix(b, "retry: 250\n\n") {
				t.Errorf("%s ended with %q; want a retry field, so that the page reconnects soon", path, b[max(0, len(b)-40):])
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s still open 30 s after its 200 ms lifetime", path)
		}
	}
}

// TestQuietFollowSendsHeartbeats: a follow that finds nothing to send
// writes an empty line after keepAlive, so that a client that went away, or
// does not read, is noticed.
func TestQuietFollowSendsHeartbeats(t *testing.T) {
	h := newHandler(newFakeSource(), view.Config{Interval: time.Millisecond, Now: func() time.Time { return fixedNow }})
	h.keepAlive = 20 * time.Millisecond
	ts := httptest.NewServer(h.router())
	t.Cleanup(ts.Close) // after the stream is closed
	resp := openStream(t, ts, "/api/logs?follow=1", "application/x-ndjson")
	if line := readLine(t, bufio.NewReader(resp.Body)); line != "\n" {
		t.Errorf("a quiet follow sent %q; want an empty line", line)
	}
}

// TestCrossSiteRefused: every route refuses a request a browser marks as
// sent by another site's page, and serves the same request from this site.
func TestCrossSiteRefused(t *testing.T) {
	ts := newTestServer(t, newFakeSource(), view.Config{Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := clientFrom("127.0.0.1")
	for _, path := range []string{"/", "/spans", "/spans/" + testSpan, "/active", "/logs", "/api/summary", "/api/spans",
		"/api/logs", "/live/summary", "/live/shared?v=active", "/api/spans?follow=1", "/static/debugz.js", "/static/live.js", "/no/such/page"} {
		if resp := get(t, ctx, c, ts, "/debug/rpcs"+path, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != 403 {
			t.Errorf("GET %s from another site = %d; want 403", path, resp.StatusCode)
		}
		for _, site := range []string{"same-origin", "same-site", "none"} {
			if resp := get(t, ctx, c, ts, "/debug/rpcs"+path, "Sec-Fetch-Site", site); resp.StatusCode == 403 {
				t.Errorf("GET %s with Sec-Fetch-Site: %s = 403; want it served", path, site)
			}
		}
	}
}

// TestSharedStream: /live/shared carries several live fragments on one
// stream, each event named by its view's index; a bad view is a 400 naming
// v; it takes a slot per view.
func TestSharedStream(t *testing.T) {
	h := newHandler(newFakeSource(), view.Config{Interval: 10 * time.Millisecond, Now: func() time.Time { return fixedNow }, Buckets: fakeBuckets})
	ts := httptest.NewServer(h.router())
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := url.Values{"v": {"summary?sort=count", "active", "spans?method=user.UserService/FetchUser"}}
	resp := get(t, ctx, http.DefaultClient, ts, "/live/shared?"+q.Encode())
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("shared stream = %d, %s; want 200, text/event-stream", resp.StatusCode, ct)
	}
	seen := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	event := ""
	for len(seen) < 3 && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if event == "" {
				t.Fatalf("data before an event name: %q", line)
			}
			seen[event] += line
		case line == "":
			event = ""
		}
	}
	if !strings.Contains(seen["0"], "FetchUser") || !strings.Contains(seen["2"], testSpan) || seen["1"] == "" || len(seen) != 3 {
		t.Errorf("shared stream events: %q; want the summary as 0, the in-flight table as 1, the FetchUser spans as 2", seen)
	}
	if n := h.streams.open(); n != 3 {
		t.Errorf("a shared stream of 3 views takes %d slots; want 3", n)
	}
	for bad, param := range map[string]string{"v=nope": "v", "v=spans%3Fkind%3Dnope": "v", "v=summary%3Fx%3D1": "v", "x=1": "x", "": "v",
		strings.Repeat("v=active&", maxSharedViews+1): "v"} {
		resp, body := testRequest(t, ts, "GET", "/live/shared?"+bad)
		if resp.StatusCode != 400 || !strings.Contains(body, "parameter &#34;"+param+"&#34;") {
			t.Errorf("shared stream ?%.40s = %d %.200s; want 400 naming the parameter", bad, resp.StatusCode, body)
		}
	}
}
