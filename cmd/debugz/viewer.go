package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/snapshot"
	"github.com/debugz/debugz/internal/view"
	"github.com/debugz/debugz/web"
)

// viewer serves one snapshot's pages, or two side by side (compare.go).
func viewer(snaps ...*snapshot.Snapshot) http.Handler {
	if len(snaps) == 1 {
		return pages(snaps[0])
	}
	mux := http.NewServeMux()
	mux.Handle("/a/", http.StripPrefix("/a", pages(snaps[0])))
	mux.Handle("/b/", http.StripPrefix("/b", pages(snaps[1])))
	mux.Handle("/{$}", compare(snaps[0], snaps[1]))
	return mux
}

// pages are the debugz pages over a snapshot, at the moment it shows, and
// /snapshot: its process's build and runtime figures (about.go).
// What needs the live process says so with 501 Not Implemented: the CPU
// profile, and the follow streams (the live fragments answer 204, which
// tells the pages' script to stop asking).
func pages(s *snapshot.Snapshot) http.Handler {
	m := &s.Meta
	h := web.NewHandler(s, view.Config{Channelz: s.ChannelzSource(), TraceURL: m.TraceURL, NearDeadline: m.NearDeadline,
		Buckets: m.Summary.Buckets, Banner: banner(m), Now: func() time.Time { return m.Taken },
		Snapshot: func(w io.Writer) error { _, err := w.Write(s.Raw); return err }})
	info := about(s)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, q := r.URL.Path, r.URL.Query()
		switch {
		case p == "/snapshot":
			info.ServeHTTP(w, r)
			return
		case strings.HasPrefix(p, "/live/"):
			w.WriteHeader(http.StatusNoContent)
			return
		case p == "/api/profile" || p == "/profile" && q.Has("seconds") || q.Has("follow") && strings.HasPrefix(p, "/api/"):
			http.Error(w, snapshot.ErrLive.Error(), http.StatusNotImplemented)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// banner names the process and the moment a snapshot shows, and what the
// size bound left out.
func banner(m *snapshot.Meta) string {
	p := m.Process
	who := strings.TrimSpace(p.Service + " " + p.Version)
	if who == "" {
		who = "a process"
	}
	b := fmt.Sprintf("Snapshot of %s on %s (pid %d), taken %s: read-only, no live updates or CPU profile.",
		who, p.Host, p.PID, m.Taken.UTC().Format("2006-01-02 15:04:05 UTC"))
	if d := m.Dropped; d.Spans > 0 || d.Logs > 0 || d.GoroutineBytes > 0 {
		b += " Left out to stay within " + strconv.Itoa(m.MaxBytes>>10) + " KiB:"
		if d.Spans > 0 {
			b += fmt.Sprintf(" %d spans (%d successful, %d failed, the oldest first);", d.Spans, d.OK, d.Failed)
		}
		if d.Logs > 0 {
			b += fmt.Sprintf(" %d log records;", d.Logs)
		}
		if d.GoroutineBytes > 0 {
			b += fmt.Sprintf(" %d bytes of the goroutine dump;", d.GoroutineBytes)
		}
		b = strings.TrimSuffix(b, ";") + "."
	}
	return b
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
