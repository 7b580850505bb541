package redact

import "strings"

// The key rules: which attribute keys, map keys, field names and keys of
// key=value pairs name a credential.

// anywhere are matched anywhere in a key, in any case: what debugz has always
// matched, the British spelling, and words that no harmless key holds
// ("PHPSESSID" holds "sessid").
var anywhere = [...]string{"authorization", "authorisation", "cookie", "password", "passwd",
	"passphrase", "passcode", "token", "secret", "apikey", "api-key", "api_key", "credential",
	"privatekey", "private-key", "private_key", "privkey", "session", "sessid", "jwt", "bearer"}

// wholeWords are matched only as whole words of a key: as substrings they
// would catch "passenger", "author", "consider", "authenticated", "spin" or
// "comfa".
var wholeWords = [...]string{"pwd", "pass", "auth", "authentication", "sid", "otp", "totp", "mfa",
	"pin", "cvv", "signature", "accesskey", "clientkey"}

// wholeWordsByLen are the words of wholeWords by their length.
var wholeWordsByLen = func() (by [16][]string) {
	for _, w := range wholeWords {
		by[len(w)] = append(by[len(w)], w)
	}
	return by
}()

// keyOwners are the words that, followed by the word "key", name a key that
// is a credential ("Ocp-Apim-Subscription-Key").
var keyOwners = [...]string{"api", "access", "client", "private", "secret", "signing", "encryption",
	"master", "subscription"}

// Key reports whether key looks like it names a credential: by the built-in
// rules, or because it holds the words of one of r's extra keys.
func (r *Redactor) Key(key string) bool {
	if r == nil || key == "" {
		return false
	}
	if hasAnywhere(key) {
		return true
	}
	var prev string // the word before
	for w, ok := nextWord(key, 0); ok; w, ok = nextWord(key, w.end) {
		word := key[w.start:w.end]
		if len(word) < len(wholeWordsByLen) {
			for _, ww := range wholeWordsByLen[len(word)] {
				if strings.EqualFold(word, ww) {
					return true
				}
			}
		}
		if len(word) == len("key") && strings.EqualFold(word, "key") {
			for _, o := range keyOwners {
				if len(prev) == len(o) && strings.EqualFold(prev, o) {
					return true
				}
			}
		}
		prev = word
	}
	if len(r.extra) == 0 {
		return false
	}
	var buf [16]span
	ws := splitWords(key, buf[:0])
	for _, e := range r.extra {
		if hasWords(key, ws, e) {
			return true
		}
	}
	return false
}

// span is a word of a key, key[start:end].
type span struct{ start, end int }

// nextWord returns the first word of key (as splitWords splits them) that
// starts at or after i, and false if there is none.
func nextWord(key string, i int) (w span, ok bool) {
	for i < len(key) && !isWordByte(key[i]) {
		i++
	}
	if i == len(key) {
		return span{}, false
	}
	start := i
	for i++; i < len(key) && isWordByte(key[i]); i++ {
		if c, prev := key[i], key[i-1]; isUpper(c) && (!isUpper(prev) || i+1 < len(key) && isLower(key[i+1])) {
			break
		}
	}
	return span{start, i}, true
}

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

// anywhereBy are the words of anywhere by their first letter (0 for a).
var anywhereBy = func() (by [26][]string) {
	for _, w := range anywhere {
		by[w[0]-'a'] = append(by[w[0]-'a'], w)
	}
	return by
}()

// anywhereSecond has, for each first letter of a word of anywhere, bit
// c-'a' set for each second letter c of such a word: most letters of a key
// are then passed over after two looks.
var anywhereSecond = func() (by [26]uint32) {
	for _, w := range anywhere {
		by[w[0]-'a'] |= 1 << (w[1] - 'a')
	}
	return by
}()

// hasAnywhere reports whether key holds one of anywhere in any ASCII case,
// without allocating.
func hasAnywhere(key string) bool {
	for i := 0; i+1 < len(key); i++ {
		c, next := key[i]|0x20, key[i+1]|0x20 // lowercase, for letters
		if c < 'a' || c > 'z' || next < 'a' || next > 'z' || anywhereSecond[c-'a']&(1<<(next-'a')) == 0 {
			continue
		}
		for _, w := range anywhereBy[c-'a'] {
			if hasPrefixFold(key[i:], w) {
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
