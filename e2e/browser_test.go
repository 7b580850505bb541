package e2e_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/go-chi/chi/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// chromium finds the browser for the browser tests. Without one the tests
// skip, unless DEBUGZ_BROWSER=required (as in CI), where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("DEBUGZ_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("DEBUGZ_BROWSER") == "required" {
		t.Fatal("no chromium on PATH and DEBUGZ_BROWSER=required: install Debian's chromium")
	}
	t.Skip("no chromium on PATH: browser test not run (CI installs it and sets DEBUGZ_BROWSER=required)")
	return ""
}

// browser starts headless Chromium in a fresh profile and collects what the
// pages write to the console as errors: console.error calls, uncaught
// exceptions and browser log errors such as CSP violations and failed loads.
func browser(t *testing.T, width int) (context.Context, func() []string) {
	t.Helper()
	return browserFor(t, width, 60*time.Second)
}

// browserFor is browser, for tests that take longer than a minute.
func browserFor(t *testing.T, width int, limit time.Duration) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// dashboard serves the test gRPC service with its spans going to a debugz
// processor, and the dashboard on chi at /debug/rpcs of the returned server.
func dashboard(t *testing.T) (*debugz.SpanProcessor, testpb.TestServiceClient, *httptest.Server) {
	t.Helper()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := grpctest.Start(t, tp, nil, nil)
	r := chi.NewRouter()
	r.Mount("/debug/rpcs", debugz.NewHandler(sp))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close) // after the browser, which holds live streams open, has gone
	return sp, client, srv
}

func TestBrowserLiveSummaryAndDrillDown(t *testing.T) {
	sp, client, srv := dashboard(t)
	ctx, problems := browser(t, 1400)

	if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	grpctest.WaitFor(t, "the first RPC's two spans", func() bool { return len(sp.Spans(debugz.Filter{})) == 2 })

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "UnaryCall")]`)),
	)
	if err != nil {
		t.Fatalf("open summary: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__debugzNoReload = "still here"`)); err != nil {
		t.Fatal(err)
	}

	// A new method's RPC appears in the open page without a reload.
	stream, err := client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{ResponseParameters: make([]*testpb.ResponseParameters, 2)})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//a[contains(., "StreamingOutputCall")]`))); err != nil {
		t.Fatalf("wait for the live update: %v", err)
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__debugzNoReload || "reloaded"`))
	if err != nil || marker != "still here" {
		t.Errorf("marker after update = %q, %v; want the page updated in place, not reloaded", marker, err)
	}

	// Click through: method → its RPCs → one RPC → its trace.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[contains(., "UnaryCall")]`)),
		chromedp.WaitVisible(chromedp.CSS(`table a[href*="spans/"]`)),
		chromedp.Click(chromedp.CSS(`table a[href*="spans/"]`)),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "View trace")]`)),
	)
	if err != nil {
		t.Fatalf("click through to a span: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.Contains(title, "UnaryCall") {
		t.Errorf("span page title = %q, %v; want the method", title, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[contains(., "View trace")]`)),
		chromedp.WaitVisible(chromedp.CSS(`main`)),
	)
	if err != nil {
		t.Fatalf("click through to the trace: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`main a[href*="spans/"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "client") || !strings.Contains(text, "server") || len(links) < 2 {
		t.Errorf("trace page shows %d span links; want the client and the server span:\n%.400s", len(links), text)
	}
	// Folding the client span hides the server span under it; unfolding shows it.
	const visible = `[...document.querySelectorAll('table.waterfall tbody tr')].filter(r => !r.hidden).length`
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](visible))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button.fold`))); err != nil {
		t.Fatalf("fold: %v", err)
	}
	folded, err := chromedp.Run(ctx, chromedp.Evaluate[int](visible))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button.fold`))); err != nil {
		t.Fatalf("unfold: %v", err)
	}
	unfolded, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](visible))
	if err != nil || err2 != nil || folded >= before || unfolded != before {
		t.Errorf("visible rows: %d, folded %d, unfolded %d (%v, %v); want fewer when folded and all again", before, folded, unfolded, err, err2)
	}
	// A span opens beside the waterfall, without leaving the trace.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`table.waterfall a[href*="spans/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#span-detail h2`)),
	)
	if err != nil {
		t.Fatalf("open a span beside the waterfall: %v", err)
	}
	aside, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#span-detail`)))
	url, err2 := chromedp.Run(ctx, chromedp.Location())
	if err != nil || err2 != nil || !strings.Contains(strings.ToLower(aside), "attributes") || !strings.Contains(url, "/traces/") {
		t.Errorf("beside the waterfall: %.200q at %s (%v, %v); want the span's details, still on the trace", aside, url, err, err2)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestBrowserLiveUpdatesHoldStill: live updates patch the page in place: a
// summary scrolled sideways keeps its scroll position and the selected text
// through ten updates; the span list holds new rows behind a "new RPCs"
// button while the reader points at it.
func TestBrowserLiveUpdatesHoldStill(t *testing.T) {
	sp, client, srv := dashboard(t)
	ctx, problems := browser(t, 700) // narrower than the summary: it scrolls sideways

	// Calls all along, so that every live update changes the counts.
	load, stopLoad := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for load.Err() == nil {
			_, _ = client.UnaryCall(load, &testpb.SimpleRequest{})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { stopLoad(); <-done })
	grpctest.WaitFor(t, "a first RPC", func() bool { return len(sp.Spans(debugz.Filter{})) > 0 })

	const setup = `(() => {
		const box = document.querySelector('#live .scroll');
		box.scrollLeft = 200;
		getSelection().selectAllChildren(document.querySelector('#live td.method a'));
		return box.scrollLeft + '|' + getSelection().toString();
	})()`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "UnaryCall")]`))); err != nil {
		t.Fatal(err)
	}
	before, err := chromedp.Run(ctx, chromedp.Evaluate[string](setup))
	if err != nil || !strings.HasPrefix(before, "200|") || !strings.Contains(before, "UnaryCall") {
		t.Fatalf("scroll and select = %q, %v; want 200 px and the method selected", before, err)
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`+document.querySelector('#live').dataset.updates >= 10`,
		chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		t.Fatalf("ten live updates: %v", err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.querySelector('#live .scroll').scrollLeft + '|' + getSelection().toString()`))
	if err != nil || after != before {
		t.Errorf("after ten live updates: scroll|selection = %q, %v; want %q, as before", after, err, before)
	}

	// The span list, with the pointer on it: new rows wait behind a button.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/spans"),
		chromedp.WaitVisible(chromedp.CSS(`#live tr[data-id]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	at, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](
		`(r => [r.x + r.width / 2, r.y + r.height / 2])(document.querySelector('#live tr[data-id]').getBoundingClientRect())`))
	if err != nil || len(at) != 2 {
		t.Fatalf("top row's position = %v, %v", at, err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at[0], at[1])); err != nil {
		t.Fatal(err)
	}
	// Read the top row once the pointer is on the list: from then on,
	// updates wait.
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//button[contains(., "new RPC")]`))); err != nil {
		t.Fatalf("wait for the held-updates button: %v", err)
	}
	still, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`))
	if err != nil || still != first {
		t.Errorf("top row while pointing at the list = %q, %v; want it held at %q", still, err, first)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//button[contains(., "new RPC")]`))); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`))
	if err != nil || shown == first {
		t.Errorf("top row after showing the held update = %q, %v; want a newer RPC than %q", shown, err, first)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestBrowserInFlightOpens: from the in-flight page, a running stream's
// trace and its own page open (they were 404s), marked running.
func TestBrowserInFlightOpens(t *testing.T) {
	sp, client, srv := dashboard(t)
	ctx, problems := browser(t, 1280)

	streamCtx, endStream := context.WithCancel(context.Background())
	defer endStream()
	if _, err := client.FullDuplexCall(streamCtx); err != nil {
		t.Fatal(err)
	}
	grpctest.WaitFor(t, "the stream in flight", func() bool { return len(sp.Active()) > 0 })

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/active"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "FullDuplexCall")]`)),
	)
	if err != nil {
		t.Fatalf("open the in-flight page: %v", err)
	}
	// The page sends when the call started; its script shows how long ago.
	elapsed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live time[data-since]').textContent`))
	if err != nil || strings.HasPrefix(elapsed, "since") || !strings.ContainsAny(elapsed, "0123456789") || !strings.HasSuffix(elapsed, "s") {
		t.Errorf("in-flight Elapsed cell = %q, %v; want a duration the script computed, like 1.23s", elapsed, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#live a[href*="traces/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.waterfall`)),
	)
	if err != nil {
		t.Fatalf("open the in-flight stream's trace: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(text, "FullDuplexCall") || !strings.Contains(text, "running") {
		t.Errorf("trace of an in-flight stream shows %.300q, %v; want the call, marked running", text, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/active"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "FullDuplexCall")]`)),
		chromedp.Click(chromedp.Search(`//a[contains(., "FullDuplexCall")]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(., "so far")]`)),
	)
	if err != nil {
		t.Fatalf("open the in-flight stream's own page: %v", err)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
