package redact

import "strings"

// The shapes a credential has whatever its key: private key blocks, the
// words that announce one (authorization schemes, the prefixes of
// well-known keys), the password of a URL or DSN, and JSON Web Tokens.

// privateKeys redacts the body of each PEM private key block, from
// "-----BEGIN … PRIVATE KEY-----" to "-----END", or to the end of s when
// the block was cut short. The armor lines stay, to say what was there.
func privateKeys(s string) string {
	const begin, dashes = "-----BEGIN ", "-----"
	if !strings.Contains(s, begin) {
		return s
	}
	e := editor{s: s}
	for from := 0; ; {
		i := strings.Index(s[from:], begin)
		if i < 0 {
			break
		}
		label := from + i + len(begin)
		n := strings.Index(s[label:], dashes)
		if n < 0 {
			break
		}
		from = label + n + len(dashes)
		if !strings.Contains(s[label:label+n], "PRIVATE KEY") || strings.ContainsAny(s[label:label+n], "\n\r") {
			continue
		}
		end := len(s)
		if j := strings.Index(s[from:], "-----END "); j >= 0 {
			end = from + j
		}
		if body := s[from:end]; body != "" && body != Marker {
			e.replace(from, end)
		}
		from = end
	}
	return e.result()
}

// keyPrefix is the prefix of a well-known kind of key or token, and the
// fewest characters (ASCII letters, digits, '-' and '_') that follow it in
// one: fewer is a word that happens to start the same way.
type keyPrefix struct {
	prefix string
	min    int
}

// keyPrefixes are the prefixes of keys that are secret wherever they
// appear, matched at the start of a word in this case. The prefix stays,
// to say what kind of key was there.
var keyPrefixes = [...]keyPrefix{
	{"sk_live_", 10}, {"sk_test_", 10}, {"rk_live_", 10}, {"rk_test_", 10}, {"whsec_", 10}, // Stripe
	{"ghp_", 20}, {"gho_", 20}, {"ghu_", 20}, {"ghs_", 20}, {"ghr_", 20}, {"github_pat_", 20}, // GitHub
	{"glpat-", 16},                                                                           // GitLab
	{"xoxb-", 10}, {"xoxp-", 10}, {"xoxa-", 10}, {"xoxr-", 10}, {"xoxs-", 10}, {"xoxe-", 10}, // Slack
	{"xapp-", 10},
	{"AKIA", 16}, {"ASIA", 16}, // AWS access key IDs
	{"AIza", 30}, // Google API keys
	{"npm_", 30}, // npm
	{"sk-proj-", 20}, {"sk-ant-", 20}, {"hf_", 30},
}

// minPrefixed is the length of the shortest key with a well-known prefix.
const minPrefixed = 14

// schemes are the HTTP authorization schemes whose credentials follow them
// after a space.
var schemes = [...]string{"bearer", "basic", "token", "digest"}

// wordStarts marks the bytes that can start a scheme or a key prefix: the
// words pass looks no further at any other.
var wordStarts = func() (t [256]bool) {
	for _, s := range schemes {
		t[s[0]], t[s[0]-'a'+'A'] = true, true
	}
	for _, p := range keyPrefixes {
		t[p.prefix[0]] = true
	}
	return t
}()

// words redacts the credentials that a word announces, at the start of a
// word: those after an authorization scheme ("Bearer x", "token x",
// "Digest username=…, response=…") and the rest of a key with a well-known
// prefix ("sk_live_…", "ghp_…", "AKIA…").
func words(s string) string {
	e := editor{s: s}
	for i := 0; i < len(s); i++ {
		if !wordStarts[s[i]] || i > 0 && isWordByte(s[i-1]) {
			continue
		}
		from, to := schemeCredentials(s, i)
		if from == to {
			from, to = prefixedKey(s, i)
		}
		if from < to {
			e.replace(from, to)
			i = to - 1
		}
	}
	return e.result()
}

// schemeCredentials returns the range of the credentials after the
// authorization scheme at s[i:], empty if there is none. Bearer takes any
// word; Basic and token one that looks encoded, not prose ("basic auth
// failed", "the token is"); Digest its list of parameters.
func schemeCredentials(s string, i int) (from, to int) {
	var scheme string
	for _, sc := range schemes {
		if hasPrefixFold(s[i:], sc) {
			scheme = sc
			break
		}
	}
	start := i + len(scheme)
	for start < len(s) && (s[start] == ' ' || s[start] == '\t') {
		start++
	}
	if scheme == "" || start == i+len(scheme) || strings.HasPrefix(s[start:], Marker) {
		return 0, 0 // "bearers", "Basic:", or done
	}
	if start < len(s) && (s[start] == '=' || s[start] == ':') {
		return 0, 0 // "token = x": a pair, which pairs redacts
	}
	if scheme == "digest" {
		return start, digestParams(s, start)
	}
	end := start
	for end < len(s) && !isValueStop(s[end]) && s[end] != ',' && !isCloser(s[end]) {
		end++
	}
	tok := s[start:end]
	switch {
	case scheme == "basic" && !looksEncoded(tok), scheme == "token" && (len(tok) < 8 || !looksEncoded(tok)):
		return 0, 0
	}
	return start, end
}

// digestParams returns the end of the parameters of a Digest authorization
// that begin at s[start:] (`username="bob", response="…"`), start if there
// are none.
func digestParams(s string, start int) int {
	end := start
	for k := start; ; {
		ks := k
		for k < len(s) && isKeyByte(s[k]) {
			k++
		}
		if k == ks || k == len(s) || s[k] != '=' {
			return end
		}
		k++
		if k < len(s) && s[k] == '"' {
			k = closeQuote(s, k+1, '"')
			if k < len(s) && s[k] == '"' {
				k++
			}
		} else {
			for k < len(s) && !isValueStop(s[k]) && s[k] != ',' {
				k++
			}
		}
		end = k
		if k < len(s) && s[k] == ',' {
			k++
		}
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
	}
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

// prefixedKey returns the range of the key after a well-known prefix at
// s[i:], empty if there is none.
func prefixedKey(s string, i int) (from, to int) {
	if len(s)-i < minPrefixed {
		return 0, 0
	}
	for k := i; k < i+minPrefixed; k++ {
		if !isBase64URL(s[k]) {
			return 0, 0 // a short word: most are
		}
	}
	for _, p := range keyPrefixes {
		if p.prefix[0] != s[i] || !strings.HasPrefix(s[i:], p.prefix) {
			continue
		}
		from = i + len(p.prefix)
		to = from
		for to < len(s) && isBase64URL(s[to]) {
			to++
		}
		if to-from >= p.min {
			return from, to
		}
	}
	return 0, 0
}

// maxUserinfo is the most bytes of text looked at for the user, password
// and host of a URL or DSN: they are short, and the looks stay linear in
// the text.
const maxUserinfo = 512

// userinfo redacts the password of every URL ("scheme://user:password@host")
// and of every DSN without a scheme ("user:password@tcp(host)/db",
// "user:password@host:5432/db").
func userinfo(s string) string {
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
	return dsns(urls(s))
}

// urls redacts the password of every URL. The password may hold any
// character but a space or a quote, '/', '?', '#' and '@' included: it runs
// to the last '@' before the path, query or fragment that follows the
// first '@'.
func urls(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	e := editor{s: s}
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		user := from + i + len("://")
		for user < len(s) && s[user] == '/' {
			user++ // a gRPC target's endpoint: "passthrough:///user:pw@host"
		}
		from = user
		colon := user // ends the user
		for colon < len(s) && colon-user < maxUserinfo && !isURLStop(s[colon]) && strings.IndexByte(":/?#@", s[colon]) < 0 {
			colon++
		}
		if colon == len(s) || s[colon] != ':' {
			continue
		}
		first := colon + 1 // the first '@' after the user, before the URL ends or another begins
		for first < len(s) && first-user < maxUserinfo && s[first] != '@' && !isURLStop(s[first]) && !urlFollows(s, first) {
			first++
		}
		if first == len(s) || s[first] != '@' {
			continue
		}
		host := first // ends the host
		for host < len(s) && host-user < maxUserinfo && !isURLStop(s[host]) && s[host] != '/' && s[host] != '?' && s[host] != '#' {
			host++
		}
		at := colon + strings.LastIndexByte(s[colon:host], '@')
		pw := s[colon+1 : at]
		if pw == "" || pw == Marker || isPortAndPath(pw) {
			continue
		}
		e.replace(colon+1, at)
		from = at
	}
	return e.result()
}

// urlFollows reports whether the ':' at s[i] ends a URL's userinfo: it
// starts another URL ("://"), or it did before a first pass redacted what
// followed it (":[redacted]"), so that a second pass finds nothing more.
func urlFollows(s string, i int) bool {
	return s[i] == ':' && (strings.HasPrefix(s[i+1:], "/") || strings.HasPrefix(s[i+1:], Marker))
}

// isPortAndPath reports whether what looks like a password is the port and
// path of a URL whose path holds an '@' ("host:8080/@scope/pkg").
func isPortAndPath(pw string) bool {
	slash := strings.IndexAny(pw, "/?#")
	if slash <= 0 {
		return false
	}
	for i := 0; i < slash; i++ {
		if pw[i] < '0' || pw[i] > '9' {
			return false
		}
	}
	return true
}

// dsns redacts the password of every DSN without a scheme: "user:password@"
// followed by a protocol and a parenthesis (Go's MySQL driver:
// "bob:pw@tcp(db:3306)/app") or by a host and a port or path
// ("bob:pw@db:5432/app"). The user is a word; the password runs from the
// first ':' after it to the '@', and may hold any character but a space or a
// quote.
func dsns(s string) string {
	e := editor{s: s}
	prevAt, prevStart := -1, 0 // the last '@' looked back from, and the start of its text
	for from := 0; ; {
		i := strings.IndexByte(s[from:], '@')
		if i < 0 {
			break
		}
		at := from + i
		from = at + 1
		if !hostFollows(s, at+1) {
			continue
		}
		// The start of the text holding the '@', looked for back to the
		// last '@' looked back from only: the look stays linear in s.
		lo := max(e.last, prevAt+1)
		start := at
		for start > lo && !isDSNStop(s[start-1]) {
			start--
		}
		if start == lo && lo == prevAt+1 {
			start = max(prevStart, e.last) // the same text as the last '@'
		}
		prevAt, prevStart = at, start
		if at-start > maxUserinfo {
			continue // too long for a user and password
		}
		for start < at && s[start] == '/' {
			start++ // an endpoint as a path: "/user:pw@host:port"
		}
		colon := start
		for colon < at && isKeyByte(s[colon]) {
			colon++
		}
		if colon == start || colon == at || s[colon] != ':' || strings.Contains(s[start:at], "://") {
			continue
		}
		if pw := s[colon+1 : at]; pw != "" && pw != Marker {
			e.replace(colon+1, at)
		}
	}
	return e.result()
}

// hostFollows reports whether s[i:] starts with what follows the '@' of a
// DSN: a protocol and its parenthesis ("tcp(", "unix("), or a host name and
// a port or a path ("db:5432", "db/app").
func hostFollows(s string, i int) bool {
	k := i
	for k < len(s) && isLower(s[k]) {
		k++
	}
	if k > i && k < len(s) && s[k] == '(' {
		return true
	}
	for k < len(s) && (isWordByte(s[k]) || s[k] == '.' || s[k] == '-') {
		k++
	}
	if k == i || k == len(s) {
		return false
	}
	return s[k] == '/' || s[k] == ':' && k+1 < len(s) && s[k+1] >= '0' && s[k+1] <= '9'
}

// isURLStop reports whether c ends a URL in text.
func isURLStop(c byte) bool { return isSpace(c) || isQuote(c) || c == '<' || c == '>' }

// isDSNStop reports whether c comes before the user of a DSN in text.
func isDSNStop(c byte) bool {
	return isURLStop(c) || c == '=' || c == '(' || c == '[' || c == '{' || c == ','
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
