package web

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// /api/snapshot: the moment in one file (Config.Snapshot writes it), for
// `debugz view FILE` to open later with these pages.

// unsafeName are the characters a file name does not get from a service name.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (h *handler) apiSnapshot(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer // whole, so that a failure is a 500 and not half a file
	if err := h.cfg.Snapshot(&buf); err != nil {
		h.report(fmt.Errorf("debugz: snapshot: %w", err))
		h.fail(w, r, http.StatusInternalServerError, "The snapshot could not be written: "+err.Error())
		return
	}
	p := h.src.Process()
	name := "debugz"
	if p.Service != "" {
		name += "-" + unsafeName.ReplaceAllString(p.Service, "_")
	}
	name += "-" + h.cfg.Now().UTC().Format("20060102T150405Z") + ".tar.gz"
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(name))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes()) // an error means the client went away
}
