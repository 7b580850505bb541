package grpcstats_test

import (
	"strings"
	"testing"

	"github.com/debugz/debugz/grpcstats"
)

// TestSpanAttributesPrefix: the span attributes share the "debugz." prefix,
// which lets the engine skip every other key with one comparison.
func TestSpanAttributesPrefix(t *testing.T) {
	for _, key := range []string{
		grpcstats.AttrMessagesSent, grpcstats.AttrMessagesReceived,
		grpcstats.AttrBytesSent, grpcstats.AttrBytesReceived,
		grpcstats.AttrBytesSentWire, grpcstats.AttrBytesReceivedWire,
		grpcstats.AttrDeadlineBudget, grpcstats.AttrDeadlineUsed, grpcstats.AttrCompressor,
	} {
		if !strings.HasPrefix(key, "debugz.") {
			t.Errorf("span attribute %q; want the prefix %q", key, "debugz.")
		}
	}
}
