package web

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// CPU profiles by method at "/profile" and "/api/profile": the process's CPU
// time over a few seconds, summed by the gRPC method its goroutines served.

// Profile lengths: the default, and the longest a request may ask for.
const (
	defaultProfileSeconds = 5
	maxProfileSeconds     = 30
)

// profilePage is "/profile": a form, and the profile when one was asked for.
type profilePage struct {
	page
	Seconds int
	Profile *view.CPUProfile // nil until asked for
}

// profileSeconds reads the seconds parameter: 0 when absent.
func profileSeconds(r *http.Request) (int, *paramError) {
	s := r.URL.Query().Get("seconds")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxProfileSeconds {
		return 0, badParam("seconds", "must be a whole number of seconds from 1 to %d, not %s", maxProfileSeconds, quote(s))
	}
	return n, nil
}

// cpuProfile takes the profile a request asks for, answering the error
// itself: 409 while another profile runs.
func (h *handler) cpuProfile(w http.ResponseWriter, r *http.Request, seconds int) (view.CPUProfile, bool) {
	p, err := h.src.CPUByMethod(r.Context(), time.Duration(seconds)*time.Second)
	if err != nil {
		status := http.StatusConflict
		if !errors.Is(err, view.ErrProfiling) {
			status = http.StatusInternalServerError
			h.report(err)
		}
		h.fail(w, r, status, err.Error())
		return view.CPUProfile{}, false
	}
	return p, true
}

func (h *handler) profile(w http.ResponseWriter, r *http.Request) {
	seconds, perr := profileSeconds(r)
	if perr != nil {
		h.badRequest(w, r, perr)
		return
	}
	p := profilePage{page: h.newPage(r, "CPU by method", "profile"), Seconds: cmp.Or(seconds, defaultProfileSeconds)}
	if seconds > 0 {
		prof, ok := h.cpuProfile(w, r, seconds)
		if !ok {
			return
		}
		p.Profile = &prof
		p.Now = h.cfg.Now()
	}
	h.render(w, r, http.StatusOK, profileView(p))
}

func (h *handler) apiProfile(w http.ResponseWriter, r *http.Request) {
	seconds, perr := profileSeconds(r)
	if perr != nil {
		h.badRequest(w, r, perr)
		return
	}
	prof, ok := h.cpuProfile(w, r, cmp.Or(seconds, defaultProfileSeconds))
	if !ok {
		return
	}
	type methodJSON struct {
		Method string  `json:"method"` // "" for CPU no labelled goroutine spent
		CPU    int64   `json:"cpu_ns"`
		Share  float64 `json:"share"`
	}
	out := struct {
		Start    time.Time    `json:"start"`
		Duration int64        `json:"duration_ns"`
		Total    int64        `json:"cpu_ns"`
		Methods  []methodJSON `json:"methods"`
	}{Start: prof.Start, Duration: int64(prof.Duration), Total: int64(prof.Total), Methods: []methodJSON{}}
	for _, m := range prof.Methods {
		out.Methods = append(out.Methods, methodJSON{Method: m.Method, CPU: int64(m.CPU), Share: share(m.CPU, prof.Total)})
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// share is d's share of total, 0 without a total.
func share(d, total time.Duration) float64 {
	if total <= 0 {
		return 0
	}
	return float64(d) / float64(total)
}
