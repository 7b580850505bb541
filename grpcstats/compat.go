package grpcstats

import "github.com/debugz/debugz/internal/semconv"

// Names kept only while the root package's query.go and handler.go (being
// edited elsewhere) still read them from here; they go once those files read
// internal/semconv, and new code must not use them. Every name grpcstats
// writes is listed in the package documentation.
const (
	// AttrStatusMessage is the attribute "debugz.status.message".
	AttrStatusMessage = semconv.StatusMessage
	// EventMessage is the event "message".
	EventMessage = semconv.EventMessage
	// EventStack is the event "debugz.stack".
	EventStack = semconv.EventStack
	// AttrStackText is the attribute "debugz.stack.text".
	AttrStackText = semconv.StackText
)
