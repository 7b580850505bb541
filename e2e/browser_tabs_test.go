package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// livePages are ten live pages of the dashboard, each a view of its own;
// under countedDashboard's load the first six change every second.
var livePages = []string{"", "?sort=count", "?sort=errors", "spans", "spans?kind=server", "spans?kind=client",
	"spans?code=error", "active", "logs", "logs?level=WARN"}

// moves reports whether the live page path changes under load.
func moves(path string) bool { return slices.Index(livePages, path) < 6 }

// countedDashboard is dashboard's service under steady load (an RPC every
// 250 ms, so that live pages change) with the dashboard served again by a
// server that counts the live streams open at once: it returns that server,
// the most streams seen open together so far, and a switch that pauses the
// load.
func countedDashboard(t *testing.T) (*httptest.Server, func() int, *atomic.Bool) {
	t.Helper()
	sp, client, _ := dashboard(t)
	var mu sync.Mutex
	open, most := 0, 0
	h := debugz.NewHandler(sp)
	srv := httptest.NewServer(http.StripPrefix("/debug/rpcs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/live/") {
			mu.Lock()
			open++
			most = max(most, open)
			mu.Unlock()
			defer func() { mu.Lock(); open--; mu.Unlock() }()
		}
		h.ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)
	load, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	paused := new(atomic.Bool)
	go func() {
		defer close(done)
		for load.Err() == nil {
			if !paused.Load() {
				_, _ = client.UnaryCall(load, &testpb.SimpleRequest{})
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	grpctest.WaitFor(t, "a first RPC", func() bool { return len(sp.Spans(debugz.Filter{})) > 0 })
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return most }, paused
}

// updates is how many live updates the page in ctx has received (the span
// list may show some later: it paces its new rows).
const updates = `(+(document.querySelector('#live') || {dataset: {}}).dataset.events || 0)`

// load runs nav (a navigation) in the tab ctx, within 10 s, and returns how
// long it took to load; then it waits (10 s at most) for a live update of
// the page: the first of a new page, one more on a page that moves (one
// shown again from the back/forward cache has updates already).
func load(t *testing.T, ctx context.Context, what string, nav chromedp.Action[chromedp.Void], moves bool) time.Duration {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`1`)); err != nil { // a new tab opens
		t.Fatal(err)
	}
	start := time.Now()
	navCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(navCtx, nav); err != nil {
		t.Fatalf("%s: no load within 10 s: %v", what, err)
	}
	took := time.Since(start)
	t.Logf("%s: loaded in %v", what, took.Round(time.Millisecond))
	want := 1
	if moves {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](updates))
		if err != nil {
			t.Fatal(err)
		}
		want = n + 1
	}
	if err := waitJS(ctx, updates+` >= `+strconv.Itoa(want), 10*time.Second); err != nil {
		t.Fatalf("%s: no live update within 10 s (wanted %d): %v", what, want, err)
	}
	t.Logf("%s: live update %d after %v", what, want, time.Since(start).Round(time.Millisecond))
	return took
}

// waitJS evaluates cond in the tab ctx every 5 ms until it is true, for at
// most limit. chromedp.Poll is not used: it never returns on a page shown
// again from the back/forward cache, and a page changing under it fails it.
func waitJS(ctx context.Context, cond string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		eval, cancelEval := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(eval, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		cancelEval()
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: still false after %v (last error %v)", cond, limit, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestBrowserTenLiveTabs: ten live pages open in ten tabs cost the browser
// at most two connections in all, an eleventh page loads in under 2 s (a
// browser opens six connections per host: one stream per tab stopped the
// seventh), and every tab keeps updating.
func TestBrowserTenLiveTabs(t *testing.T) {
	srv, most, paused := countedDashboard(t)
	ctx, problems := browser(t, 1280)
	base := srv.URL + "/debug/rpcs/"
	var tabs []context.Context
	for i, page := range livePages {
		tab := ctx
		if i > 0 {
			var cancel context.CancelFunc
			tab, cancel = chromedp.NewContext(ctx)
			defer cancel()
		}
		load(t, tab, "tab "+strconv.Itoa(i+1)+": "+page, chromedp.Navigate(base+page), moves(page))
		tabs = append(tabs, tab)
	}
	// The eleventh page loads while the ten hold their streams. The calls
	// pause meanwhile, so that the time measures waiting for a connection,
	// not two cores shared with ten tabs re-rendering.
	eleventh, cancel := chromedp.NewContext(ctx)
	defer cancel()
	paused.Store(true)
	time.Sleep(1500 * time.Millisecond) // the tabs' last renderings of the calls
	took := load(t, eleventh, "an eleventh page", chromedp.Navigate(base+"spans?kind=server&code=ok"), false)
	if took >= 2*time.Second {
		t.Errorf("with ten live tabs open, an eleventh page took %v to load; want under 2 s", took)
	}
	paused.Store(false)
	// Every tab whose page moves still updates.
	var wg sync.WaitGroup
	for i, tab := range append(tabs, eleventh) {
		if i < len(livePages) && !moves(livePages[i]) {
			continue
		}
		n, err := chromedp.Run(tab, chromedp.Evaluate[int](updates))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := waitJS(tab, updates+` > `+strconv.Itoa(n), 20*time.Second); err != nil {
				t.Errorf("tab %d stopped updating: %v", i+1, err)
			}
		})
	}
	wg.Wait()
	if n := most(); n > 2 {
		t.Errorf("the tabs held %d live streams at once; want at most 2", n)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestBrowserBackAndForward: twenty navigations between live pages, ten
// forward by URL, then five back and five forward through the history, each
// load in under 2 s: a page in the back/forward cache lets go of its stream.
// So too in a browser without SharedWorker (Chrome on Android), where each
// page opens its own stream.
func TestBrowserBackAndForward(t *testing.T) {
	t.Run("shared", func(t *testing.T) { backAndForward(t, false) })
	t.Run("no SharedWorker", func(t *testing.T) { backAndForward(t, true) })
}

func backAndForward(t *testing.T, noSharedWorker bool) {
	srv, most, _ := countedDashboard(t)
	ctx, problems := browser(t, 1280)
	base := srv.URL + "/debug/rpcs/"
	if noSharedWorker {
		err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.SharedWorker`})
			return chromedp.Void{}, err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	step := func(what string, nav chromedp.Action[chromedp.Void], page string) {
		t.Helper()
		if took := load(t, ctx, what+" to /"+page, nav, moves(page)); took >= 2*time.Second {
			t.Errorf("%s to /%s took %v; want a load in under 2 s", what, page, took.Round(time.Millisecond))
		}
	}
	for _, page := range livePages {
		step("open", chromedp.Navigate(base+page), page)
	}
	// history.back() and forward(), not chromedp's NavigateBack, which
	// waits for a load event that a page shown from the back/forward cache
	// does not fire: wait for the page's URL and a complete document.
	history := func(js, page string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if _, err := chromedp.Evaluate[any](js+`, null`)(ctx, tg); err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, waitJS(ctx, `location.href === `+strconv.Quote(base+page)+` && document.readyState === 'complete'`, 10*time.Second)
		}
	}
	for i := range 5 {
		page := livePages[len(livePages)-2-i]
		step("back", history("history.back()", page), page)
	}
	for i := range 5 {
		page := livePages[len(livePages)-5+i]
		step("forward", history("history.forward()", page), page)
	}
	if n := most(); n > 2 {
		t.Errorf("the pages held %d live streams at once; want at most 2", n)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
