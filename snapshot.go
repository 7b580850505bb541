package debugz

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/otlp"
	"github.com/debugz/debugz/internal/snapshot"
	"github.com/debugz/debugz/internal/view"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// A snapshot keeps the evidence: the moment the pages show, in one file
// (the layout is in internal/snapshot), opened later by
// `go run github.com/debugz/debugz/cmd/debugz view FILE` with the same pages.

// WithSnapshotMaxBytes bounds the snapshots of [WriteSnapshot] and of the
// pages' "Save snapshot" (/api/snapshot): the bytes of the files in it
// before compression, so the file itself is smaller still. Past the bound
// the oldest successful spans are left out first, then the oldest failed
// ones; the file says how many. The default is 16 MiB.
func WithSnapshotMaxBytes(n int) HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) { c.snapshotMax = n })
}

// WriteSnapshot writes to w a snapshot of sp as the pages see it now: the
// summary (since start, the last 10 minutes and the last minute), the
// process, its build and runtime figures, every retained span and log
// record (also as OTLP/JSON, which OpenTelemetry tools load), the calls in
// flight with one goroutine dump, and channelz with [WithChannelz];
// redacted as the pages are ([WithoutRedaction], [WithRedactedKeys]) and
// within [WithSnapshotMaxBytes]. The file is a gzipped tar; open it with
// `go run github.com/debugz/debugz/cmd/debugz view FILE`. A service may
// call it on a signal, when its own alert fires, or when a test fails.
func WriteSnapshot(w io.Writer, sp *SpanProcessor, opts ...HandlerOption) error {
	if sp == nil {
		return errors.New("debugz: WriteSnapshot called with nil *SpanProcessor")
	}
	cfg := newHandlerConfig(opts)
	return newSource(sp, &cfg).writeSnapshot(w, &cfg)
}

// snapshotSlack is kept out of the bound at first for what is counted only
// once written: the archive's headers, the OTLP documents' resources and
// scopes, the figures of what was dropped.
const snapshotSlack = 64 << 10

// snapshotFile is one file of the archive.
type snapshotFile struct {
	name string
	b    []byte
}

func (s *source) writeSnapshot(w io.Writer, cfg *handlerConfig) error {
	maxBytes := cfg.snapshotMax
	if maxBytes <= 0 {
		maxBytes = snapshot.DefaultMaxBytes
	}
	meta := snapshot.Meta{Format: snapshot.Format, Taken: time.Now(), Process: s.Process(), Build: buildInfo(),
		Runtime: runtimeFigures(), MaxBytes: maxBytes, NearDeadline: nearDeadline, TraceURL: cfg.traceURL}
	sum := s.Summary(true)
	meta.Summary.Summary = sum
	for _, m := range sum.Methods {
		meta.Summary.Methods = append(meta.Summary.Methods, snapshot.Method{Method: m, Codes: m.Codes, In: m.In})
	}
	for _, a := range s.sp.Active() {
		va := snapshot.Active{Active: view.Active{TraceID: a.TraceID.String(), SpanID: a.SpanID.String(), Method: s.red.String(a.Method),
			Kind: kindName(a.Kind), Start: a.Start, Peer: a.Peer, Deadline: a.Deadline},
			ProgressKnown: a.ProgressKnown, Sent: a.MessagesSent, Received: a.MessagesReceived}
		if a.Parent.IsValid() {
			va.Parent = a.Parent.String()
		}
		meta.Active = append(meta.Active, va)
	}
	if cfg.channelz != nil {
		meta.Channelz = readChannelz(cfg.channelz)
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("debugz: snapshot: %w", err)
	}
	var files []snapshotFile
	for slack := snapshotSlack; ; {
		budget := maxBytes - slack - len(metaJSON)
		if budget < 0 {
			return fmt.Errorf("debugz: snapshot: the summary and the calls in flight alone take %d bytes, over the bound of %d (WithSnapshotMaxBytes)",
				len(metaJSON)+snapshotSlack, maxBytes)
		}
		if files, err = s.snapshotFiles(&meta, metaJSON, budget); err != nil {
			return err
		}
		total := 0
		for _, f := range files {
			total += len(f.b) + 2<<10 // the tar header and padding, with room
		}
		if total <= maxBytes {
			break
		}
		slack += 2 * (total - maxBytes) // rare: resources and scopes larger than the slack
	}

	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // the level is valid
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.b)), ModTime: meta.Taken, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("debugz: snapshot: %w", err)
		}
		if _, err := tw.Write(f.b); err != nil {
			return fmt.Errorf("debugz: snapshot: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("debugz: snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("debugz: snapshot: %w", err)
	}
	return nil
}

// snapshotFiles encodes the files of a snapshot, those other than meta's
// within budget bytes, and records in meta what they left out.
func (s *source) snapshotFiles(meta *snapshot.Meta, metaJSON []byte, budget int) ([]snapshotFile, error) {
	// The log records and the goroutine dump take at most a quarter each;
	// the spans the rest.
	logsJSON, logs, droppedLogs, err := s.snapshotLogs(budget / 4)
	if err != nil {
		return nil, err
	}
	dump, cut := goroutineDump(budget / 4)
	meta.Dropped = snapshot.Dropped{Logs: droppedLogs, GoroutineBytes: cut}
	budget -= len(logsJSON) + len(dump)
	for i := range logs {
		budget -= otlp.LogSize(&logs[i], s.red)
	}
	// The OTLP logs have the calls' own lines too, those no longer among
	// the latest records.
	spansJSON, tracesOTLP, callLogs, err := s.snapshotSpans(budget, logs, &meta.Dropped)
	if err != nil {
		return nil, err
	}
	logs = append(logs, callLogs...)
	slices.SortStableFunc(logs, func(a, b otlp.Log) int { return a.Time.Compare(b.Time) }) // oldest first, as a log file reads
	logsOTLP, err := otlp.LogsJSON(logs, s.sp.resource.Load(), s.red)
	if err != nil {
		return nil, err
	}
	// What was dropped, in place of the zeros: the summary and the calls in
	// flight, most of the file, are encoded once.
	zero, _ := json.Marshal(snapshot.Dropped{}) // a struct of ints always encodes
	dropped, _ := json.Marshal(meta.Dropped)
	metaJSON = bytes.Replace(metaJSON, append([]byte(`"dropped":`), zero...), append([]byte(`"dropped":`), dropped...), 1)
	return []snapshotFile{
		{snapshot.MetaFile, metaJSON}, {snapshot.SpansFile, spansJSON}, {snapshot.LogsFile, logsJSON},
		{snapshot.TracesFile, tracesOTLP}, {snapshot.OTLPLogsFile, logsOTLP}, {snapshot.GoroutinesFile, dump},
	}, nil
}

// snapshotSpans encodes the retained spans, as the pages show them and as
// OTLP, within budget bytes: the failed ones first, newest first, then the
// successful ones newest first, so that the bound leaves out the oldest
// successful spans first. It counts what it left out in dropped.
func (s *source) snapshotSpans(budget int, latest []otlp.Log, dropped *snapshot.Dropped) (spansJSON, tracesOTLP []byte, callLogs []otlp.Log, err error) {
	seen := make(map[logKey]bool, len(latest))
	for i := range latest {
		seen[keyOf(&latest[i])] = true
	}
	recs, evicted := s.sp.retained()
	failed := make([]bool, len(recs))
	for i := range recs {
		r := &recs[i]
		failed[i] = r.row != nil && r.code != codes.OK || r.row == nil && r.span.Status().Code == otelcodes.Error
	}
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if failed[a] != failed[b] {
			if failed[a] {
				return -1
			}
			return 1
		}
		return cmp.Compare(recs[b].end, recs[a].end)
	})
	var views [][]byte
	var kept []int
	var encoded []otlp.EncodedSpan
	used := 0
	// In batches, each encoded in parallel, then counted in order: past the
	// budget, at most one batch was encoded for nothing.
	const batch = 256
	enc := make([]encodedRecord, batch)
	for start := 0; start < len(order); start += batch {
		next := order[start:min(start+batch, len(order))]
		parallel(len(next), func(k int) { enc[k] = s.encodeRecord(&recs[next[k]]) })
		for k, i := range next {
			e := &enc[k]
			if e.err != nil {
				return nil, nil, nil, e.err
			}
			cost, nlogs := len(e.view)+len(e.otlp.JSON)+2, len(callLogs)
			for j := range e.logs {
				if !seen[keyOf(&e.logs[j])] {
					cost += e.logSizes[j]
					callLogs = append(callLogs, e.logs[j])
				}
			}
			if used += cost; used > budget {
				callLogs = callLogs[:nlogs]
				for _, j := range order[start+k:] {
					dropped.Spans++
					if failed[j] {
						dropped.Failed++
					} else {
						dropped.OK++
					}
				}
				start = len(order) // done
				break
			}
			for _, l := range callLogs[nlogs:] {
				seen[keyOf(&l)] = true
			}
			views, kept, encoded = append(views, e.view), append(kept, i), append(encoded, e.otlp)
		}
	}
	views = inLiveOrder(recs, kept, views, evicted)
	var doc bytes.Buffer
	doc.Grow(used)
	if err := otlp.WriteDocument(&doc, encoded, s.red); err != nil {
		return nil, nil, nil, err
	}
	return joinJSON(views), doc.Bytes(), callLogs, nil
}

// encodedRecord is a retained span encoded for a snapshot: as the pages
// show it, as OTLP, and its log lines as OTLP records with their sizes.
type encodedRecord struct {
	view     []byte
	otlp     otlp.EncodedSpan
	logs     []otlp.Log
	logSizes []int
	err      error
}

// encodeRecord encodes one retained span; it is safe for concurrent use.
func (s *source) encodeRecord(r *record) encodedRecord {
	sp := s.sp.toSpan(r)
	var e encodedRecord
	if e.view, e.err = json.Marshal(s.span(&sp)); e.err != nil {
		e.err = fmt.Errorf("debugz: snapshot: %w", e.err)
		return e
	}
	o := otlpSpan(&sp)
	if e.otlp, e.err = otlp.EncodeSpan(&o, s.red); e.err != nil {
		return e
	}
	for j := range sp.Logs {
		l := otlpLog(&sp.Logs[j])
		e.logs, e.logSizes = append(e.logs, l), append(e.logSizes, otlp.LogSize(&l, s.red))
	}
	return e
}

// parallel calls f(0) … f(n-1) on as many goroutines as there are
// processors, and returns when every call has.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

// inLiveOrder puts the views of the kept records in the order the live
// pages list them ([SpanProcessor.Spans]), for the viewer to keep: the
// recent ring's, the last pushed first, or, when the reservoirs add older
// ones, all by end, the last to end first; the non-gRPC spans after them.
func inLiveOrder(recs []record, kept []int, views [][]byte, evicted uint64) [][]byte {
	extra := slices.ContainsFunc(kept, func(i int) bool { return recs[i].row != nil && recs[i].seq <= evicted })
	idx := make([]int, len(kept))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ra, rb := &recs[kept[a]], &recs[kept[b]]
		if (ra.row == nil) != (rb.row == nil) {
			if ra.row == nil {
				return 1
			}
			return -1
		}
		if extra {
			return cmp.Or(cmp.Compare(rb.end, ra.end), cmp.Compare(rb.seq, ra.seq))
		}
		return cmp.Compare(rb.seq, ra.seq)
	})
	out := make([][]byte, len(idx))
	for i, j := range idx {
		out[i] = views[j]
	}
	return out
}

// retained returns every retained record, gRPC or not, each once: the
// recent ring, the ring of other spans, and the reservoirs' records that
// the recent ring no longer holds (push numbers up to evicted).
func (sp *SpanProcessor) retained() (out []record, evicted uint64) {
	for seq, r := range sp.recent.Newest() {
		r.seq = seq
		out = append(out, r)
	}
	for _, r := range sp.other.Newest() {
		out = append(out, r)
	}
	evicted = sp.recent.Overwritten()
	seen := map[uint64]bool{} // a record may be in a bucket's and a code's reservoir
	for _, row := range sp.rows.all() {
		out = row.appendRecords(out, func(r *record) bool {
			if r.seq > evicted || seen[r.seq] {
				return false
			}
			seen[r.seq] = true
			return true
		})
	}
	return out, evicted
}

// snapshotLogs encodes the latest log records as the pages show them,
// within budget bytes with room for them as OTLP, leaving out the oldest
// first. It returns the kept ones for the OTLP document, newest first.
func (s *source) snapshotLogs(budget int) (logsJSON []byte, kept []otlp.Log, dropped int, err error) {
	recs := s.sp.Logs(LogFilter{MinLevel: math.MinInt}) // newest first
	views := make([][]byte, 0, len(recs))
	used := 2 // []
	for i := range recs {
		vb, err := json.Marshal(s.logEntries(recs[i : i+1])[0])
		if err != nil {
			return nil, nil, 0, fmt.Errorf("debugz: snapshot: %w", err)
		}
		l := otlpLog(&recs[i].LogLine)
		if used += len(vb) + 1 + otlp.LogSize(&l, s.red); used > budget {
			break
		}
		views, kept = append(views, vb), append(kept, l)
	}
	return joinJSON(views), kept, len(recs) - len(kept), nil
}

// otlpLog is what the OTLP encoding needs of a log record.
func otlpLog(l *LogLine) otlp.Log {
	ol := otlp.Log{Time: l.Time, Level: l.Level, Message: l.Message, Span: l.Span}
	for _, a := range l.Attrs {
		ol.Attributes = append(ol.Attributes, slogAttr(a))
	}
	return ol
}

// logKey tells a record apart from the others: a call's copy of a line in
// the latest records is the same line.
type logKey struct {
	time    int64
	span    trace.SpanID
	message string
}

func keyOf(l *otlp.Log) logKey { return logKey{l.Time.UnixNano(), l.Span.SpanID(), l.Message} }

// joinJSON is a JSON array of the encoded values.
func joinJSON(vs [][]byte) []byte {
	return append(append([]byte("["), bytes.Join(vs, []byte(","))...), ']')
}

// goroutineDump is one goroutine dump of the whole process (debug=1: its
// profiler labels name the calls' span IDs), cut at a record within
// maxBytes; cut is how many bytes were left out.
func goroutineDump(maxBytes int) (dump []byte, cut int) {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return nil, 0
	}
	b := buf.Bytes()
	if len(b) <= maxBytes {
		return b, 0
	}
	end := bytes.LastIndex(b[:max(maxBytes, 0)], []byte("\n\n"))
	if end < 0 {
		end = 0
	}
	return b[:end], len(b) - end
}

// readChannelz reads the overview and every channel and subchannel in it.
func readChannelz(c view.Channelz) *snapshot.Channelz {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := &snapshot.Channelz{Channels: map[int64]view.ChannelzChannel{}}
	ov, err := c.Overview(ctx)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Overview = ov
	var ids []int64
	for _, ch := range ov.Channels {
		ids = append(ids, ch.ID)
		for _, sub := range ch.Subchannels {
			ids = append(ids, sub.ID)
		}
	}
	for _, id := range ids {
		if ch, ok, err := c.Channel(ctx, id); err == nil && ok {
			out.Channels[id] = ch
		}
	}
	return out
}

// buildInfo is what the binary says of its build.
func buildInfo() snapshot.Build {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return snapshot.Build{GoVersion: runtime.Version()}
	}
	b := snapshot.Build{GoVersion: bi.GoVersion, Path: bi.Path, Main: snapshot.Module{Path: bi.Main.Path, Version: bi.Main.Version}}
	for _, d := range bi.Deps {
		m := snapshot.Module{Path: d.Path, Version: d.Version}
		if d.Replace != nil {
			m.Version += " => " + strings.TrimSpace(d.Replace.Path+" "+d.Replace.Version)
		}
		b.Deps = append(b.Deps, m)
	}
	for _, s := range bi.Settings {
		b.Settings = append(b.Settings, snapshot.Module{Path: s.Key, Version: s.Value})
	}
	return b
}

// runtimeFigures reads the runtime's figures (ReadMemStats stops the world
// briefly, as a goroutine dump does: once per snapshot).
func runtimeFigures() snapshot.Runtime {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := snapshot.Runtime{Goroutines: runtime.NumGoroutine(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, HeapSys: ms.HeapSys, Sys: ms.Sys,
		NumGC: ms.NumGC, PauseTotal: time.Duration(ms.PauseTotalNs)}
	for i := range min(int(ms.NumGC), 16) {
		r.RecentPauses = append(r.RecentPauses, time.Duration(ms.PauseNs[(int(ms.NumGC)-1-i+256)%256]))
	}
	return r
}
