package debugz

import (
	"google.golang.org/grpc/codes"
)

// codeMap is a row's or a window's codes by name, only those seen, for a
// test's messages.
func codeMap(byCode [maxCode + 1]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for c, n := range byCode {
		if n > 0 {
			out[CodeName(codes.Code(c))] = n
		}
	}
	return out
}
