package rpccode

import (
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"
)

// The table agrees with grpc-go on every code's number and Go spelling.
func TestTableMatchesGRPCGo(t *testing.T) {
	if Max != int(codes.Unauthenticated) {
		t.Errorf("Max = %d; want %d", Max, codes.Unauthenticated)
	}
	for c := range Max + 1 {
		if got, want := table[c].grpcGo, codes.Code(c).String(); got != want {
			t.Errorf("grpc-go name of %d = %q; want %q", c, got, want)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name string
		in   int
		want string
	}{
		{"ok", 0, "OK"},
		{"not found", 5, "NOT_FOUND"},
		{"cancelled, British", 1, "CANCELLED"},
		{"last", Max, "UNAUTHENTICATED"},
		{"above the table", 42, "CODE(42)"},
		{"negative", -1, "CODE(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.in); got != tt.want {
				t.Errorf("Name(%d) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if len(names) != Max+1 || names[0] != "OK" || names[5] != "NOT_FOUND" || names[Max] != "UNAUTHENTICATED" {
		t.Errorf("Names() = %q; want the 17 canonical names in code order", names)
	}
	names[0] = "changed"
	if Names()[0] != "OK" {
		t.Errorf("Names() shares its slice with the caller")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
		ok   bool
	}{
		{"canonical", "NOT_FOUND", 5, true},
		{"canonical lowercase", "not_found", 5, true},
		{"grpc-go", "NotFound", 5, true},
		{"grpc-go any case", "notfound", 5, true},
		{"grpc-go cancelled", "Canceled", 1, true},
		{"canonical cancelled", "CANCELLED", 1, true},
		{"grpc-go cancelled uppercase", "CANCELED", 1, true},
		{"deadline", "DeadlineExceeded", 4, true},
		{"ok", "OK", 0, true},
		{"number", "5", 5, true},
		{"zero", "0", 0, true},
		{"highest number", "16", 16, true},
		{"number above the table", "17", 0, false},
		{"negative", "-1", 0, false},
		{"signed", "+5", 0, false},
		{"empty", "", 0, false},
		{"unknown name", "WAT", 0, false},
		{"underscores elsewhere", "NOTF_OUND", 0, false},
		{"script", "<script>alert(1)</script>", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Parse(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	for c := range Max + 1 {
		for _, s := range []string{Name(c), codes.Code(c).String(), strconv.Itoa(c)} {
			if got, ok := Parse(s); !ok || got != c {
				t.Errorf("Parse(%q) = %d, %v; want %d, true", s, got, ok, c)
			}
		}
	}
}

func TestServerFault(t *testing.T) {
	faults := map[string]bool{"UNKNOWN": true, "DEADLINE_EXCEEDED": true, "UNIMPLEMENTED": true,
		"INTERNAL": true, "UNAVAILABLE": true, "DATA_LOSS": true}
	for c := range Max + 1 {
		if got := ServerFault(c); got != faults[Name(c)] {
			t.Errorf("ServerFault(%s) = %v; want %v", Name(c), got, faults[Name(c)])
		}
	}
	if !ServerFault(42) {
		t.Errorf("ServerFault(42) = false; want true, as gRPC reads an undefined code as UNKNOWN")
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range []string{"NOT_FOUND", "NotFound", "not_found", "5"} {
			if _, ok := Parse(s); !ok {
				b.Fatal(s)
			}
		}
	}
}
