// Package redact says which keys look like they hold a credential, for every
// debugz package that hides them: the pages and JSON of the root package, and
// the message capture of grpcstats.
package redact

import "strings"

// Marker replaces a redacted value.
const Marker = "[redacted]"

var words = []string{"authorization", "cookie", "password", "passwd", "token", "secret",
	"api-key", "api_key", "apikey", "credential", "private_key", "private-key", "privatekey",
	"session", "jwt", "bearer"}

// Sensitive reports whether key, an attribute key or a field name, looks like
// it holds a credential. It is safe for concurrent use.
func Sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, w := range words {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
