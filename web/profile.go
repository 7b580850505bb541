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
	out := profileJSON{CPUProfile: prof, Methods: make([]methodCPUJSON, 0, len(prof.Methods))}
	for _, m := range prof.Methods {
		if m.Top == nil {
			m.Top = []view.FuncCPU{} // [], not null
		}
		out.Methods = append(out.Methods, methodCPUJSON{MethodCPU: m, Share: share(m.CPU, prof.Total)})
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// profileJSON is /api/profile (docs/api.md): the view's profile, each
// method with its share of the CPU time.
type profileJSON struct {
	view.CPUProfile
	Methods []methodCPUJSON `json:"methods"`
}

// methodCPUJSON is a method's CPU time and its share of the total; Method
// "" is CPU time no labelled goroutine spent.
type methodCPUJSON struct {
	view.MethodCPU
	Share float64 `json:"share"`
}

// roughSamples is the count of samples under which a profile's shares are
// rough: a method's share moves by several points with one sample.
const roughSamples = 100

// anyLabelled says whether some of the profile's CPU was spent serving a
// labelled RPC (grpcstats.WithProfilerLabels).
func anyLabelled(p view.CPUProfile) bool {
	for _, m := range p.Methods {
		if m.Method != "" {
			return true
		}
	}
	return false
}

// share is d's share of total, 0 without a total.
func share(d, total time.Duration) float64 {
	if total <= 0 {
		return 0
	}
	return float64(d) / float64(total)
}
