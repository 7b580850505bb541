// Package redact hides credentials in what debugz shows: the pages, JSON and
// OTLP of the root package, and the message capture of grpcstats. It is the
// one place that decides what looks like a secret.
//
// The rules it implements are written once, in the "Redaction" section of
// docs/api.md; its tests hold the examples. [Key] applies the key rules to
// an attribute key, a map key or a protobuf field name (its value is then
// replaced as a whole by [Marker]); a [Redactor] made by [New] also matches
// the extra keys it is given, each as a sequence of whole words. [String]
// applies the value rules to text, whatever its key. [Value] applies String
// to every string in an attribute value, slices and maps included, and
// replaces the value of a map entry whose key is sensitive.
//
// The root package redacts when a page or export is read, never on the RPC
// path; grpcstats redacts the messages it captures as it formats them, only
// for the methods it captures. Key does not allocate (for keys of up to 16
// words), and String allocates only when it changes something.
package redact

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// Marker replaces a redacted value.
const Marker = "[redacted]"

// anywhere are matched anywhere in a key, in any case: what debugz has always
// matched.
var anywhere = [...]string{"authorization", "cookie", "password", "passwd", "token", "secret",
	"apikey", "api-key", "api_key", "credential", "privatekey", "private-key", "private_key",
	"session", "jwt", "bearer"}

// wholeWords are matched only as whole words of a key: as substrings they
// would catch "passenger", "author" or "consider".
var wholeWords = [...]string{"pwd", "pass", "auth", "sid", "otp", "signature", "accesskey", "clientkey"}

// keyOwners are the words that, followed by the word "key", name a key that
// is a credential.
var keyOwners = [...]string{"api", "access", "client", "private", "secret"}

// A Redactor applies the built-in rules and, if made by [New], extra keys.
// The zero Redactor applies the built-in rules only; a nil *Redactor redacts
// nothing and returns everything unchanged. A Redactor is safe for
// concurrent use.
type Redactor struct {
	extra [][]string // each extra key as lowercase words
}

// New returns a Redactor that also treats as sensitive every key holding the
// words of one of extra, adjacent and in order, in any case: "ssn" matches
// "user.ssn" and "userSSN" but not "lesson"; "internal-id" matches
// "X-Internal-ID". Entries without a letter or digit are ignored.
func New(extra ...string) *Redactor {
	r := &Redactor{}
	for _, e := range extra {
		var ws []string
		for _, w := range splitWords(e, nil) {
			ws = append(ws, strings.ToLower(e[w.start:w.end]))
		}
		if len(ws) > 0 {
			r.extra = append(r.extra, ws)
		}
	}
	return r
}

// Key reports whether key, an attribute key, map key or field name, looks
// like it names a credential, by the built-in rules (see the package doc).
// It is safe for concurrent use.
func Key(key string) bool {
	var r Redactor
	return r.Key(key)
}

// String returns s with the credentials it holds replaced by [Marker] (see
// the package doc), or s itself when it holds none. It is safe for
// concurrent use.
func String(s string) string {
	var r Redactor
	return r.String(s)
}

// Value returns v with [String] applied to each string in it, at any depth
// of slices and maps, and the value of each map entry whose key is sensitive
// ([Key]) replaced by [Marker]. It is safe for concurrent use.
func Value(v attribute.Value) attribute.Value {
	var r Redactor
	return r.Value(v)
}

// Key reports whether key looks like it names a credential: by the built-in
// rules, or because it holds the words of one of r's extra keys.
func (r *Redactor) Key(key string) bool {
	if r == nil || key == "" {
		return false
	}
	if hasAnywhere(key) {
		return true
	}
	var buf [16]span
	ws := splitWords(key, buf[:0])
	for i, w := range ws {
		word := key[w.start:w.end]
		for _, ww := range wholeWords {
			if strings.EqualFold(word, ww) {
				return true
			}
		}
		if i > 0 && strings.EqualFold(word, "key") {
			prev := key[ws[i-1].start:ws[i-1].end]
			for _, o := range keyOwners {
				if strings.EqualFold(prev, o) {
					return true
				}
			}
		}
	}
	for _, e := range r.extra {
		if hasWords(key, ws, e) {
			return true
		}
	}
	return false
}

// KeyValue returns kv with its value replaced by [Marker] if its key is
// sensitive, and through [Redactor.Value] otherwise.
func (r *Redactor) KeyValue(kv attribute.KeyValue) attribute.KeyValue {
	if r == nil {
		return kv
	}
	if r.Key(string(kv.Key)) {
		return attribute.String(string(kv.Key), Marker)
	}
	kv.Value = r.Value(kv.Value)
	return kv
}

// Value returns v with [Redactor.String] applied to each string in it, at
// any depth of slices and maps, and the value of each map entry whose key is
// sensitive ([Redactor.Key]) replaced by [Marker]. It returns v when nothing
// changes, except for maps and slices of values, which it copies.
func (r *Redactor) Value(v attribute.Value) attribute.Value {
	if r == nil {
		return v
	}
	switch v.Type() {
	case attribute.STRING:
		if s := r.String(v.AsString()); s != v.AsString() {
			return attribute.StringValue(s)
		}
	case attribute.STRINGSLICE:
		ss, changed := v.AsStringSlice(), false
		for i, s := range ss {
			if t := r.String(s); t != s {
				ss[i], changed = t, true
			}
		}
		if changed {
			return attribute.StringSliceValue(ss)
		}
	case attribute.SLICE:
		vs := v.AsSlice()
		for i := range vs {
			vs[i] = r.Value(vs[i])
		}
		return attribute.SliceValue(vs...)
	case attribute.MAP:
		kvs := v.AsMap()
		for i := range kvs {
			kvs[i] = r.KeyValue(kvs[i])
		}
		return attribute.MapValue(kvs...)
	}
	return v
}

// String returns s with the credentials it holds replaced by [Marker], or s
// itself when it holds none.
func (r *Redactor) String(s string) string {
	if r == nil || len(s) < 4 {
		return s
	}
	s = authorizations(s)
	s = userinfo(s)
	s = r.pairs(s)
	return jwts(s)
}

// editor builds a copy of s with some ranges replaced by Marker, allocating
// only at the first replacement.
type editor struct {
	s       string
	b       strings.Builder
	last    int // end of the last replaced range
	changed bool
}

// replace replaces s[from:to], which starts at or after the last range.
func (e *editor) replace(from, to int) {
	if !e.changed {
		e.b.Grow(len(e.s))
		e.changed = true
	}
	e.b.WriteString(e.s[e.last:from])
	e.b.WriteString(Marker)
	e.last = to
}

func (e *editor) result() string {
	if !e.changed {
		return e.s
	}
	e.b.WriteString(e.s[e.last:])
	return e.b.String()
}

// authorizations redacts the credentials after the HTTP authorization
// schemes Bearer and Basic.
func authorizations(s string) string {
	e := editor{s: s}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != 'b' || (i > 0 && isWordByte(s[i-1])) {
			continue
		}
		var n int
		switch {
		case hasPrefixFold(s[i:], "bearer"):
			n = len("bearer")
		case hasPrefixFold(s[i:], "basic"):
			n = len("basic")
		default:
			continue
		}
		start := i + n
		for start < len(s) && (s[start] == ' ' || s[start] == '\t') {
			start++
		}
		if start == i+n {
			continue // "bearers", "Basic:"
		}
		end := start
		for end < len(s) && !isValueStop(s[end]) && s[end] != ',' && s[end] != ')' {
			end++
		}
		tok := s[start:end]
		if tok == "" || tok == Marker || (n == len("basic") && !looksEncoded(tok)) {
			continue
		}
		e.replace(start, end)
		i = end - 1
	}
	return e.result()
}

// looksEncoded reports whether the token after "Basic" looks like encoded
// credentials rather than a word of prose.
func looksEncoded(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= 'a' && c <= 'z' || i == 0 && c >= 'A' && c <= 'Z' {
			continue
		}
		return true
	}
	return false
}

// userinfo redacts the password of every URL in s ("scheme://user:password@host").
func userinfo(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	e := editor{s: s}
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		start := from + i + len("://")
		end := start
		for end < len(s) && !isAuthorityStop(s[end]) {
			end++
		}
		from = end
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(s[start:start+at], ':')
		if colon < 0 {
			continue
		}
		if pw := s[start+colon+1 : start+at]; pw == "" || pw == Marker {
			continue
		}
		e.replace(start+colon+1, start+at)
	}
	return e.result()
}

// pairs redacts the value of each key=value pair whose key is sensitive.
func (r *Redactor) pairs(s string) string {
	if strings.IndexByte(s, '=') < 0 {
		return s
	}
	e := editor{s: s}
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		ks := i
		for ks > e.last && isKeyByte(s[ks-1]) {
			ks--
		}
		end := i + 1
		for end < len(s) && !isValueStop(s[end]) {
			end++
		}
		if ks == i || end == i+1 || s[i+1:end] == Marker || !r.Key(s[ks:i]) {
			continue // a value may hold key=value pairs of its own
		}
		e.replace(i+1, end)
		i = end - 1
	}
	return e.result()
}

// jwts redacts text shaped like a JSON Web Token: base64url beginning with
// "eyJ" (`{"` encoded), of at least 10 characters, then one or more dots and
// base64url segments (possibly empty, as in a token cut short).
func jwts(s string) string {
	if !strings.Contains(s, "eyJ") {
		return s
	}
	e := editor{s: s}
	for from := 0; ; {
		i := strings.Index(s[from:], "eyJ")
		if i < 0 {
			break
		}
		start := from + i
		from = start + len("eyJ")
		if start > 0 && isBase64URL(s[start-1]) {
			continue
		}
		end := start
		for end < len(s) && isBase64URL(s[end]) {
			end++
		}
		if end-start < 10 || end == len(s) || s[end] != '.' {
			continue
		}
		for end < len(s) && (isBase64URL(s[end]) || s[end] == '.') {
			end++
		}
		e.replace(start, end)
		from = end
	}
	return e.result()
}

// span is a word of a key, key[start:end].
type span struct{ start, end int }

// splitWords appends to ws the words of key: runs of ASCII letters and
// digits, split where a lowercase letter or digit is followed by an
// uppercase one ("accessKey") and before the last of a run of uppercase
// letters followed by a lowercase one ("APIKey").
func splitWords(key string, ws []span) []span {
	start := -1
	for i := 0; i <= len(key); i++ {
		if i == len(key) || !isWordByte(key[i]) {
			if start >= 0 {
				ws = append(ws, span{start, i})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		c, prev := key[i], key[i-1]
		if isUpper(c) && (!isUpper(prev) || i+1 < len(key) && isLower(key[i+1])) {
			ws = append(ws, span{start, i})
			start = i
		}
	}
	return ws
}

// hasWords reports whether the words ws of key hold the lowercase words
// want, adjacent and in order.
func hasWords(key string, ws []span, want []string) bool {
next:
	for i := 0; i+len(want) <= len(ws); i++ {
		for j, w := range want {
			if !strings.EqualFold(key[ws[i+j].start:ws[i+j].end], w) {
				continue next
			}
		}
		return true
	}
	return false
}

// anywhereFirst has bit c-'a' set for the first letter c of each word of
// anywhere (bit 0, 1, for a).
const anywhereFirst = 1 | 1<<('b'-'a') | 1<<('c'-'a') | 1<<('j'-'a') | 1<<('p'-'a') | 1<<('s'-'a') | 1<<('t'-'a')

// hasAnywhere reports whether key holds one of anywhere in any ASCII case,
// without allocating.
func hasAnywhere(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i] | 0x20 // lowercase, for letters
		if c < 'a' || c > 'z' || anywhereFirst&(1<<(c-'a')) == 0 {
			continue
		}
		for _, w := range anywhere {
			if w[0] == c && hasPrefixFold(key[i:], w) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s begins with the lowercase ASCII prefix in
// any ASCII case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if isUpper(c) {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool    { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool    { return c >= 'a' && c <= 'z' }
func isWordByte(c byte) bool { return isUpper(c) || isLower(c) || c >= '0' && c <= '9' }

// isKeyByte reports whether c can be part of the key of a key=value pair.
func isKeyByte(c byte) bool { return isWordByte(c) || c == '_' || c == '-' || c == '.' }

// isValueStop reports whether c ends the value of a key=value pair or an
// authorization's credentials.
func isValueStop(c byte) bool {
	return c == '&' || c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\''
}

// isAuthorityStop reports whether c ends the authority of a URL.
func isAuthorityStop(c byte) bool {
	return c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '"' || c == '\'' || c == '<' || c == '>' || c == '`'
}

func isBase64URL(c byte) bool { return isWordByte(c) || c == '-' || c == '_' }
