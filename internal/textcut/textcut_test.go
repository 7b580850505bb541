package textcut

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrefix(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 3, "abc"},
		{"abcdef", 3, "abc"},
		{"héllo", 2, "h"}, // é is two bytes: not split
		{"héllo", 3, "hé"},
		{"日本", 4, "日"},
		{"日本", 2, ""},
		{"abc", 0, ""},
		{"abc", -1, ""},
	}
	for _, tt := range tests {
		if got := Prefix(tt.s, tt.n); got != tt.want {
			t.Errorf("Prefix(%q, %d) = %q; want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestEllipsis(t *testing.T) {
	if got := Ellipsis("short", 10); got != "short" {
		t.Errorf("Ellipsis of a short string = %q; want it unchanged", got)
	}
	long := strings.Repeat("é", 100)
	got := Ellipsis(long, 64)
	if len(got) > 64 || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("Ellipsis(200 bytes, 64) = %q (%d bytes); want ≤ 64 valid bytes ending in …", got, len(got))
	}
}
