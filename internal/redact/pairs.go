package redact

import "strings"

// Key/value pairs in text: the value of a pair whose key is sensitive is
// redacted, in the forms logs, errors and formatted values use.
//
//	key=value  key = value  key:value  key: value     logfmt, queries, headers, YAML, %v
//	"key": "value"  'key': 'value'  \"key\":\"value\"   JSON, Python, JSON inside a string
//	key="a b"  key='a b'  key=`a b`                      slog's TextHandler, shells
//	key: {…}  key: […]  Key:{…}                          JSON, prototext, %+v
//	{key: "authorization" value: "…"}                    prototext map entries, proto's %v
//	{"name": "X-Api-Key", "value": "…"}                  headers as JSON
//
// The extent of a value is as its form makes clear: a quoted value runs to
// its closing quote (escapes skipped), a bracketed one to its closing
// bracket, and a bare one over the following words of its line up to the
// next pair ("key: a b c other: x"), a '&' or ';', or a ',' or closing
// bracket that ends a word.

// maxNamed is the most bytes looked at for the name of a key in a "key" or
// "name" pair.
const maxNamed = 128

// pairs redacts the value of each pair whose key is sensitive, and the
// value of a "value" pair after a "key" or "name" pair naming a sensitive
// key.
func (r *Redactor) pairs(s string) string {
	e := editor{s: s}
	named := false // the last pair named a sensitive key
	eq, colon := indexFrom(s, 0, '='), indexFrom(s, 0, ':')
	for {
		i := min(eq, colon)
		if i == len(s) {
			break
		}
		next := r.pair(&e, i, &named)
		if eq < next {
			eq = indexFrom(s, next, '=')
		}
		if colon < next {
			colon = indexFrom(s, next, ':')
		}
	}
	return e.result()
}

// pair redacts the value of the pair whose separator is e.s[i], if its key
// is sensitive, and returns where to look for the next separator.
func (r *Redactor) pair(e *editor, i int, named *bool) (next int) {
	s := e.s
	ks, ke := pairKey(s, i, e.last)
	if ks == ke || isNumber(s[ks:ke]) {
		return i + 1 // no key, or a time or an address: "12:30", "10.0.0.1:80"
	}
	key := s[ks:ke]
	sensitive := r.Key(key) || *named && strings.EqualFold(key, "value")
	*named = false
	if !sensitive {
		if strings.EqualFold(key, "key") || strings.EqualFold(key, "name") {
			near := s[:min(len(s), i+1+maxNamed)] // a key's name is short: the look stays so
			vs, ve := pairValue(near, i+1, false)
			*named = vs < ve && r.Key(near[vs:ve])
		}
		return i + 1 // a value may hold pairs of its own
	}
	vs, ve := pairValue(s, i+1, true)
	if v := s[vs:ve]; v == "" || v == Marker || schemeThenMarker(s[vs:]) {
		return i + 1
	}
	e.replace(vs, ve)
	return ve
}

// isNumber reports whether key is digits and dots only.
func isNumber(key string) bool {
	for i := 0; i < len(key); i++ {
		if !isDigit(key[i]) && key[i] != '.' {
			return false
		}
	}
	return true
}

// indexFrom is the index of the first c in s[from:], len(s) if none.
func indexFrom(s string, from int, c byte) int {
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return len(s)
}

// pairKey returns the range of the key before the separator at s[i], empty
// if there is none: a run of key bytes, quoted or not, then blanks. It
// looks no further back than last.
func pairKey(s string, i, last int) (ks, ke int) {
	j := i
	for j > last && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	var quote byte
	if j > last && (s[j-1] == '"' || s[j-1] == '\'') {
		quote = s[j-1]
		if j--; j > last && s[j-1] == '\\' {
			j-- // \"key\": JSON inside a string
		}
	}
	ke = j
	for j > last && isKeyByte(s[j-1]) {
		j--
	}
	if quote != 0 && (j == last || s[j-1] != quote) {
		return 0, 0
	}
	return j, ke
}

// pairValue returns the range of the value that follows a separator at
// s[p:] (blanks skipped): inside its quotes, its brackets included, or its
// bare words. With bracketed false it reads a bracketed value as empty, so
// that a look at a value costs no more than the value.
func pairValue(s string, p int, bracketed bool) (vs, ve int) {
	v := p
	for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	if v == len(s) || s[v] == '\n' || s[v] == '\r' {
		return v, v
	}
	if strings.HasPrefix(s[v:], Marker) {
		return v, v + len(Marker)
	}
	switch c := s[v]; {
	case isQuote(c):
		return v + 1, closeQuote(s, v+1, c)
	case c == '\\' && v+1 < len(s) && s[v+1] == '"':
		end := v + 2
		for end < len(s) && s[end] != '\n' && !(s[end] == '\\' && end+1 < len(s) && s[end+1] == '"') {
			end++
		}
		return v + 2, end
	case c == '{' || c == '[':
		if !bracketed {
			return v, v
		}
		return v, closeBracket(s, v)
	}
	return v, bareEnd(s, v)
}

// closeQuote returns the index of the quote q that closes a value begun at
// s[from:], escapes skipped, or of the end of its line when it is not
// closed there.
func closeQuote(s string, from int, q byte) int {
	for k := from; k < len(s); k++ {
		switch s[k] {
		case q, '\n':
			return k
		case '\\':
			k++
		}
	}
	return len(s)
}

// closeBracket returns the index after the bracket that closes the one at
// s[from], quoted strings skipped, or len(s) when it is not closed.
func closeBracket(s string, from int) int {
	depth := 0
	for k := from; k < len(s); k++ {
		switch c := s[k]; c {
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return k + 1
			}
		case '"', '\'':
			if k > 0 && isWordByte(s[k-1]) {
				continue // an apostrophe: "don't"
			}
			k = closeQuote(s, k+1, c)
		}
	}
	return len(s)
}

// bareEnd returns the end of the bare value that begins at s[v]: its first
// word, and the words after it on its line while they go on with the value.
func bareEnd(s string, v int) int {
	end := wordEnd(s, v)
	for end < len(s) && (s[end] == ' ' || s[end] == '\t') {
		w := end
		for w < len(s) && (s[w] == ' ' || s[w] == '\t') {
			w++
		}
		if w == len(s) || !goesOn(s, w) {
			break
		}
		end = wordEnd(s, w)
	}
	return end
}

// wordEnd returns the end of the word of a value that begins at s[k]: at a
// blank, quote, '&' or ';', or at a ',' or closing bracket that is not
// followed by more of the word ("map[k:v]", "{k: v, …}").
func wordEnd(s string, k int) int {
	for ; k < len(s); k++ {
		c := s[k]
		if isValueStop(c) || (c == ',' || isCloser(c)) && (k+1 == len(s) || !isWordByte(s[k+1])) {
			return k
		}
	}
	return k
}

// goesOn reports whether the word at s[w] goes on with a bare value: it
// does unless it starts a pair of its own, is punctuation or is a marker.
func goesOn(s string, w int) bool {
	c := s[w]
	if !isWordByte(c) && strings.IndexByte("/+_.~!#$%*@^-", c) < 0 || strings.HasPrefix(s[w:], Marker) {
		return false
	}
	k := w
	for k < len(s) && isKeyByte(s[k]) {
		k++
	}
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	return k == w || k == len(s) || s[k] != '=' && s[k] != ':'
}

// schemeThenMarker reports whether v starts with an authorization whose
// credentials were redacted ("Bearer [redacted]"): the scheme stays.
func schemeThenMarker(v string) bool {
	for _, sc := range schemes {
		if hasPrefixFold(v, sc) {
			rest := strings.TrimLeft(v[len(sc):], " \t")
			return len(rest) < len(v)-len(sc) && strings.HasPrefix(rest, Marker)
		}
	}
	return false
}
