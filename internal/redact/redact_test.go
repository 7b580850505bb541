package redact

import (
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
		// Not credentials.
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
		{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "[redacted]"},
		{"jwt in text", "got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln, retrying", "got [redacted], retrying"},
		{"jwt cut short", "eyJhbGciOiJIUzI1NiJ9.eyJzdW", "[redacted]"},
		{"bearer jwt", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "Bearer [redacted]"},
		// Untouched.
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

func TestAnywhereFirst(t *testing.T) {
	for _, w := range anywhere {
		if anywhereFirst&(1<<(w[0]-'a')) == 0 {
			t.Errorf("anywhereFirst lacks %q, the first letter of %q", w[0], w)
		}
	}
}

// FuzzString checks that String never fails, keeps valid UTF-8 valid, and
// leaves nothing more to redact in its own output.
func FuzzString(f *testing.F) {
	for _, s := range []string{"https://bob:hunter2@db.example/x", "Bearer abc", "basic dXNlcjpwYXNz", "?token=abc&x=1",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "<script>alert(1)</script>", "token=Bearer x", "a://u:p@h?pwd=1 Bearer eyJhbGciOiJIUzI1NiJ9."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Errorf("String(%q) = %q; not valid UTF-8", s, got)
		}
		if again := String(got); again != got {
			t.Errorf("String(%q) = %q, and String of that = %q; want nothing left to redact", s, got, again)
		}
	})
}
