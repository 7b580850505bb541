package rpcmethod

import "testing"

func TestMatch(t *testing.T) {
	patterns := []string{"grpc.health.v1.Health/*", "user.UserService/FetchUser"}
	tests := []struct {
		name   string
		method string
		want   bool
	}{
		{"whole service", "grpc.health.v1.Health/Check", true},
		{"full method", "user.UserService/FetchUser", true},
		{"other method", "user.UserService/StreamUsers", false},
		{"service name alone", "grpc.health.v1.Health", false},
		{"service prefix", "grpc.health.v1.HealthX/Check", false},
		{"leading slash", "/user.UserService/FetchUser", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(patterns, tt.method); got != tt.want {
				t.Errorf("Match(%q, %q) = %v; want %v", patterns, tt.method, got, tt.want)
			}
		})
	}
	if Match(nil, "a.S/M") {
		t.Errorf("Match(nil, %q) = true; want false", "a.S/M")
	}
}
