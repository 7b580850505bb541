package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/debugz/debugz/internal/view"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// maxReadBytes bounds what Read accepts, whatever the file says of its own
// bound: a viewer must not run out of memory on a hostile file.
const maxReadBytes = 1 << 30

// Snapshot is a snapshot file read back: a view.Source of the moment it
// shows (source.go).
type Snapshot struct {
	Meta Meta
	// Raw is the file as read, served again as the viewer's /api/snapshot.
	Raw        []byte
	spans      []view.Span // every span, gRPC or not, in the order the live pages list them
	byID       map[string]int
	logs       []view.LogEntry // newest first
	traces     []byte          // traces.otlp.json
	goroutines string

	rowsOnce sync.Once
	rows     map[[2]string]bool // the summary's (method, kind) rows

	otlpOnce sync.Once
	otlp     *tracepb.TracesData // traces parsed on first use
	otlpErr  error
}

// Read reads a snapshot file.
func Read(r io.Reader) (*Snapshot, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxReadBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxReadBytes {
		return nil, fmt.Errorf("snapshot: larger than %d bytes", maxReadBytes)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("snapshot: not a debugz snapshot (%w)", err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	total := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(tr, int64(maxReadBytes-total+1)))
		if err != nil {
			return nil, fmt.Errorf("snapshot: %s: %w", h.Name, err)
		}
		if total += len(b); total > maxReadBytes {
			return nil, fmt.Errorf("snapshot: more than %d bytes uncompressed", maxReadBytes)
		}
		files[h.Name] = b
	}
	s := &Snapshot{Raw: raw, traces: files[TracesFile], goroutines: string(files[GoroutinesFile])}
	if err := json.Unmarshal(files[MetaFile], &s.Meta); err != nil {
		return nil, fmt.Errorf("snapshot: %s: %w", MetaFile, err)
	}
	if s.Meta.Format != Format {
		return nil, fmt.Errorf("snapshot: format %q, this viewer reads %q", s.Meta.Format, Format)
	}
	if err := decode(files[SpansFile], &s.spans); err != nil {
		return nil, fmt.Errorf("snapshot: %s: %w", SpansFile, err)
	}
	if err := decode(files[LogsFile], &s.logs); err != nil {
		return nil, fmt.Errorf("snapshot: %s: %w", LogsFile, err)
	}
	s.byID = make(map[string]int, len(s.spans))
	for i := range s.spans {
		s.byID[s.spans[i].SpanID] = i
	}
	return s, nil
}

// decode reads JSON into v, numbers as json.Number so that attribute
// values come back as they were written (an int64 stays exact).
func decode(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// end is when a span ended, in ns.
func end(s *view.Span) int64 { return s.Start.Add(s.Duration).UnixNano() }
