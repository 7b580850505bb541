package web

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/debugz/debugz/internal/view"
)

// Shared JSON helpers: each page's JSON lives in the page's file, and
// docs/api.md is its contract.

// attrsJSON is attributes as a JSON object, key to value (already redacted).
func attrsJSON(attrs []view.Attr) map[string]any {
	m := make(map[string]any, len(attrs))
	for _, a := range attrs {
		m[a.Key] = a.JSON
	}
	return m
}

// writeJSON answers v as JSON with the given status: indented with ?pretty,
// compact otherwise.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var b []byte
	var err error
	if r.URL.Query().Has("pretty") { // for people at a terminal; programs get compact JSON
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		h.report(fmt.Errorf("debugz: encode %s: %w", r.URL.Path, err))
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // an error means the client went away
}
