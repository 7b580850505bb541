package redact

import (
	"strings"
	"testing"
)

// logText is text as the pages redact it on every view: log lines, errors,
// formatted values and captured messages, most of them holding no secret.
var logText = []string{
	"rpc error: code = NotFound desc = no such user 42",
	`time=2026-12-03T12:00:00Z level=INFO msg="fetched user" user.id=42 cache=hit region=eu-west-1`,
	"map[region:eu-west-1 shard:7 replicas:3]",
	`{"user":"ada","region":"eu","items":[1,2,3],"next":"https://api.example/v1/users?page=2"}`,
	"dial tcp 10.0.0.7:5432: connect: connection refused",
	"payload: {\n  body: \"" + strings.Repeat("x", 200) + "\"\n}\nresponse_size: 100\nfill_username: true\n",
	"login failed for user=ada password=hunter2 from 10.1.2.3",
	"Authorization: Bearer abc.def.ghi",
}

// BenchmarkStringLogText is String over logText, once each.
func BenchmarkStringLogText(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range logText {
			String(s)
		}
	}
}
