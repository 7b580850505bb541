package grpcstats

import "github.com/debugz/debugz/internal/semconv"

// Deprecated names, kept only while the root package's query.go and
// handler.go (being edited elsewhere) still read them from here; they go
// once those files read internal/semconv. The attribute names themselves are
// listed in the package documentation.
const (
	// Deprecated: the attribute is named "debugz.status.message".
	AttrStatusMessage = semconv.StatusMessage
	// Deprecated: the event is named "message".
	EventMessage = semconv.EventMessage
	// Deprecated: the event is named "debugz.stack".
	EventStack = semconv.EventStack
	// Deprecated: the attribute is named "debugz.stack.text".
	AttrStackText = semconv.StackText
)
