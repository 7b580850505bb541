// Package snapshot is the file debugz.WriteSnapshot writes and the viewer
// (cmd/debugz) opens: a gzipped tar of a few files, so that the OTLP parts
// load as they are in any OpenTelemetry tool while the viewer reads the
// pages' own models back without working them out again.
//
//	snapshot.json     Meta: process, build, runtime, summary, in flight, channelz, what was dropped
//	spans.json        the retained spans as the pages show them (view.Span), redacted
//	logs.json         the latest log records as the pages show them (view.LogEntry), redacted
//	traces.otlp.json  the same spans as OTLP/JSON (an ExportTraceServiceRequest, hex IDs)
//	logs.otlp.json    the same log records as OTLP/JSON (an ExportLogsServiceRequest)
//	goroutines.txt    one goroutine dump (debug=1) for the calls in flight, cut at a record
//
// Everything in it was redacted as the pages redact before it was written:
// the viewer shows it as it is.
package snapshot

import (
	"time"

	"github.com/debugz/debugz/internal/view"
)

// Format names the layout of the files; a viewer refuses others.
const Format = "debugz-snapshot/1"

// The names of the files in the archive.
const (
	MetaFile       = "snapshot.json"
	SpansFile      = "spans.json"
	LogsFile       = "logs.json"
	TracesFile     = "traces.otlp.json"
	OTLPLogsFile   = "logs.otlp.json"
	GoroutinesFile = "goroutines.txt"
)

// DefaultMaxBytes bounds a snapshot unless told otherwise: the files'
// contents together, before compression, so the file on disk is smaller
// still and the viewer opens it in bounded memory.
const DefaultMaxBytes = 16 << 20

// Meta is snapshot.json: everything but the spans, the logs and the dump.
type Meta struct {
	Format   string       `json:"format"`
	Taken    time.Time    `json:"taken"` // the moment it shows
	Process  view.Process `json:"process"`
	Build    Build        `json:"build"`
	Runtime  Runtime      `json:"runtime"`
	MaxBytes int          `json:"max_bytes"` // the bound it was written under
	Dropped  Dropped      `json:"dropped"`
	Summary  Summary      `json:"summary"`
	Active   []Active     `json:"active"`
	// NearDeadline is the processor's near-deadline share, for the pages' words.
	NearDeadline float64   `json:"near_deadline"`
	TraceURL     string    `json:"trace_url,omitempty"`
	Channelz     *Channelz `json:"channelz,omitempty"` // nil without WithChannelz
}

// Build is what debug.ReadBuildInfo says of the binary.
type Build struct {
	GoVersion string   `json:"go_version"`
	Path      string   `json:"path"` // the main package
	Main      Module   `json:"main"`
	Deps      []Module `json:"deps"`
	Settings  []Module `json:"settings,omitempty"` // build settings, key as Path and value as Version
}

// Module is a module path and version.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// Runtime is the process's figures at the moment.
type Runtime struct {
	Goroutines   int             `json:"goroutines"`
	GOMAXPROCS   int             `json:"gomaxprocs"`
	HeapAlloc    uint64          `json:"heap_alloc_bytes"`
	HeapInuse    uint64          `json:"heap_inuse_bytes"`
	HeapSys      uint64          `json:"heap_sys_bytes"`
	Sys          uint64          `json:"sys_bytes"`
	NumGC        uint32          `json:"num_gc"`
	PauseTotal   time.Duration   `json:"gc_pause_total_ns"`
	RecentPauses []time.Duration `json:"gc_recent_pauses_ns"` // newest first, up to 16
}

// Dropped says what the size bound left out.
type Dropped struct {
	// Spans were left out, the oldest successful first: OK of them ended
	// without an error, Failed with one.
	Spans  int `json:"spans"`
	OK     int `json:"ok"`
	Failed int `json:"failed"`
	// Logs are log records left out, the oldest first.
	Logs int `json:"logs"`
	// GoroutineBytes of the dump were cut at its end.
	GoroutineBytes int `json:"goroutine_bytes"`
}

// Summary is view.Summary with its methods and their codes, which the view
// leaves to web's JSON.
type Summary struct {
	view.Summary
	Methods []Method `json:"methods"`
}

// Method is a row of the summary with its codes.
type Method struct {
	view.Method
	Codes []view.CodeCount `json:"codes"`
	// In are the last minute's and the last 10 minutes' figures
	// (view.Method.In), which the view leaves out of its JSON.
	In [2]view.InWindow `json:"in_windows"`
}

// Active is a call in flight with the progress fields the view leaves out
// of its JSON.
type Active struct {
	view.Active
	Parent        string `json:"parent_span_id,omitempty"` // "" for a root span
	ProgressKnown bool   `json:"progress_known"`
	Sent          uint64 `json:"sent"`
	Received      uint64 `json:"received"`
}

// Channelz is the connections pages' data: the overview, and every
// channel and subchannel of it by ID with its events.
type Channelz struct {
	Overview view.ChannelzOverview          `json:"overview"`
	Channels map[int64]view.ChannelzChannel `json:"channels"`
	Error    string                         `json:"error,omitempty"` // why it could not be read
}
