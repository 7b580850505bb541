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
// The files follow the rules: keys.go the key rules, pairs.go the pairs in
// text (key=value, key: value, JSON, YAML, prototext, %v), shapes.go what
// is a secret whatever its key (URL and DSN passwords, authorization
// schemes, private keys, well-known key prefixes, JSON Web Tokens).
//
// The root package redacts when a page or export is read, never on the RPC
// path; grpcstats redacts the messages it captures as it formats them, only
// for the methods it captures. Key does not allocate (for keys of up to 16
// words), and String allocates only when it changes something. String's
// work is linear in its input: every look back or ahead is bounded by what
// the previous look read or by a constant (see maxUserinfo, maxNamed).
package redact

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// Marker replaces a redacted value.
const Marker = "[redacted]"

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
//
// Each pass looks for one family of shapes and copies s only when it finds
// one: private key blocks first (their lines would otherwise read as
// pairs), then the words that announce a credential (authorization schemes,
// well-known key prefixes), passwords in URLs and DSNs, key/value pairs and
// JSON Web Tokens.
func (r *Redactor) String(s string) string {
	if r == nil || len(s) < 4 {
		return s
	}
	s = privateKeys(s)
	s = words(s)
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

func isUpper(c byte) bool    { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool    { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isWordByte(c byte) bool { return wordBytes[c] }

// wordBytes marks the ASCII letters and digits: a look-up is cheaper than
// three comparisons in the loops that look at every byte.
var wordBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = isUpper(byte(c)) || isLower(byte(c)) || isDigit(byte(c))
	}
	return t
}()

// isKeyByte reports whether c can be part of the key of a key=value pair.
func isKeyByte(c byte) bool { return isWordByte(c) || c == '_' || c == '-' || c == '.' }

// isSpace reports whether c is an ASCII space, tab or line break.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isQuote reports whether c opens a quoted value.
func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// isValueStop reports whether c ends a word of a value or an
// authorization's credentials.
func isValueStop(c byte) bool { return c == '&' || c == ';' || isSpace(c) || isQuote(c) }

// isCloser reports whether c closes a bracket.
func isCloser(c byte) bool { return c == ')' || c == ']' || c == '}' }

func isBase64URL(c byte) bool { return isWordByte(c) || c == '-' || c == '_' }
