package grpcstats_test

import (
	"context"
	"github.com/debugz/debugz/internal/semconv"
	"math"
	"slices"
	"testing"

	"github.com/debugz/debugz/grpcstats"
	"go.opentelemetry.io/otel/trace"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"
)

func TestWrapHandlerMessageTimeline(t *testing.T) {
	tests := []struct {
		name string
		opts []grpcstats.Option
		n    int
		want []int64 // ids of each direction's events
	}{
		{"30 messages, default 8", nil, 30, append(seq(1, 8), seq(23, 30)...)},
		{"10 messages, default 8", nil, 10, seq(1, 10)},
		{"17 messages, 8", []grpcstats.Option{grpcstats.WithMessageTimeline(8)}, 17, append(seq(1, 8), seq(10, 17)...)},
		{"30 messages, 2", []grpcstats.Option{grpcstats.WithMessageTimeline(2)}, 30, []int64{1, 2, 29, 30}},
		{"negative keeps the default", []grpcstats.Option{grpcstats.WithMessageTimeline(-1)}, 30, append(seq(1, 8), seq(23, 30)...)},
		{"0 disables", []grpcstats.Option{grpcstats.WithMessageTimeline(0)}, 30, nil},
		{"nil option ignored", []grpcstats.Option{nil}, 10, seq(1, 10)},
		{"huge is capped, not overflowed", []grpcstats.Option{grpcstats.WithMessageTimeline(math.MaxInt)}, 5, seq(1, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWrapped(t, tt.opts...)
			bidi(t, w.client, tt.n)
			for _, kind := range []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer} {
				s := w.span(t, testSvc+"FullDuplexCall", kind)
				evs := messageEvents(s)
				for _, typ := range []string{semconv.MessageTypeSent, semconv.MessageTypeReceived} {
					if got := ids(evs, typ); !slices.Equal(got, tt.want) {
						t.Errorf("%s span: %s ids = %v; want %v", kind, typ, got, tt.want)
					}
				}
				if got := intAttr(t, s, semconv.MessagesSent); got != int64(tt.n) {
					t.Errorf("%s span: %s = %d; want %d", kind, semconv.MessagesSent, got, tt.n)
				}
				for i, e := range evs {
					if i > 0 && e.at.Before(evs[i-1].at) {
						t.Errorf("%s span: event %d (%s %d) at %v is before the one before it", kind, i, e.typ, e.id, e.at)
					}
					if e.size <= 0 || e.comp != e.size || e.hasText {
						t.Errorf("%s span: event %+v; want sizes > 0, equal, and no text", kind, e)
					}
				}
			}
		})
	}

	t.Run("unary: counts, no timeline", func(t *testing.T) {
		w := startWrapped(t)
		req := &testpb.SimpleRequest{ResponseSize: 7}
		if _, err := w.client.UnaryCall(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		s := w.span(t, testSvc+"UnaryCall", trace.SpanKindClient)
		if evs := messageEvents(s); len(evs) != 0 {
			t.Errorf("client events = %+v; want none for a unary call", evs)
		}
		if got := intAttr(t, s, semconv.BytesSent); got != int64(proto.Size(req)) {
			t.Errorf("client %s = %d; want %d", semconv.BytesSent, got, proto.Size(req))
		}
	})
}
