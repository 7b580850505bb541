package web

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/view"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// csp allows the handler's own script, style and images and nothing else.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type handler struct {
	src          view.Source
	cfg          view.Config
	interval     time.Duration
	writeTimeout time.Duration
	near         nearWords     // view.Config.NearDeadline in words
	lifetime     time.Duration // of a live stream
	keepAlive    time.Duration // a live stream's quiet time before a heartbeat
	streams      slots         // live streams' slots taken
	feeds        feeds
	activeHTML   sharedPage // /active, while many calls are in flight
}

// NewHandler returns the debugz pages and JSON API, with every path relative
// to where it is mounted. It panics if src is nil.
func NewHandler(src view.Source, cfg view.Config) http.Handler {
	if src == nil {
		panic("debugz: web.NewHandler called with nil Source")
	}
	return newHandler(src, cfg).router()
}

// newHandler sets up the handler; router serves it.
func newHandler(src view.Source, cfg view.Config) *handler {
	h := &handler{src: src, cfg: cfg, interval: cmp.Or(cfg.Interval, time.Second), near: nearText(cfg.NearDeadline),
		writeTimeout: cmp.Or(cfg.WriteTimeout, writeTimeout), lifetime: cmp.Or(cfg.StreamLifetime, streamLifetime),
		keepAlive: keepAlive}
	if h.cfg.Now == nil {
		h.cfg.Now = time.Now
	}
	return h
}

// router routes every page of h.
func (h *handler) router() http.Handler {
	static, _ := fs.Sub(staticFS, "static")

	r := chi.NewRouter()
	r.Use(h.recoverer, h.authorize, securityHeaders, middleware.GetHead)
	r.Get("/", h.takes(summaryParams, h.summary))
	r.Get("/spans", h.takes(queryParams, h.spans))
	r.Get("/spans/{spanID}", h.takes([]string{"stacks"}, h.span))
	r.Get("/traces/{traceID}", h.takes(nil, h.trace))
	r.Get("/active", h.takes(nil, h.active))
	r.Get("/profile", h.takes(profileParams, h.profile))
	if h.cfg.Channelz != nil {
		r.Get("/channelz", h.takes([]string{"peer"}, h.channelz))
		r.Get("/channelz/channels/{channelID}", h.takes(nil, h.channel))
		r.Get("/api/channelz", h.takes(apiParams, h.apiChannelz))
		r.Get("/api/channelz/channels/{channelID}", h.takes(apiParams, h.apiChannel))
	}
	r.Get("/logs", h.takes(logParams, h.logs))
	r.Get("/live/logs", h.takes(logParams, h.live("logs")))
	r.Get("/api/logs", h.takes(append(slices.Clip(logParams), "pretty", "follow"), h.apiLogs))
	r.Get("/live/summary", h.takes(summaryParams, h.live("summary")))
	r.Get("/live/spans", h.takes(queryParams, h.live("spans")))
	r.Get("/live/active", h.takes(nil, h.live("active")))
	r.Get("/live/shared", h.liveShared)
	r.Get("/api/summary", h.takes(apiSummaryParams, h.apiSummary))
	r.Get("/api/spans", h.takes(apiSpansParams, h.apiSpans))
	r.Get("/api/spans/{spanID}", h.takes([]string{"pretty", "stacks"}, h.apiSpan))
	r.Get("/api/traces/{traceID}", h.takes(nil, h.apiTrace))
	r.Get("/api/active", h.takes(apiParams, h.apiActive))
	r.Get("/api/profile", h.takes(apiProfileParams, h.apiProfile))
	if h.cfg.Snapshot != nil {
		r.Get("/api/snapshot", h.takes(nil, h.apiSnapshot))
	}
	files := http.FileServerFS(static)
	r.Get("/static/*", func(w http.ResponseWriter, r *http.Request) {
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = &url.URL{Path: "/" + chi.URLParam(r, "*")}
		files.ServeHTTP(w, r2)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "There is no debugz page at this address.")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, r, http.StatusMethodNotAllowed, "debugz pages are read-only: use GET or HEAD.")
	})
	return r
}

// takes serves next for a request whose query strictQuery accepts, and
// answers 400 naming the parameter otherwise.
func (h *handler) takes(allowed []string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := strictQuery(r, allowed); err != nil {
			h.badRequest(w, r, err)
			return
		}
		next(w, r)
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if !strings.Contains(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a request into a 500, so that a bug in a debug
// page never takes the host process down.
func (h *handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.report(fmt.Errorf("debugz: panic serving %s: %v", r.URL.Path, v))
				http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// report hands an error that has no one to return to to Config.ErrorHandler.
func (h *handler) report(err error) {
	if h.cfg.ErrorHandler != nil {
		h.cfg.ErrorHandler(err)
	}
}

// base returns the relative path from the page being served to the mount
// point: "./" for pages one level down, "../" for /spans/{id} and the like,
// "../../" for /channelz/channels/{id}: one "../" per "/" after the first.
// A live fragment (/live/…) is swapped into its page, one level down, so its
// links are relative to the page, not to the stream.
func base(r *http.Request) string {
	p := ""
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		p = rctx.RoutePath
	}
	if p == "" {
		p = r.URL.Path
	}
	if depth := strings.Count(strings.TrimPrefix(p, "/"), "/"); depth > 0 && !strings.HasPrefix(p, "/live/") {
		return strings.Repeat("../", depth)
	}
	return "./"
}

func (h *handler) newPage(r *http.Request, title, nav string) page {
	return page{Title: title, Base: base(r), Nav: nav, Now: h.cfg.Now(), TraceURL: h.cfg.TraceURL, Near: h.near,
		Process: h.src.Process(), Channelz: h.cfg.Channelz != nil, Snapshot: h.cfg.Snapshot != nil, Banner: h.cfg.Banner}
}

// render writes a component as an HTML page with the given status.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		h.report(fmt.Errorf("debugz: render %s: %w", r.URL.Path, err))
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // an error means the client went away
}

// fail answers a bad request or a missing page: JSON under /api/, HTML elsewhere.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isAPI(r) {
		h.writeJSON(w, r, status, map[string]string{"error": msg})
		return
	}
	p := h.newPage(r, http.StatusText(status), "")
	h.render(w, r, status, errorView(errorPage{page: p, Status: status, Message: msg}))
}

func (h *handler) badRequest(w http.ResponseWriter, r *http.Request, err *paramError) {
	if isAPI(r) {
		h.writeJSON(w, r, http.StatusBadRequest, map[string]string{"error": err.Error(), "parameter": err.Param})
		return
	}
	h.fail(w, r, http.StatusBadRequest, err.Error())
}

func isAPI(r *http.Request) bool {
	rctx := chi.RouteContext(r.Context())
	p := r.URL.Path
	if rctx != nil && rctx.RoutePath != "" {
		p = rctx.RoutePath
	}
	return strings.HasPrefix(p, "/api/") || strings.Contains(r.URL.Path, "/api/")
}

// notRetained is the message of every 404 for an ID: what is missing and
// the two reasons it can be.
func notRetained(what string) string {
	return "No " + what + " is retained: it was evicted to make room for newer spans, or never passed through this process."
}
