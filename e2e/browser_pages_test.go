package e2e_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/debugz/debugz"
	"github.com/debugz/debugz/channelz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

// loggingService is the test service, logging a warning with attributes in
// the context of every call it is asked to fail.
type loggingService struct {
	grpctest.Service
	log *slog.Logger
}

func (s loggingService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if st := req.GetResponseStatus(); st.GetCode() != 0 && codes.Code(st.GetCode()) != codes.DeadlineExceeded {
		s.log.WarnContext(ctx, "refusing the request", "reason", "quota exceeded", "user", "7")
	}
	return s.Service.UnaryCall(ctx, req)
}

// fullDashboard is a dashboard with something on every page: every kind of
// call, failures with status details and log lines, HTTP spans answered 400
// and 503 above gRPC calls, a stream still running with messages flowing,
// and the connections pages (grpc's channelz).
//
// It returns, besides the server, the pages the crawl must open although
// another page of their shape was opened: a failed call with log lines and
// status details, the HTTP span above one and its trace, the running
// stream, and a CPU profile.
func fullDashboard(t *testing.T) (*httptest.Server, []string, *atomic.Bool) {
	t.Helper()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "browser-test"))))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	cz, err := channelz.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cz.Close() })

	logger := slog.New(sp.LogHandler(slog.DiscardHandler))
	wrap := func(h stats.Handler) stats.Handler {
		return grpcstats.WrapHandler(h, grpcstats.WithProgress(sp), grpcstats.WithProfilerLabels())
	}
	client := grpctest.Start(t, tp, wrap, loggingService{log: logger})
	grpctest.DriveAllKinds(t, client)
	grpctest.DriveCodes(t, client)

	// HTTP spans above gRPC calls: a client's request answered 400 by a
	// gateway whose gRPC call was INVALID_ARGUMENT, and one answered 503.
	var seeds []string
	httpTracer := tp.Tracer("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	for _, c := range []struct {
		status int
		code   codes.Code
	}{{400, codes.InvalidArgument}, {503, codes.Unavailable}} {
		ctx, span := httpTracer.Start(context.Background(), "GET /api/user", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("url.full", "http://gateway/api/user/7")))
		_, _ = client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(c.code), Message: grpctest.WithDetails}})
		span.SetAttributes(attribute.Int("http.response.status_code", c.status))
		span.SetStatus(otelcodes.Error, "")
		span.End()
		if c.status == 400 {
			id := span.SpanContext().SpanID().String()
			seeds = append(seeds, "spans/"+id, "traces/"+span.SpanContext().TraceID().String())
			var server []debugz.Span
			grpctest.WaitFor(t, "the server span under the HTTP span", func() bool {
				server = sp.Spans(debugz.Filter{TraceID: span.SpanContext().TraceID(), Kind: trace.SpanKindServer})
				return len(server) == 1
			})
			seeds = append(seeds, "spans/"+server[0].SpanID.String())
		}
	}

	// A stream that runs while the pages are read, its messages flowing.
	streamCtx, endStream := context.WithCancel(context.Background())
	stream, err := client.FullDuplexCall(streamCtx)
	if err != nil {
		t.Fatal(err)
	}
	flowing := make(chan struct{})
	go func() {
		defer close(flowing)
		for streamCtx.Err() == nil {
			if stream.Send(&testpb.StreamingOutputCallRequest{Payload: grpctest.Payload(100)}) != nil {
				return
			}
			if _, err := stream.Recv(); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// A method that keeps the CPU busy while busy is set, for the CPU page.
	busy := new(atomic.Bool)
	go func() {
		for streamCtx.Err() == nil {
			if busy.Load() {
				_, _ = client.UnaryCall(streamCtx, &testpb.SimpleRequest{ResponseSize: 256 << 10})
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	r := chi.NewRouter()
	r.Mount("/debug/rpcs", debugz.NewHandler(sp, cz.Option()))
	srv := httptest.NewServer(r)
	t.Cleanup(func() { endStream(); <-flowing; srv.Close() })
	grpctest.WaitFor(t, "the stream's messages", func() bool {
		a := sp.Active()
		return len(a) > 0 && a[0].MessagesReceived > 2
	})
	for _, a := range sp.Active() {
		seeds = append(seeds, "spans/"+a.SpanID.String())
	}
	return srv, append(seeds, "profile?seconds=1"), busy
}

// pageShape is what makes pages alike for the crawl: the path with IDs
// and numbers as placeholders, and the query's keys. One page of a shape
// is opened in the browser; every link is fetched.
func pageShape(u *url.URL) string {
	p := regexp.MustCompile(`/[0-9a-f]{16,32}$|/[0-9]+$`).ReplaceAllString(u.Path, "/{id}")
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range u.Query() {
			if !yield(k) {
				return
			}
		}
	})
	return p + "?" + strings.Join(keys, "&")
}

// TestBrowserEveryPage opens every page reachable from the summary (one of
// each shape, the channel pages included) at 1280 and 390 px wide and fails
// on a link that does not answer 2xx, a failed sub-resource, a console
// error, or a page wider than the window. With DEBUGZ_SHOTS set to a
// directory, it saves a screenshot of each page there.
func TestBrowserEveryPage(t *testing.T) {
	srv, seeds, busy := fullDashboard(t)
	root := srv.URL + "/debug/rpcs/"
	checked := map[string]int{} // link → status, shared by both widths
	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			crawl(t, root, seeds, width, checked)
		})
	}
	for _, width := range []int{1280, 1000} {
		t.Run(fmt.Sprint("panel-", width), func(t *testing.T) {
			tracePanel(t, root+seeds[1], width)
		})
	}
	t.Run("profile", func(t *testing.T) {
		busy.Store(true)
		defer busy.Store(false)
		profiling(t, root+"profile")
	})
}

// profiling asks the CPU page for a profile: while it runs the page says
// so, then it shows the samples and each method's top functions.
func profiling(t *testing.T, page string) {
	ctx, problems := browser(t, 1280)
	err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.SetValue(chromedp.CSS(`input[name="seconds"]`), "2"),
	)
	if err != nil {
		t.Fatalf("open the CPU page: %v", err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('form.filter button[type="submit"]').click(),
		(p => p.hidden ? 'hidden' : p.textContent.trim().replace(/\s+/g, ' '))(document.getElementById('profiling'))`))
	if err != nil || !strings.Contains(shown, "Profiling for 2 s") {
		t.Errorf("while it profiles, the page shows %q (%v); want that it is profiling for 2 s", shown, err)
	}
	err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`table.profile tr.func`)))
	if err != nil {
		t.Fatalf("wait for the profile's functions: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !regexp.MustCompile(`\d+ samples`).MatchString(text) || !strings.Contains(text, "UnaryCall") {
		t.Errorf("profile page: %.600q (%v); want its samples and the busy method", text, err)
	}
	if shots := os.Getenv("DEBUGZ_SHOTS"); shots != "" {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(shots, "profile-result-1280.png"), png, 0o644)
		}
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// tracePanel opens a span beside its trace's waterfall (under it, when the
// window is narrow): the waterfall still fits, unclipped, and the panel
// links nowhere to the trace already open.
func tracePanel(t *testing.T, trace string, width int) {
	ctx, problems := browser(t, width)
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(int64(width), 900),
		chromedp.Navigate(trace),
		chromedp.Click(chromedp.CSS(`table.waterfall tbody tr:last-child a[href*="spans/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#span-detail h1`)),
	)
	if err != nil {
		t.Fatalf("open a span beside %s: %v", trace, err)
	}
	fit, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(b => [b.scrollWidth, b.clientWidth])(document.querySelector('.trace-layout .scroll'))`))
	if err != nil || len(fit) != 2 || fit[0] > fit[1] {
		t.Errorf("waterfall beside the panel: %v wide in its box (%v); want it to fit, unclipped", fit, err)
	}
	here, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#span-detail a[href]')].filter(a => a.href.split('#')[0] === location.href.split('#')[0]).map(a => a.outerHTML)`))
	if err != nil || len(here) > 0 {
		t.Errorf("the panel links to the trace already open: %v (%v)", here, err)
	}
	if shots := os.Getenv("DEBUGZ_SHOTS"); shots != "" {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(shots, fmt.Sprintf("trace-panel-%d.png", width)), png, 0o644)
		}
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

func crawl(t *testing.T, root string, seeds []string, width int, checked map[string]int) {
	theme := "light"
	if width < 640 { // the dark theme on phones: both are checked
		theme = "dark"
	}
	browserCtx, problems := browserFor(t, width, 4*time.Minute) // some 30 pages, slow under -race
	shots := os.Getenv("DEBUGZ_SHOTS")

	seen := map[string]bool{}
	queue := []string{root}
	for _, s := range seeds {
		queue = append(queue, root+s)
		seen[root+s] = false // opened although its shape was seen
	}
	for len(queue) > 0 {
		page := queue[0]
		queue = queue[1:]
		u, _ := url.Parse(page)
		shape := pageShape(u)
		if again, seed := seen[page]; seed && !again {
			shape = page
		} else if seen[shape] {
			continue
		}
		seen[shape] = true
		// Each page in a tab of its own, closed after: a live page's
		// stream ends with its tab, as with a person closing it.
		ctx, closeTab := chromedp.NewContext(browserCtx)
		failed := watchLoads(t, ctx)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 900), setTheme(theme), chromedp.Navigate(page), chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
			t.Errorf("open %s: %v", page, err)
			closeTab()
			continue
		}
		links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('a[href], link[href], script[src]')].map(e => e.href || e.src)`))
		if err != nil {
			t.Fatalf("read %s: %v", page, err)
		}
		widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
		if err != nil {
			t.Fatalf("read %s: %v", page, err)
		}
		if widths[0] > widths[1] {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && e.parentElement.getBoundingClientRect().right <= document.documentElement.clientWidth + 1).slice(0, 3).map(e => e.tagName + '.' + e.getAttribute('class')).join(', ')`))
			t.Errorf("%s at %d px: the page is %d px wide, scrolls sideways (widest: %s)", page, width, widths[0], wide)
		}
		if low, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](lowContrast)); err != nil || len(low) > 0 {
			t.Errorf("%s (%s theme): text below 4.5:1 contrast (%v):\n%s", page, theme, err, strings.Join(low, "\n"))
		}
		if shots != "" {
			if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
				t.Errorf("screenshot %s: %v", page, err)
			} else {
				name := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(shape, root), "/debug/rpcs/")), "-"), "-")
				_ = os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%s-%d.png", cmp.Or(name, "summary"), theme, width)), png, 0o644)
			}
		}
		if f := failed(); len(f) > 0 {
			t.Errorf("%s: failed loads or console errors:\n%s", page, strings.Join(f, "\n"))
		}
		closeTab()
		for _, l := range links {
			if !strings.HasPrefix(l, root) {
				t.Errorf("%s links outside the dashboard: %s", page, l)
				continue
			}
			l, _, _ = strings.Cut(l, "#")
			status, ok := checked[l]
			if !ok {
				status = fetchStatus(t, l)
				checked[l] = status
			}
			if status < 200 || status > 299 {
				t.Errorf("%s links to %s: %d", page, l, status)
				continue
			}
			lu, _ := url.Parse(l)
			if l != page && !strings.Contains(lu.Path, "/api/") && !strings.Contains(lu.Path, "/static/") && !strings.Contains(lu.Path, "/live/") {
				queue = append(queue, l)
			}
		}
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
	shapes := slices.Collect(func(yield func(string) bool) {
		for s := range seen {
			if !yield(s) {
				return
			}
		}
	})
	sort.Strings(shapes)
	t.Logf("%d pages at %d px: %s", len(shapes), width, strings.ReplaceAll(strings.Join(shapes, " "), root, ""))
	if len(shapes) < 12 {
		t.Errorf("crawled %d kinds of page; want at least 12 (summary, lists, an RPC, a trace, logs, in flight, connections, a channel, CPU…)", len(shapes))
	}
}

// setTheme makes the page's prefers-color-scheme "light" or "dark".
func setTheme(theme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: theme}}})
		return err
	})
}

// lowContrast lists the visible texts of the page whose colour on their
// background is below WCAG AA: 4.5:1, or 3:1 for large text.
const lowContrast = `(() => {
	const rgba = s => { const m = s.match(/[\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
	const lum = c => { const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
	const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
	const background = e => {
		const layers = [];
		for (; e; e = e.parentElement) {
			const c = rgba(getComputedStyle(e).backgroundColor);
			if (c[3] > 0) layers.push(c);
			if (c[3] >= 1) break;
		}
		let bg = [255, 255, 255, 1];
		if (layers.length && layers[layers.length - 1][3] >= 1) bg = layers.pop();
		else if (matchMedia('(prefers-color-scheme: dark)').matches) bg = [15, 18, 22, 1];
		for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
		return bg;
	};
	const out = [];
	for (const e of document.querySelectorAll('body *')) {
		if (!e.checkVisibility() || e.closest('svg')) continue;
		if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
		const st = getComputedStyle(e);
		const bg = background(e);
		const fg = over(rgba(st.color), bg);
		const a = lum(fg), b = lum(bg);
		const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		const size = parseFloat(st.fontSize), large = size >= 24 || size >= 18.66 && +st.fontWeight >= 700;
		if (ratio < (large ? 3 : 4.5)) out.push(ratio.toFixed(2) + ' ' + e.tagName + '.' + e.getAttribute('class') + ' "' + e.textContent.trim().slice(0, 30) + '"');
	}
	return [...new Set(out)].slice(0, 8);
})()`

// watchLoads collects what goes wrong in the tab of ctx: responses that
// are not 2xx, loads that fail, console errors and uncaught exceptions.
func watchLoads(t *testing.T, ctx context.Context) func() []string {
	var mu sync.Mutex
	var failed []string
	add := func(s string) {
		mu.Lock()
		failed = append(failed, s)
		mu.Unlock()
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
			if ev.Response.Status < 200 || ev.Response.Status > 299 {
				add(fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled { // a live stream ends when its tab closes
				add(fmt.Sprintf("%s: %s", ev.Type, ev.ErrorText))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				add(fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(failed)
	}
}

// fetchStatus is the status a GET of u answers, read without the body: a
// stream answers when it starts.
func fetchStatus(t *testing.T, u string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	began := time.Now()
	defer func() {
		if d := time.Since(began); d > time.Second {
			t.Logf("slow GET %s: %v", u, d)
		}
	}()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", u, err)
		return 0
	}
	_ = res.Body.Close()
	return res.StatusCode
}
