// Package textcut cuts strings to a number of bytes without splitting a
// UTF-8 sequence: the one rule every debugz package that bounds text uses.
package textcut

import "unicode/utf8"

// Prefix returns the longest prefix of s that is at most n bytes long and
// does not end inside a UTF-8 sequence. n ≤ 0 gives "".
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// Ellipsis returns s if it is at most n bytes long, and otherwise its Prefix
// of n bytes less the ellipsis, followed by "…": at most n bytes in all.
func Ellipsis(s string, n int) string {
	const ellipsis = "…"
	if len(s) <= n {
		return s
	}
	return Prefix(s, n-len(ellipsis)) + ellipsis
}
