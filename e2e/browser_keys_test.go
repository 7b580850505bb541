package e2e_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// TestBrowserSummaryKeyboard: a summary row is one tab stop, its method
// link; the arrow keys move among the row's other links and to the rows
// around it, so every count stays reachable from the keyboard.
func TestBrowserSummaryKeyboard(t *testing.T) {
	sp, client, srv := dashboard(t)
	ctx, problems := browser(t, 1280)
	for _, code := range []int32{0, 5, 13} {
		req := &testpb.SimpleRequest{}
		if code != 0 {
			req.ResponseStatus = &testpb.EchoStatus{Code: code, Message: "no"}
		}
		_, _ = client.UnaryCall(context.Background(), req)
	}
	grpctest.WaitFor(t, "six spans", func() bool { return len(sp.Spans(debugz.Filter{})) == 6 })

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "UnaryCall")]`))); err != nil {
		t.Fatal(err)
	}
	// Tab stops per row with links: each must be 1.
	stops, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`Array.from(document.querySelectorAll('table.summary tbody tr'))
		.filter(tr => tr.querySelector('a'))
		.map(tr => tr.querySelectorAll('a:not([tabindex="-1"])').length)`))
	if err != nil || len(stops) < 2 {
		t.Fatalf("tab stops per row = %v, %v; want a server and a client row", stops, err)
	}
	for i, n := range stops {
		if n != 1 {
			t.Errorf("row %d has %d tab stops; want 1, its method link", i, n)
		}
	}
	focused := `(() => { const a = document.activeElement, tr = a.closest('tr');
		return Array.from(document.querySelectorAll('table.summary tbody tr')).indexOf(tr) + ':' +
			Array.from(tr.querySelectorAll('a')).indexOf(a); })()`
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(`table.summary tbody tr a`))); err != nil {
		t.Fatal(err)
	}
	start, err := chromedp.Run(ctx, chromedp.Evaluate[string](focused))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ name, key, want string }{
		{"ArrowRight", kb.ArrowRight, "same row, link 1"},
		{"ArrowRight", kb.ArrowRight, "same row, link 2"},
		{"ArrowLeft", kb.ArrowLeft, "same row, link 1"},
		{"End", kb.End, "same row, last link"},
		{"Home", kb.Home, "same row, link 0"},
	} {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(step.key)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](focused))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("after %s: focus at %s (%s)", step.name, got, step.want)
		if got == start && step.want != "same row, link 0" || got != start && step.want == "same row, link 0" {
			t.Errorf("after %s focus is at %s, from %s; want %s", step.name, got, start, step.want)
		}
	}
	before, _ := chromedp.Run(ctx, chromedp.Evaluate[string](focused))
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowDown)); err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[string](focused))
	if err != nil || after == before || after[len(after)-2:] != ":0" {
		t.Errorf("ArrowDown from %s moved focus to %s, %v; want the next row's method link", before, after, err)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("console errors: %v", p)
	}
}
