package goroutines

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	dump := "goroutine profile: total 4\n" +
		"2 @ 0x1 0x2\n# labels: {\"grpc.method\":\"a.B/C\", \"span_id\":\"00f067aa0ba902b7\"}\n" +
		"#\t0x1\tmain.wait+0x55\t/src/main.go:42\n#\t0x2\tmain.handler+0x10\t\t\t/src/main.go:30\n\n" +
		"1 @ 0x3\n# labels: {\"span_id\":\"ffffffffffffffff\"}\n#\t0x3\tmain.other+0x1\t/src/o.go:1\n\n" +
		"1 @ 0x4\n#\t0x4\truntime.gopark+0x1\t/go/proc.go:1\n"
	got := Parse(dump, `"span_id":"00f067aa0ba902b7"`, 64<<10)
	if len(got) != 1 || got[0].Count != 2 || len(got[0].Frames) != 2 || got[0].Frames[0] != "main.wait\n\t/src/main.go:42" || got[0].Frames[1] != "main.handler\n\t/src/main.go:30" {
		t.Errorf("Parse = %+v; want the one labelled record, 2 goroutines, 2 frames", got)
	}
	var huge strings.Builder
	huge.WriteString("1 @ 0x1\n# labels: {\"span_id\":\"ab\"}\n")
	for range 5000 {
		huge.WriteString("#\t0x1\tpkg.deep+0x1\t/src/deep.go:1\n")
	}
	got = Parse(huge.String(), `"span_id":"ab"`, 64<<10)
	if n := len(got[0].Frames); n == 0 || n > (64<<10)/20 || got[0].Frames[n-1] != "…" {
		t.Errorf("a 5000-frame stack kept %d frames; want it cut within %d bytes, ending in …", n, 64<<10)
	}
}
