package web

import "testing"

func TestCodeClass(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"none", "", "code none"},
		{"ok", "OK", "code ok"},
		{"not found", "NOT_FOUND", "code warn"},
		{"invalid argument", "INVALID_ARGUMENT", "code warn"},
		{"cancelled", "CANCELLED", "code warn"},
		{"internal", "INTERNAL", "code err"},
		{"unavailable", "UNAVAILABLE", "code err"},
		{"deadline", "DEADLINE_EXCEEDED", "code err"},
		{"unknown", "UNKNOWN", "code err"},
		{"unknown number", "42", "code err"},
		{"out of range", "CODE(42)", "code err"},
		{"unauthenticated", "UNAUTHENTICATED", "code warn"},
		{"data loss", "DATA_LOSS", "code err"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeClass(tt.in); got != tt.want {
				t.Errorf("codeClass(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNearText(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want nearWords
	}{
		{"threshold", 0.8, nearWords{"more than 80% of the deadline", "used more than 80% of its deadline",
			"calls that used more than 80% of their deadline"}},
		{"rounds", 0.755, nearWords{"more than 76% of the deadline", "used more than 76% of its deadline",
			"calls that used more than 76% of their deadline"}},
		{"none given", 0, nearWords{"most of the deadline", "used most of its deadline", "calls that used most of their deadline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nearText(tt.in); got != tt.want {
				t.Errorf("nearText(%v) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
