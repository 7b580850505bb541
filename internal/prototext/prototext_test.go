package prototext

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// maxBytes is the limit the tests pass to Format: grpcstats' own.
const maxBytes = 1 << 10

// TestFormatLikePrototext checks that, for messages holding no
// credential, the capture reads as prototext's multi-line text.
func TestFormatLikePrototext(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
	}{
		{"empty", &testpb.SimpleRequest{}},
		{"scalars, enum, nested, empty nested", &testpb.SimpleRequest{ResponseType: testpb.PayloadType_COMPRESSABLE, ResponseSize: -3,
			FillUsername: true, Payload: &testpb.Payload{Body: []byte("plain")}, ResponseCompressed: &testpb.BoolValue{}}},
		{"repeated messages", &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{
			{Size: 1, IntervalUs: 2}, {Size: 3, Compressed: &testpb.BoolValue{Value: true}}}}},
		{"escapes", &testpb.Payload{Body: []byte("a\"b\\c\nd\te\r\x00\x01\x7f\xff é \u0085 日本")}},
		{"unknown enum number", &testpb.SimpleRequest{ResponseType: 42}},
		{"floats and maps", &testpb.TestOrcaReport{CpuUtilization: 0.25, MemoryUtilization: math.Inf(-1),
			RequestCost: map[string]float64{"b": 1e21, "a": math.NaN()}, Utilization: map[string]float64{"z": 3}}},
		{"map of messages", &testpb.LoadBalancerStatsResponse{NumFailures: 2, RpcsByPeer: map[string]int32{"p2": 2, "p1": 1},
			RpcsByMethod: map[string]*testpb.LoadBalancerStatsResponse_RpcsByPeer{"UnaryCall": {RpcsByPeer: map[string]int32{"p1": 5}}}}},
		{"repeated scalars", &testpb.ReconnectInfo{Passed: true, BackoffMs: []int32{1, 2, 3}}},
		{"wrapper", wrapperspb.String("hello")},
		{"resolvable Any", must(anypb.New(wrapperspb.Int64(7)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.msg, maxBytes)
			// prototext adds a space after some names at random, to keep
			// its output from being relied on.
			want := strings.ReplaceAll(prototext.MarshalOptions{Multiline: true, Indent: "  "}.Format(tt.msg), ":  ", ": ")
			if got != want {
				t.Errorf("Format(%v) =\n%q\nwant (prototext)\n%q", tt.msg, got, want)
			}
		})
	}
}

func TestFormatRedacts(t *testing.T) {
	header, err := structpb.NewStruct(map[string]any{"authorization": "Bearer hunter2", "user": "ada"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"credential in a string field", wrapperspb.String("https://u:p@h"), `value: "https://u:[redacted]@h"`},
		{"bearer in a string field", wrapperspb.String("sent Bearer hunter2"), `value: "sent Bearer [redacted]"`},
		{"credential in a bytes field", &testpb.Payload{Body: []byte("https://u:p@h")}, `body: "https://u:[redacted]@h"`},
		{"bearer in binary bytes", &testpb.Payload{Body: []byte("\xff\x00Bearer hunter2")}, `body: "\xff\x00Bearer [redacted]"`},
		{"map with an authorization key", header, `fields: {
  key: "authorization"
  value: [redacted]
}
fields: {
  key: "user"
  value: {
    string_value: "ada"
  }
}`},
		{"unresolvable Any", &anypb.Any{TypeUrl: "type.googleapis.com/debugz.test.Secret", Value: []byte("hunter2")},
			`type_url: "type.googleapis.com/debugz.test.Secret"
value: [redacted]`},
		{"Any that does not decode", &anypb.Any{TypeUrl: "type.googleapis.com/google.protobuf.StringValue", Value: []byte("\xffhunter2")},
			`type_url: "type.googleapis.com/google.protobuf.StringValue"
value: [redacted]`},
		{"resolvable Any, walked", must(anypb.New(wrapperspb.String("Bearer hunter2"))),
			`[type.googleapis.com/google.protobuf.StringValue]: {
  value: "Bearer [redacted]"
}`},
		{"unknown fields left out", withUnknown(wrapperspb.String("x"), "hunter2"), `value: "x"`},
		{"Any inside a message", &structpb.Value{Kind: &structpb.Value_ListValue{ListValue: &structpb.ListValue{Values: []*structpb.Value{
			structpb.NewStringValue("pwd=hunter2"), structpb.NewNumberValue(1)}}}},
			`list_value: {
  values: {
    string_value: "pwd=[redacted]"
  }
  values: {
    number_value: 1
  }
}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.msg, maxBytes)
			if got != tt.want+"\n" {
				t.Errorf("Format(%v) =\n%s\nwant\n%s", tt.msg, got, tt.want)
			}
			if strings.Contains(got, "hunter2") || strings.Contains(got, "u:p@") {
				t.Errorf("Format(%v) = %q; shows the secret", tt.msg, got)
			}
		})
	}
}

func TestFormatCut(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
	}{
		{"long string", wrapperspb.String(strings.Repeat("日本", 1000))},
		{"many fields", &testpb.ReconnectInfo{BackoffMs: make([]int32, 1000)}},
		{"secret at the cut", wrapperspb.String(strings.Repeat("n", maxBytes-20) + " https://bob:hunter2@db.example")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.msg, maxBytes)
			if len(got) > maxBytes || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
				t.Errorf("Format = %d bytes ending %q; want at most %d, valid UTF-8, ending with %q",
					len(got), got[max(0, len(got)-10):], maxBytes, "…")
			}
			if strings.Contains(got, "hunter") {
				t.Errorf("Format = …%q; shows the start of a secret", got[len(got)-40:])
			}
		})
	}
}

// withUnknown returns m with an unknown field 99 holding s.
func withUnknown(m proto.Message, s string) proto.Message {
	m.ProtoReflect().SetUnknown(protowire.AppendString(protowire.AppendTag(nil, 99, protowire.BytesType), s))
	return m
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkFormat(b *testing.B) {
	msg := &testpb.StreamingOutputCallRequest{ResponseType: testpb.PayloadType_COMPRESSABLE,
		Payload: &testpb.Payload{Body: []byte(strings.Repeat("x", 200))}}
	for range 10 {
		msg.ResponseParameters = append(msg.ResponseParameters, &testpb.ResponseParameters{Size: 100, IntervalUs: 5})
	}
	b.ReportAllocs()
	for b.Loop() {
		Format(msg, maxBytes)
	}
}

// TestFormatLimit: the limit is the caller's: the text is at most maxBytes
// long for any limit, and whole when it fits.
func TestFormatLimit(t *testing.T) {
	msg := wrapperspb.String(strings.Repeat("x", 100))
	for _, n := range []int{8, 20, 64, 200} {
		got := Format(msg, n)
		if len(got) > n || (n < 100 && !strings.HasSuffix(got, "…")) || (n >= 200 && got != "value: \""+strings.Repeat("x", 100)+"\"\n") {
			t.Errorf("Format(100 x, %d) = %q (%d bytes); want at most %d bytes, whole when it fits", n, got, len(got), n)
		}
	}
}
