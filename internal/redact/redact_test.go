package redact

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
)

func TestKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		// Detected before words: anywhere in the key.
		{"header", "Authorization", true},
		{"metadata header", "rpc.request.metadata.Authorization", true},
		{"cookie", "http.request.header.cookie", true},
		{"dotted", "db.password", true},
		{"passwd", "passwd", true},
		{"suffix", "app.token", true},
		{"inside a word", "app.sessiontoken", true},
		{"snake", "client_secret", true},
		{"dashed", "x-api-key", true},
		{"snake api key", "api_key", true},
		{"apikey", "apikey", true},
		{"credential", "aws.credentials", true},
		{"private key snake", "private_key", true},
		{"private key dashed", "private-key", true},
		{"privatekey", "privatekey", true},
		{"session", "session", true},
		{"jwt", "jwt", true},
		{"bearer", "bearer", true},
		// Whole words.
		{"pwd", "pwd", true},
		{"pwd dotted", "db.pwd", true},
		{"pass", "user.pass", true},
		{"pass camel", "userPass", true},
		{"auth", "auth", true},
		{"auth snake", "basic_auth", true},
		{"access_key", "access_key", true},
		{"accesskey", "accesskey", true},
		{"client_key", "client_key", true},
		{"clientkey", "clientKey", true},
		{"sid", "sid", true},
		{"sid dotted", "user.sid", true},
		{"otp", "otp", true},
		{"otp camel", "smsOTP", true},
		{"signature", "signature", true},
		{"signature header", "X-Amz-Signature", true},
		// Word pairs, dotted and mixed case.
		{"Api.Key", "Api.Key", true},
		{"private.key", "private.key", true},
		{"accessKey", "accessKey", true},
		{"X-Api-Key", "X-Api-Key", true},
		{"APIKey", "APIKey", true},
		{"secret.key", "secret.key", true},
		// Spellings added for issue 20.
		{"British", "Authorisation", true},
		{"authentication", "x-authentication", true},
		{"passphrase", "gpg.passphrase", true},
		{"pin", "card.pin", true},
		{"pin camel", "pinCode", true},
		{"PHPSESSID", "PHPSESSID", true},
		{"mfa", "mfa_code", true},
		{"privkey", "ssh_privkey", true},
		{"subscription key", "Ocp-Apim-Subscription-Key", true},
		// Not credentials.
		{"spinner", "spinner", false},
		{"pinned", "pinned", false},
		{"authenticated", "user.authenticated", false},
		{"passenger", "passenger", false},
		{"author", "author", false},
		{"authority", "authority", false},
		{"pseudo-header authority", ":authority", false},
		{"consider", "consider", false},
		{"method", "rpc.method", false},
		{"id", "user.id", false},
		{"server address", "server.address", false},
		{"oauth scope", "fill_oauth_scope", false},
		{"key alone", "cache.key", false},
		{"pair not adjacent", "api.version.key", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.key); got != tt.want {
				t.Errorf("Key(%q) = %v; want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestNewExtraKeys(t *testing.T) {
	r := New("ssn", "internal-id", "", "--")
	tests := []struct {
		key  string
		want bool
	}{
		{"ssn", true},
		{"user.SSN", true},
		{"userSsn", true},
		{"lesson", false},
		{"X-Internal-ID", true},
		{"internal_id_hash", true},
		{"internal", false},
		{"id.internal", false},
		{"password", true}, // built-in rules still apply
		{"rpc.method", false},
	}
	for _, tt := range tests {
		if got := r.Key(tt.key); got != tt.want {
			t.Errorf("New(ssn, internal-id).Key(%q) = %v; want %v", tt.key, got, tt.want)
		}
	}
	if got := r.String("ssn=123-45-6789&x=1"); got != "ssn=[redacted]&x=1" {
		t.Errorf("New(ssn).String(ssn=…) = %q; want the value redacted", got)
	}
	if Key("ssn") {
		t.Errorf("Key(%q) = true; want extra keys to stay with their Redactor", "ssn")
	}
}

func TestNilRedactor(t *testing.T) {
	var r *Redactor
	if r.Key("password") || r.String("Bearer abc") != "Bearer abc" {
		t.Errorf("nil *Redactor redacted; want it to redact nothing")
	}
	kv := attribute.String("password", "hunter2")
	if got := r.KeyValue(kv); got != kv {
		t.Errorf("nil *Redactor: KeyValue(%v) = %v; want it unchanged", kv, got)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" for in unchanged
	}{
		{"URL password", "https://bob:hunter2@db.example/x", "https://bob:[redacted]@db.example/x"},
		{"URL password in text", "dial postgres://bob:hunter2@db.example:5432/app failed",
			"dial postgres://bob:[redacted]@db.example:5432/app failed"},
		{"URL password with @", "https://bob:p@ss@db.example", "https://bob:[redacted]@db.example"},
		{"two URLs", "a://u:p1@h b://v:p2@k", "a://u:[redacted]@h b://v:[redacted]@k"},
		{"bearer", "Bearer abc.def", "Bearer [redacted]"},
		{"bearer in text", "sent Authorization: Bearer hunter2 to upstream", "sent Authorization: Bearer [redacted] to upstream"},
		{"bearer lowercase", "bearer hunter2", "bearer [redacted]"},
		{"bearer upper", "BEARER hunter2", "BEARER [redacted]"},
		{"basic", "Basic dXNlcjpwYXNz", "Basic [redacted]"},
		{"basic lowercase", "auth: basic dXNlcjpwYXNz, ok", "auth: basic [redacted], ok"},
		{"query token", "/x?token=abc&x=1", "/x?token=[redacted]&x=1"},
		{"query access_token last", "https://h/cb?code=1&access_token=abc", "https://h/cb?code=1&access_token=[redacted]"},
		{"logfmt", "user=ada password=hunter2 ok=true", "user=ada password=[redacted] ok=true"},
		{"pair with short word", "pwd=hunter2", "pwd=[redacted]"},
		{"pair in a value", "q=token=abc", "q=token=[redacted]"},
		{"key starting with a digit", "2fa_pin: 123456", "2fa_pin: [redacted]"},
		{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "[redacted]"},
		{"jwt in text", "got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln, retrying", "got [redacted], retrying"},
		{"jwt cut short", "eyJhbGciOiJIUzI1NiJ9.eyJzdW", "[redacted]"},
		{"bearer jwt", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "Bearer [redacted]"},
		// The forms of pairs.
		{"spaced pair", "password = hunter2 retrying", "password = [redacted]"},
		{"tab pair", "password=\thunter2", "password=\t[redacted]"},
		{"colon pair", "password: hunter2", "password: [redacted]"},
		{"whole bare value", "login password=correct horse ok=1", "login password=[redacted] ok=1"},
		{"bare value to the next pair", "map[pass:a b user:bob]", "map[pass:[redacted] user:bob]"},
		{"bare value to a closing bracket", "{User:bob Password:x y}", "{User:bob Password:[redacted]}"},
		{"bare value to a comma", "{password: x, user: y}", "{password: [redacted], user: y}"},
		{"double-quoted", `password="a b" user=ada`, `password="[redacted]" user=ada`},
		{"escaped quote", `password="a\" b" user=ada`, `password="[redacted]" user=ada`},
		{"single-quoted", "{'password': 'a b'}", "{'password': '[redacted]'}"},
		{"JSON", `{"password":"x","user":"ada"}`, `{"password":"[redacted]","user":"ada"}`},
		{"JSON in a string", `{\"secret\":\"x\"}`, `{\"secret\":\"[redacted]\"}`},
		{"object value", `{"credentials": {"a": 1}, "n": 2}`, `{"credentials": [redacted], "n": 2}`},
		{"array value", `tokens: ["a", "b"] n: 2`, `tokens: [redacted] n: 2`},
		{"YAML", "db:\n  password: x\n  user: app", "db:\n  password: [redacted]\n  user: app"},
		{"prototext map entry", "m: {\n  key: \"authorization\"\n  value: \"x\"\n}", "m: {\n  key: \"authorization\"\n  value: \"[redacted]\"\n}"},
		{"JSON header", `{"name":"X-Api-Key","value":"x"}`, `{"name":"X-Api-Key","value":"[redacted]"}`},
		{"header keeps its scheme", "Authorization: Bearer abc after 401", "Authorization: Bearer [redacted] after 401"},
		{"token scheme", "Authorization: token ghx0123456789", "Authorization: token [redacted]"},
		{"digest", `Digest username="bob", response="abc", x=1 done`, "Digest [redacted] done"},
		{"cookie", "Cookie: PHPSESSID=abc; lang=en", "Cookie: [redacted]; lang=en"},
		// Shapes.
		{"MySQL DSN", "bob:pw@tcp(db:3306)/app", "bob:[redacted]@tcp(db:3306)/app"},
		{"DSN with a port", "to app:pw@db:5432/x", "to app:[redacted]@db:5432/x"},
		{"URL password with /", "https://bob:a/b@h/x", "https://bob:[redacted]@h/x"},
		{"URL password with #", "redis://:a#b@h:1/0", "redis://:[redacted]@h:1/0"},
		{"URL with an @ in its query", "https://u:p@h/x?m=a@b.c", "https://u:[redacted]@h/x?m=a@b.c"},
		{"gRPC target", "passthrough:///bob:pw@127.0.0.1:1", "passthrough:///bob:[redacted]@127.0.0.1:1"},
		{"PEM", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
			"-----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY-----"},
		{"PEM cut short", "-----BEGIN PRIVATE KEY-----\nMIIE", "-----BEGIN PRIVATE KEY-----[redacted]"},
		{"Stripe key", "key sk_live_0123456789abcdef.", "key sk_live_[redacted]."},
		{"AWS key ID", "(AKIAIOSFODNN7EXAMPLE)", "(AKIA[redacted])"},
		{"Slack token", "xoxb-1234-5678-abcdefgh", "xoxb-[redacted]"},
		// Untouched.
		{"public certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", ""},
		{"e-mail after a colon", "contact: bob@example.com", ""},
		{"URL with an @ in its path", "https://registry.example:8080/@scope/pkg", ""},
		{"git remote", "git@github.com:org/repo.git", ""},
		{"token prose", "the token is invalid", ""},
		{"token pair with a space", "token =0 token : abcdefgh12", "token =[redacted] token : [redacted]"},
		{"short prefix", "ghp_short AKIA12", ""},
		{"gRPC error", "rpc error: code = Unavailable desc = connection refused", ""},
		{"time", "at 12:30:45 on 2026-12-03", ""},
		{"name of a harmless key", `{"name":"region","value":"eu"}`, ""},
		{"method", "user.UserService/FetchUser", ""},
		{"slash method", "/grpc.health.v1.Health/Check", ""},
		{"URL without password", "https://bob@db.example/x", ""},
		{"URL without userinfo", "https://db.example/x?a=b", ""},
		{"harmless pair", "?page=2&q=hello", ""},
		{"bearer prose", "the bearers", ""},
		{"basic prose", "basic auth failed", ""},
		{"basic capitalised prose", "Basic Auth failed", ""},
		{"already redacted", "Bearer [redacted] and https://u:[redacted]@h?token=[redacted]", ""},
		{"eyJ word", "eyJump.", ""},
		{"empty", "", ""},
		{"short", "a=b", ""},
		{"markup", "<script>alert(1)</script>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.in
			}
			got := String(tt.in)
			if got != want {
				t.Errorf("String(%q) = %q; want %q", tt.in, got, want)
			}
			if tt.want == "" && unsafe.StringData(got) != unsafe.StringData(tt.in) {
				t.Errorf("String(%q) returned a copy; want the input itself", tt.in)
			}
		})
	}
}

func TestStringReturnsInputUnchanged(t *testing.T) {
	in := strings.Repeat("user.UserService/FetchUser ", 4)
	if allocs := testing.AllocsPerRun(100, func() { _ = String(in) }); allocs != 0 {
		t.Errorf("String of harmless text: %v allocations; want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = Key("rpc.request.metadata.x-forwarded-for") }); allocs != 0 {
		t.Errorf("Key: %v allocations; want 0", allocs)
	}
}

func TestValue(t *testing.T) {
	bearer := "Bearer hunter2"
	tests := []struct {
		name string
		in   attribute.Value
		want attribute.Value
	}{
		{"string", attribute.StringValue("x " + bearer), attribute.StringValue("x Bearer [redacted]")},
		{"harmless string", attribute.StringValue("ok"), attribute.StringValue("ok")},
		{"string slice", attribute.StringSliceValue([]string{"a", bearer}), attribute.StringSliceValue([]string{"a", "Bearer [redacted]"})},
		{"int", attribute.IntValue(7), attribute.IntValue(7)},
		{"map", attribute.MapValue(attribute.String("authorization", "x"), attribute.String("x-request-id", "r-1"),
			attribute.String("note", bearer)),
			attribute.MapValue(attribute.String("authorization", Marker), attribute.String("x-request-id", "r-1"),
				attribute.String("note", "Bearer [redacted]"))},
		{"slice of maps", attribute.SliceValue(attribute.MapValue(attribute.Int("pwd", 1)), attribute.StringValue(bearer)),
			attribute.SliceValue(attribute.MapValue(attribute.String("pwd", Marker)), attribute.StringValue("Bearer [redacted]"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Value(tt.in); got.String() != tt.want.String() || got.Type() != tt.want.Type() {
				t.Errorf("Value(%s) = %s; want %s", tt.in.String(), got.String(), tt.want.String())
			}
		})
	}
}

func BenchmarkKey(b *testing.B) {
	keys := []string{"rpc.method", "rpc.request.metadata.x-forwarded-for", "server.address", "X-Api-Key", "app.session_token"}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			Key(k)
		}
	}
}

func BenchmarkString(b *testing.B) {
	values := []string{"user.UserService/FetchUser", "127.0.0.1", "https://db.example/x?page=2", "rpc error: code = NotFound desc = no such user"}
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range values {
			String(v)
		}
	}
}

func TestWholeWordsByLen(t *testing.T) {
	n := 0
	for _, ws := range wholeWordsByLen {
		n += len(ws)
	}
	if n != len(wholeWords) {
		t.Errorf("wholeWordsByLen holds %d words; want the %d of wholeWords", n, len(wholeWords))
	}
}

func TestAnywhereBy(t *testing.T) {
	n := 0
	for i, ws := range anywhereBy {
		for _, w := range ws {
			if w[0] != byte('a'+i) {
				t.Errorf("anywhereBy[%c] holds %q", 'a'+i, w)
			}
		}
		n += len(ws)
	}
	if n != len(anywhere) {
		t.Errorf("anywhereBy holds %d words; want the %d of anywhere", n, len(anywhere))
	}
	for _, w := range anywhere {
		if !isLower(w[0]) || !isLower(w[1]) {
			t.Errorf("%q does not start with two lowercase letters, which anywhereSecond needs", w)
		}
	}
}

// FuzzRedact checks that no input makes String fail or grow its input by
// more than maxGrowth, that it keeps valid UTF-8 valid, and that it leaves
// nothing more to redact in its own output; Value and Key take any input
// too.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"https://bob:hunter2@db.example/x", "Bearer abc", "basic dXNlcjpwYXNz", "?token=abc&x=1",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "<script>alert(1)</script>", "token=Bearer x", "token =0", "Bearer :abcdefgh1", "a://u:p@h?pwd=1 Bearer eyJhbGciOiJIUzI1NiJ9.",
		`password="x \" y" pin: 1 {"api_key": ["a", {"b": 'c'}]} map[pass:a b c:d]`, "bob:pw@tcp(db:3306)/app redis://:a#b@h:1/0",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "sk_live_0123456789abcdef AKIAIOSFODNN7EXAMPLE",
		"Authorization: Digest username=\"a\", response=\"b\"", "metadata: {\n  key: \"authorization\"\n  value: \"x\"\n}",
		"{\\\"secret\\\":\\\"x\\\"}", "pin=1&pin=2&mfa=3;sid=4,otp:5"} {
		f.Add(s)
	}
	r := New("ssn", "internal-id")
	f.Fuzz(func(t *testing.T, s string) {
		got := r.String(s)
		if len(got) > maxGrowth(len(s)) {
			t.Errorf("String(%q) = %q: %d bytes from %d; want at most %d", s, got, len(got), len(s), maxGrowth(len(s)))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Errorf("String(%q) = %q; not valid UTF-8", s, got)
		}
		if again := r.String(got); again != got {
			t.Errorf("String(%q) = %q, and String of that = %q; want nothing left to redact", s, got, again)
		}
		r.Key(s)
		r.Value(attribute.StringSliceValue([]string{s, got}))
	})
}

// maxGrowth is the most String may make of n bytes: each value it replaces
// follows a key or scheme of at least 3 bytes and a separator, so that at
// most every fifth byte starts a marker.
func maxGrowth(n int) int { return n + (n/5+1)*len(Marker) }

func TestMinPrefixed(t *testing.T) {
	for _, p := range keyPrefixes {
		if n := len(p.prefix) + p.min; n < minPrefixed {
			t.Errorf("%s keys can be %d bytes; minPrefixed is %d", p.prefix, n, minPrefixed)
		}
	}
}

// TestNextWord: nextWord finds the words splitWords does.
func TestNextWord(t *testing.T) {
	for _, key := range []string{"", "a", "APIKey", "accessKey", "x-api-key", "rpc.request.metadata.X-Api-Key", "HTTPServer2Go", "..a..B", "userSSN"} {
		var got []span
		for w, ok := nextWord(key, 0); ok; w, ok = nextWord(key, w.end) {
			got = append(got, w)
		}
		if want := splitWords(key, nil); !slices.Equal(got, want) {
			t.Errorf("nextWord over %q: %v; splitWords: %v", key, got, want)
		}
	}
}
