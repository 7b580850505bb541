package grpcstats

import (
	"time"

	"github.com/debugz/debugz/internal/prototext"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	_ "google.golang.org/genproto/googleapis/rpc/errdetails" // so that the standard details are read in any program
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	maxStatusDetails    = 8       // detail events per RPC
	maxStatusDetailText = 1 << 10 // bytes of a detail's text
)

// addDetails adds a "debugz.status.detail" event at end for each of the
// first [maxStatusDetails] details of s, the status the RPC ended with (nil
// for OK): the detail's message type and its text, redacted as captured
// messages are. A detail whose type is not linked into the program has its
// type and no text. A status without details costs no allocation.
func addDetails(span trace.Span, s *status.Status, end time.Time, buf *endBuffers) {
	ds := s.Details() // nil for a nil status, empty and not allocated for none
	if len(ds) == 0 {
		return
	}
	raw := s.Proto().GetDetails()
	kvs, opts := buf.kvs[:2], buf.opts[:]
	opts[1] = trace.WithTimestamp(end)
	for i, d := range ds[:min(len(ds), maxStatusDetails)] {
		var typ, text string
		if m, ok := d.(proto.Message); ok {
			typ, text = string(m.ProtoReflect().Descriptor().FullName()), prototext.Format(m, maxStatusDetailText)
		} else if i < len(raw) {
			typ = string(raw[i].MessageName())
		}
		kvs[0] = attribute.String(semconv.StatusDetailType, typ)
		kvs[1] = attribute.String(semconv.StatusDetailText, text)
		opts[0] = trace.WithAttributes(kvs...)
		span.AddEvent(semconv.EventStatusDetail, opts...)
	}
}
