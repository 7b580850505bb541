package web

import (
	"net/http"
	"strconv"
)

// errorPage explains a 400 or 404.
type errorPage struct {
	page
	Status  int
	Message string
}

// statusText is "404 Not Found".
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}
