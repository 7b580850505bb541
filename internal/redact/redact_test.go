package redact

import "testing"

func TestSensitive(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{"header", "Authorization", true},
		{"dotted", "db.password", true},
		{"suffix", "app.token", true},
		{"snake", "client_secret", true},
		{"dashed", "x-api-key", true},
		{"proto field", "private_key", true},
		{"method", "rpc.method", false},
		{"id", "user.id", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sensitive(tt.key); got != tt.want {
				t.Errorf("Sensitive(%q) = %v; want %v", tt.key, got, tt.want)
			}
		})
	}
}
