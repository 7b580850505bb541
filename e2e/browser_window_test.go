package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// TestBrowserSpanListHoldsItsColumns: while new calls arrive, some failing
// with messages of every length, the span list's Duration column stays
// where it is (it moved by 200 px as the longest message changed), new rows
// come in a few calm batches, and a burst waits behind the "new RPCs"
// button.
func TestBrowserSpanListHoldsItsColumns(t *testing.T) {
	sp, client, srv := dashboard(t)
	ctx, problems := browser(t, 1280)

	for range 3 {
		if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	grpctest.WaitFor(t, "the first calls' spans", func() bool { return len(sp.Spans(debugz.Filter{})) == 6 })
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/spans"),
		chromedp.WaitVisible(chromedp.CSS(`#live tr[data-id]`))); err != nil {
		t.Fatal(err)
	}

	// From now on a call every 700 ms; every other one fails with a reason
	// of a different length, up to 400 characters.
	load, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; load.Err() == nil; i++ {
			req := &testpb.SimpleRequest{}
			if i%2 == 1 {
				why := fmt.Sprintf("call %d refused: %s", i, strings.Repeat("the reason is long ", (i*7)%21+1))
				req.ResponseStatus = &testpb.EchoStatus{Code: int32(codes.FailedPrecondition), Message: why}
			}
			_, _ = client.UnaryCall(load, req)
			select {
			case <-load.Done():
			case <-time.After(700 * time.Millisecond):
			}
		}
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopLoad()
			wg.Wait()
		}
	}
	t.Cleanup(stop)

	// Sample the Duration header's x and the top row for 9 seconds.
	type sample struct {
		X      float64 `json:"x"`
		Cell   float64 `json:"cell"`
		Top    string  `json:"top"`
		Widest int     `json:"widest"`
	}
	samples, err := chromedp.Run(ctx, chromedp.Evaluate[[]sample](`new Promise(resolve => {
		const out = [], end = Date.now() + 9000;
		(function tick() {
			const th = [...document.querySelectorAll('#live table.spans thead th')].find(h => h.textContent.trim() === 'Duration');
			const top = document.querySelector('#live tr[data-id]');
			const cell = top && top.querySelector('td.dur');
			const widest = Math.max(0, ...[...document.querySelectorAll('#live .why')].map(w => w.textContent.length));
			out.push({x: th ? th.getBoundingClientRect().x : -1, cell: cell ? cell.getBoundingClientRect().x : -1,
				top: top ? top.dataset.id : '', widest});
			if (Date.now() < end) setTimeout(tick, 50); else resolve(out);
		})();
	})`, chromedp.EvalAwaitPromise))
	if err != nil || len(samples) < 20 {
		t.Fatalf("sampling the span list: %d samples, %v", len(samples), err)
	}
	batches, widest := 0, 0
	for i, s := range samples {
		if s.X < 0 || s.X != samples[0].X || s.Cell != samples[0].Cell {
			t.Fatalf("sample %d: the Duration column is at x=%v (its top cell at %v); it was at %v (%v): it moved as rows arrived",
				i, s.X, s.Cell, samples[0].X, samples[0].Cell)
		}
		if i > 0 && s.Top != samples[i-1].Top {
			batches++
		}
		widest = max(widest, s.Widest)
	}
	if widest < 200 {
		t.Errorf("the longest reason shown has %d characters; want the long ones (≥ 200) to have arrived in the list", widest)
	}
	if batches < 2 || batches > 5 {
		t.Errorf("new rows came in %d batches over 9 s; want a calm 2 to 5 (one at most every 2.5 s)", batches)
	}

	// A burst: more new rows at once than a batch holds wait behind the
	// button, and the list stays as it was until it is pressed.
	stop()
	// The list settles first: a batch held back from the last calls may
	// still be shown, up to one pace (2.5 s) later.
	var top string
	for settled := false; !settled; {
		before, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		if top, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`)); err != nil {
			t.Fatal(err)
		}
		settled = top == before
	}
	var burst sync.WaitGroup
	for range 20 {
		burst.Add(1)
		go func() {
			defer burst.Done()
			_, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		}()
	}
	burst.Wait()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//button[contains(., "new RPCs")]`))); err != nil {
		t.Fatalf("after a burst of 40 spans, wait for the new-RPCs button: %v", err)
	}
	still, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`))
	if err != nil || still != top {
		t.Errorf("top row with the burst held = %q, %v; want it still %q", still, err, top)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//button[contains(., "new RPCs")]`))); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`))
	if err != nil || shown == top {
		t.Errorf("top row after pressing the button = %q, %v; want one of the burst", shown, err)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// windowCalls ends n server calls of method with code, ended ago, on sp:
// as otelgrpc's spans would, with their end times in the past.
func windowCalls(sp *debugz.SpanProcessor, method string, code codes.Code, n int, ago time.Duration) {
	svc, name, _ := strings.Cut(method, "/")
	for i := range n {
		end := time.Now().Add(-ago)
		var tid trace.TraceID
		var sid trace.SpanID
		copy(tid[:], fmt.Sprintf("w%015d", int(ago/time.Second)*1000+i))
		copy(sid[:], fmt.Sprintf("s%07d", int(ago/time.Second)*1000+i))
		sp.OnEnd(tracetest.SpanStub{
			Name: method, SpanKind: trace.SpanKindServer,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
			StartTime:   end.Add(-time.Millisecond), EndTime: end,
			Attributes: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", svc),
				attribute.String("rpc.method", name), attribute.Int64("rpc.grpc.status_code", int64(code))},
		}.Snapshot())
	}
}

// TestBrowserSummaryWindow: the window chooser changes the summary's
// numbers, keeps the choice in the URL, and a count's link opens the
// calls of that window.
func TestBrowserSummaryWindow(t *testing.T) {
	sp, _, srv := dashboard(t)
	ctx, problems := browser(t, 1280)
	const method = "a.Window/Calls"
	windowCalls(sp, method, codes.OK, 20, 30*time.Minute)
	windowCalls(sp, method, codes.Internal, 7, 5*time.Minute)
	windowCalls(sp, method, codes.OK, 2, 0)

	count := `(() => {
		const a = [...document.querySelectorAll('#live td.method a')].find(a => a.textContent.includes('a.Window/Calls'));
		const cells = a.closest('tr').querySelectorAll('td');
		return cells[2].textContent.trim() + '|' + cells[3].textContent.trim().split(/\s+/)[0] + '|' + location.search;
	})()`
	read := func(step string) string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](count))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return got
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/debug/rpcs/"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "a.Window/")]`))); err != nil {
		t.Fatal(err)
	}
	if got := read("since start"); got != "29|7|" {
		t.Errorf("since start: count|errors|query = %q; want 29|7|", got)
	}
	for _, tt := range []struct{ link, want string }{
		{"the last 10 minutes", "9|7|?window=10m"},
		{"the last minute", "2|0|?window=1m"},
	} {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//nav[@class="window-choice"]//a[.="`+tt.link+`"]`)),
			chromedp.WaitVisible(chromedp.Search(`//nav[@class="window-choice"]//a[@aria-current="page" and .="`+tt.link+`"]`))); err != nil {
			t.Fatalf("choose %s: %v", tt.link, err)
		}
		if got := read(tt.link); got != tt.want {
			t.Errorf("%s: count|errors|query = %q; want %q", tt.link, got, tt.want)
		}
	}
	// Sorting keeps the window; the count opens the calls of the window.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//th//a[contains(., "p99")]`)),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "a.Window/")]`))); err != nil {
		t.Fatal(err)
	}
	if got := read("sorted by p99"); !strings.HasPrefix(got, "2|0|") || !strings.Contains(got, "window=1m") || !strings.Contains(got, "sort=p99") {
		t.Errorf("sorted by p99 in the last minute: %q; want the window kept", got)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const a = [...document.querySelectorAll('#live td.method a')].find(a => a.textContent.includes('a.Window/Calls'));
		a.closest('tr').querySelectorAll('td')[2].querySelector('a').click();
		return '';
	})()`))
	if err != nil {
		t.Fatal(rows, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#live tr[data-id]`))); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.querySelectorAll('#live tr[data-id]').length + '|' + new URLSearchParams(location.search).get('since') + '|' + document.querySelector('input[name=since]').value`))
	if err != nil || got != "2|1m|1m" {
		t.Errorf("the count's calls: rows|since|field = %q, %v; want 2|1m|1m", got, err)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestBrowserLogsPaced: the logs page paces its new records as the span
// list does: a burst of records waits behind a "new log records" button,
// the list staying as it was until the button is pressed (before, every
// update replaced the rows at once).
func TestBrowserLogsPaced(t *testing.T) {
	sp, _, srv := dashboard(t)
	ctx, problems := browser(t, 1280)
	logger := slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil))) // DiscardHandler is enabled for nothing
	logger.Info("first record")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/debug/rpcs/logs"),
		chromedp.WaitVisible(chromedp.CSS(`#live table.paced tr[data-id]`))); err != nil {
		t.Fatal(err)
	}
	// The first records after the page opened come as one batch; wait for
	// it, so that the burst below is the only update pending.
	logger.Info("second record")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//td[contains(., "second record")]`))); err != nil {
		t.Fatalf("wait for the second record: %v", err)
	}
	top, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		logger.Warn("burst", "i", i)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//button[contains(., "new log records: show")]`))); err != nil {
		t.Fatalf("after a burst of 30 records, wait for the new-records button: %v", err)
	}
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#live tr[data-id]').dataset.id`)); err != nil || still != top {
		t.Errorf("top row with the burst held = %q, %v; want it still %q", still, err, top)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//button[contains(., "new log records")]`))); err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#live tr[data-id]').length`))
	if err != nil || rows != 32 {
		t.Errorf("rows after pressing the button = %d, %v; want 32", rows, err)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
