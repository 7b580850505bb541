package grpcstats

import (
	"os"
	"strings"
	"testing"

	"github.com/debugz/debugz/internal/semconv"
)

// TestDocListsEveryKey: the package documentation names every span
// attribute, event and event attribute that grpcstats writes, since the
// constants are not exported; and every attribute of debugz's own shares
// the prefix that lets the engine skip every other key with one comparison.
func TestDocListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	own := []string{
		semconv.MessagesSent, semconv.MessagesReceived, semconv.BytesSent, semconv.BytesReceived,
		semconv.BytesSentWire, semconv.BytesReceivedWire, semconv.DeadlineBudget, semconv.DeadlineUsed,
		semconv.Compressor, semconv.StatusMessage, semconv.EventStack, semconv.StackText,
		semconv.EventStatusDetail, semconv.StatusDetailType, semconv.StatusDetailText,
		semconv.AttemptNumber, semconv.AttemptTransparent, semconv.AttemptPrevious, semconv.AttemptOffset,
		semconv.AttemptPreviousAttempts,
	}
	for _, key := range own {
		if !strings.HasPrefix(key, semconv.DebugzPrefix) {
			t.Errorf("attribute %q; want the prefix %q", key, semconv.DebugzPrefix)
		}
		// the engine tells the attempt keys from the others by one byte
		if attempt := strings.HasPrefix(key, semconv.AttemptPrefix); attempt != (key[len(semconv.DebugzPrefix)] == 'a') {
			t.Errorf("attribute %q: an attempt key is one whose first byte after %q is 'a'; this one is not, or the other way round", key, semconv.DebugzPrefix)
		}
	}
	written := append(own, semconv.NetworkPeerAddress, semconv.NetworkPeerPort, semconv.EventMessage,
		semconv.MessageType, semconv.MessageID, semconv.MessageUncompressedSize, semconv.MessageCompressedSize,
		semconv.MessageText, semconv.MessageTypeSent, semconv.MessageTypeReceived,
		semconv.RPCSystemName, semconv.RPCMethod, semconv.RPCResponseStatusCode)
	for _, key := range written {
		if !strings.Contains(string(doc), "//\t"+key+" ") && !strings.Contains(string(doc), " "+key+" ") &&
			!strings.Contains(string(doc), `"`+key+`"`) {
			t.Errorf("doc.go does not list %q", key)
		}
	}
}
