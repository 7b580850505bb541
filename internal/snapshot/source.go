package snapshot

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/goroutines"
	"github.com/debugz/debugz/internal/otlp"
	"github.com/debugz/debugz/internal/semconv"
	"github.com/debugz/debugz/internal/view"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// The snapshot as the pages' view.Source: the same queries the live source
// answers, over what the file holds. What needs the live process (a CPU
// profile, the follow streams) finds nothing here; the viewer's handler
// says so before the pages are asked.

var _ view.Source = (*Snapshot)(nil)

// ErrLive is the answer of what only the live process can tell.
var ErrLive = errors.New("this is a snapshot: a CPU profile and live updates need the live process")

// maxStackBytes bounds the goroutine stacks shown for one call, as the
// live pages do.
const maxStackBytes = 64 << 10

func (s *Snapshot) Summary(bool) view.Summary { // the file holds the windows
	out := s.Meta.Summary.Summary
	out.Methods = make([]view.Method, len(s.Meta.Summary.Methods))
	for i, m := range s.Meta.Summary.Methods {
		out.Methods[i] = m.Method
		out.Methods[i].Codes = m.Codes
		out.Methods[i].In = m.In
	}
	return out
}

func (s *Snapshot) Methods() []string {
	var out []string
	for _, m := range s.Meta.Summary.Methods {
		out = append(out, m.Method.Method)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// overflowMethod is debugz.OverflowMethod, the row of the methods beyond
// WithMaxMethods: its spans keep their own method, which has no row.
const overflowMethod = "(overflow)"

// inOverflow reports whether sp was counted in the overflow row: its
// method has no row of its own.
func (s *Snapshot) inOverflow(sp *view.Span) bool {
	s.rowsOnce.Do(func() {
		s.rows = map[[2]string]bool{}
		for _, m := range s.Meta.Summary.Methods {
			s.rows[[2]string{m.Method.Method, m.Kind}] = true
		}
	})
	return !s.rows[[2]string{sp.Method, sp.Kind}]
}

// match is the live source's filter over a snapshot's span.
func (s *Snapshot) match(q *view.Query, sp *view.Span) bool {
	if q.Method == overflowMethod {
		rest := *q
		rest.Method = ""
		return s.inOverflow(sp) && match(&rest, sp)
	}
	return match(q, sp)
}

func (s *Snapshot) Spans(q view.Query) []view.Span {
	var out []view.Span
	for i := range s.spans {
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
		if s.match(&q, &s.spans[i]) {
			out = append(out, s.spans[i])
		}
	}
	return out
}

func (s *Snapshot) Count(q view.Query) int {
	n := 0
	for i := range s.spans {
		if s.match(&q, &s.spans[i]) {
			n++
		}
	}
	return n
}

// match is the live source's filter (debugz.Filter) over a view.Span: gRPC
// calls only.
func match(q *view.Query, sp *view.Span) bool {
	return sp.Method != "" &&
		(q.Method == "" || methodMatch(q.Method, sp.Method)) &&
		(q.Kind == "" || q.Kind == sp.Kind) &&
		(q.Bucket < 0 || q.Bucket == sp.Bucket) &&
		(q.Code < 0 || q.Code == sp.CodeNum) &&
		(!q.Errors || sp.CodeNum != 0) &&
		(!q.NearDeadline || sp.NearDeadline) &&
		(!q.Retried || sp.Attempts > 1) &&
		(q.Min == 0 || sp.Duration >= q.Min) &&
		(q.Max == 0 || sp.Duration <= q.Max) &&
		(q.Trace == "" || q.Trace == sp.TraceID) &&
		(q.Before.IsZero() || end(sp) < q.Before.UnixNano()) &&
		(q.Peer == "" || q.Peer == sp.Peer)
}

// methodMatch is the live filter's: a full method selects itself, anything
// else the methods that contain it in any case.
func methodMatch(want, method string) bool {
	if want == method {
		return true
	}
	if i := strings.LastIndexByte(want, '/'); i > 0 && i < len(want)-1 {
		return false
	}
	return strings.Contains(strings.ToLower(method), strings.ToLower(want))
}

func (s *Snapshot) Span(id string) (view.Span, bool) {
	if i, ok := s.byID[id]; ok {
		return s.spans[i], true
	}
	for _, a := range s.Meta.Active {
		if a.SpanID == id {
			return s.running(&a), true
		}
	}
	return view.Span{}, false
}

// running is a call in flight at the moment, as the live source shows one.
func (s *Snapshot) running(a *Active) view.Span {
	ws := view.Span{TraceID: a.TraceID, SpanID: a.SpanID, Name: a.Method, Method: a.Method, Kind: a.Kind,
		Start: a.Start, Duration: max(s.Meta.Taken.Sub(a.Start), 0), Running: true, Peer: a.Peer, ParentSpanID: a.Parent}
	if a.ProgressKnown {
		ws.MessagesKnown, ws.MessagesSent, ws.MessagesReceived = true, int64(a.Sent), int64(a.Received)
	}
	if budget := a.Deadline.Sub(a.Start); !a.Deadline.IsZero() && budget > 0 {
		ws.DeadlineKnown, ws.DeadlineUsed = true, float64(ws.Duration)/float64(budget)
		ws.NearDeadline = s.Meta.NearDeadline > 0 && ws.DeadlineUsed > s.Meta.NearDeadline
	}
	return ws
}

// Goroutines are the goroutines of the snapshot's dump labelled with span
// ID id, as of the moment the snapshot shows.
func (s *Snapshot) Goroutines(id string) ([]view.Goroutine, time.Time) {
	return s.stacks(id), s.Meta.Taken
}

// stacks are the goroutines of the shared dump labelled with span ID id.
func (s *Snapshot) stacks(id string) []view.Goroutine {
	var out []view.Goroutine
	for _, st := range goroutines.Parse(s.goroutines, strconv.Quote(semconv.LabelSpanID)+":"+strconv.Quote(id), maxStackBytes) {
		out = append(out, view.Goroutine(st))
	}
	return out
}

func (s *Snapshot) Trace(id string) (view.Trace, bool) {
	t := view.Trace{TraceID: id}
	add := func(ws view.Span) {
		if t.Start.IsZero() || ws.Start.Before(t.Start) {
			t.Start = ws.Start
		}
		if e := ws.Start.Add(ws.Duration); e.After(t.End) {
			t.End = e
		}
		t.Spans = append(t.Spans, ws)
	}
	for i := range s.spans {
		if s.spans[i].TraceID == id {
			add(s.spans[i])
		}
	}
	for _, a := range s.Meta.Active {
		if _, ended := s.byID[a.SpanID]; a.TraceID == id && !ended {
			add(s.running(&a))
		}
	}
	if len(t.Spans) == 0 {
		return view.Trace{}, false
	}
	slices.SortStableFunc(t.Spans, func(a, b view.Span) int { return a.Start.Compare(b.Start) })
	return t, true
}

func (s *Snapshot) TraceOTLP(id string) ([]byte, bool, error) {
	s.otlpOnce.Do(func() {
		if len(s.traces) > 0 {
			s.otlp, s.otlpErr = otlp.ParseJSON(s.traces)
		} else {
			s.otlp = &tracepb.TracesData{}
		}
	})
	if s.otlpErr != nil {
		return nil, false, s.otlpErr
	}
	td := otlp.SelectTrace(s.otlp, id)
	if td == nil {
		if _, running := s.Trace(id); !running { // a trace still all in flight is there, without a span yet
			return nil, false, nil
		}
		td = &tracepb.TracesData{}
	}
	b, err := otlp.Encode(td)
	return b, true, err
}

func (s *Snapshot) Active(limit int) ([]view.Active, int) {
	act := s.Meta.Active[:min(max(limit, 0), len(s.Meta.Active))] // the oldest, as the live page
	out := make([]view.Active, len(act))
	for i, a := range act {
		out[i] = a.Active
		out[i].ProgressKnown, out[i].Sent, out[i].Received = a.ProgressKnown, a.Sent, a.Received
	}
	return out, len(s.Meta.Active)
}

func (s *Snapshot) Process() view.Process { return s.Meta.Process }

func (s *Snapshot) Logs(q view.LogQuery) []view.LogEntry {
	minLevel := slog.LevelInfo
	switch q.Level {
	case "DEBUG":
		minLevel = math.MinInt
	case "WARN":
		minLevel = slog.LevelWarn
	case "ERROR":
		minLevel = slog.LevelError
	}
	var out []view.LogEntry
	for _, l := range s.logs {
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(l.Level)); err != nil {
			lvl = slog.LevelInfo
		}
		if lvl >= minLevel && (q.Trace == "" || q.Trace == l.TraceID) &&
			(q.Method == "" || methodMatch(q.Method, l.Method)) &&
			(q.Text == "" || strings.Contains(strings.ToLower(l.Message), strings.ToLower(q.Text))) {
			out = append(out, l)
		}
	}
	return out
}

// FollowLogs finds nothing new: the moment is over.
func (s *Snapshot) FollowLogs(_ view.LogQuery, pos uint64) ([]view.LogEntry, uint64, uint64) {
	return nil, pos, 0
}

func (s *Snapshot) CPUByMethod(context.Context, time.Duration) (view.CPUProfile, error) {
	return view.CPUProfile{}, ErrLive
}

// Follow finds nothing new: the moment is over.
func (s *Snapshot) Follow(_ view.Query, after uint64) ([]view.Span, uint64, uint64) {
	return nil, after, 0
}

// Channelz is the connections pages' view.Channelz over the snapshot; nil
// when it has none.
func (s *Snapshot) ChannelzSource() view.Channelz {
	if s.Meta.Channelz == nil {
		return nil
	}
	return channelz{s.Meta.Channelz}
}

type channelz struct{ c *Channelz }

func (c channelz) Overview(context.Context) (view.ChannelzOverview, error) {
	if c.c.Error != "" {
		return view.ChannelzOverview{}, errors.New(c.c.Error)
	}
	return c.c.Overview, nil
}

func (c channelz) Channel(_ context.Context, id int64) (view.ChannelzChannel, bool, error) {
	ch, ok := c.c.Channels[id]
	return ch, ok, nil
}
