package web

import "testing"

func TestBarClass(t *testing.T) {
	tests := []struct {
		name string
		in   Span
		want string
	}{
		{"server ok", Span{Kind: "server", Code: "OK"}, "server"},
		{"client ok", Span{Kind: "client", Code: "OK", StatusCode: "Unset"}, "client"},
		{"client not found is amber despite Error status", Span{Kind: "client", Code: "NOT_FOUND", StatusCode: "Error"}, "warn"},
		{"server internal", Span{Kind: "server", Code: "INTERNAL", StatusCode: "Error"}, "err"},
		{"internal span in error", Span{Kind: "internal", StatusCode: "Error"}, "err"},
		{"internal span", Span{Kind: "internal", StatusCode: "Unset"}, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := barClass(tt.in); got != tt.want {
				t.Errorf("barClass(%q) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
}
