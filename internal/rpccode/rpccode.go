// Package rpccode is the one table of gRPC status codes in debugz: their
// canonical names, how a code may be written in a query or an attribute, and
// which codes mean that the server, not the caller, failed.
//
// Codes are plain ints numbered as the gRPC specification (and
// google.golang.org/grpc/codes) numbers them, so that the package needs
// nothing but the standard library and a view model can hold a code as it is.
package rpccode

import (
	"strconv"
	"strings"
)

// Max is the highest gRPC status code, UNAUTHENTICATED.
const Max = 16

// table holds the codes, by number: each code's canonical name, as the gRPC
// specification and otelgrpc ≥ v0.66 write it; grpc-go's name
// (codes.Code.String), which otelgrpc v0.65 wrote; and whether it is a
// server fault.
var table = [Max + 1]struct {
	canonical, grpcGo string
	serverFault       bool
}{
	{"OK", "OK", false},
	{"CANCELLED", "Canceled", false},
	{"UNKNOWN", "Unknown", true},
	{"INVALID_ARGUMENT", "InvalidArgument", false},
	{"DEADLINE_EXCEEDED", "DeadlineExceeded", true},
	{"NOT_FOUND", "NotFound", false},
	{"ALREADY_EXISTS", "AlreadyExists", false},
	{"PERMISSION_DENIED", "PermissionDenied", false},
	{"RESOURCE_EXHAUSTED", "ResourceExhausted", false},
	{"FAILED_PRECONDITION", "FailedPrecondition", false},
	{"ABORTED", "Aborted", false},
	{"OUT_OF_RANGE", "OutOfRange", false},
	{"UNIMPLEMENTED", "Unimplemented", true},
	{"INTERNAL", "Internal", true},
	{"UNAVAILABLE", "Unavailable", true},
	{"DATA_LOSS", "DataLoss", true},
	{"UNAUTHENTICATED", "Unauthenticated", false},
}

// byName finds a code by either spelling, exactly as written: the common case
// of a span's status attribute, which Parse answers without a scan.
var byName = func() map[string]int {
	m := make(map[string]int, 2*len(table))
	for c, s := range table {
		m[s.canonical], m[s.grpcGo] = c, c
	}
	return m
}()

// Name returns the canonical name of code c, "NOT_FOUND" for 5; a value
// outside the defined codes is named "CODE(n)".
func Name(c int) string {
	if c < 0 || c > Max {
		return "CODE(" + strconv.Itoa(c) + ")"
	}
	return table[c].canonical
}

// Names returns the canonical names of every code, in code order, in a new
// slice.
func Names() []string {
	out := make([]string, len(table))
	for c, s := range table {
		out[c] = s.canonical
	}
	return out
}

// Parse reads a code written by its canonical name ("NOT_FOUND"), by
// grpc-go's name ("NotFound", "Canceled"), either in any case, or by its
// number ("5"). It reports false for anything else, and for numbers above
// [Max].
func Parse(s string) (int, bool) {
	if c, ok := byName[s]; ok {
		return c, true
	}
	for c, n := range table {
		if strings.EqualFold(s, n.canonical) || strings.EqualFold(s, n.grpcGo) {
			return c, true
		}
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n > Max {
		return 0, false
	}
	return int(n), true
}

// ServerFault reports whether code c means that the server or the network
// failed rather than the caller: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
// INTERNAL, UNAVAILABLE and DATA_LOSS. These are the codes gRPC's guidance
// counts against the server (otelgrpc marks a server span Error for them
// alone); the others say that the caller asked for something wrong, was
// refused, or gave up. A value outside the defined codes, which a server may
// only send by mistake, is a fault too, as gRPC reads it as UNKNOWN.
func ServerFault(c int) bool {
	if c < 0 || c > Max {
		return true
	}
	return table[c].serverFault
}
