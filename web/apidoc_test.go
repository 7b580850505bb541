package web

import (
	"bufio"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/view"
)

// TestAPIDocumented: every key of every JSON answer is snake_case and has a
// row in a field table of docs/api.md ("| `key` | type | meaning |"). The answers come from
// fullSource, whose values have every field set, so a field added to a view
// model or a JSON type shows up here until it is documented.
func TestAPIDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, fullSource{}, view.Config{Channelz: fullChannelz{}, Interval: time.Millisecond})
	keys := map[string]string{} // key → the first endpoint and path it was seen at
	for _, path := range []string{
		"/api/summary", "/api/spans", "/api/spans/" + testSpan + "?stacks=1", "/api/active", "/api/logs", "/api/profile?seconds=1",
		"/api/channelz", "/api/channelz/channels/7",
		"/api/spans?limit=0", "/api/nothing", // a 400 and a 404
	} {
		_, body := testRequest(t, ts, "GET", "/debug/rpcs"+path)
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("GET %s: %v: %.300s", path, err, body)
		}
		jsonKeys(v, path+" ", keys)
	}
	for _, path := range []string{"/api/spans?follow=1", "/api/logs?follow=1"} {
		for _, line := range followLines(t, ts.URL+"/debug/rpcs"+path) {
			var v any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("GET %s: %v: %.300s", path, err, line)
			}
			jsonKeys(v, path+" ", keys)
		}
	}
	for _, want := range []string{"capacity", "rate_1m_per_s", "elapsed_ns", "share", "local_window_bytes", "logs_skipped", "skipped", "parameter"} {
		if _, ok := keys[want]; !ok {
			t.Errorf("no answer has the key %q: fullSource no longer fills every field", want)
		}
	}
	documented := fieldRows(string(doc))
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !snake.MatchString(k) {
			t.Errorf("JSON key %q (at %s) is not snake_case", k, keys[k])
		}
		if !documented[k] {
			t.Errorf("JSON key %q (at %s) has no row in a field table of docs/api.md (| `%s` | type | meaning |)", k, keys[k], k)
		}
	}
}

// fieldRows returns the keys the field tables of doc document: the names in
// backquotes in the first cell of each row of a table whose header starts
// with "| key |" (parameter tables do not count).
func fieldRows(doc string) map[string]bool {
	keys := map[string]bool{}
	fields := false
	quoted := regexp.MustCompile("`([^`]+)`")
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(line, "|") {
			fields = false
			continue
		}
		cells := strings.Split(line, "|")
		switch first := strings.TrimSpace(cells[1]); {
		case first == "key":
			fields = true
		case fields:
			for _, m := range quoted.FindAllStringSubmatch(first, -1) {
				keys[m[1]] = true
			}
		}
	}
	return keys
}

// dataKeys are the keys whose values are objects keyed by data (attribute
// keys, code names), not by field names.
var dataKeys = []string{"attributes", "resource", "codes"}

// jsonKeys adds every object key in v to keys, with where it was seen.
func jsonKeys(v any, at string, keys map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if _, ok := keys[k]; !ok {
				keys[k] = at + k
			}
			if !slices.Contains(dataKeys, k) {
				jsonKeys(x, at+k+".", keys)
			}
		}
	case []any:
		for _, x := range v {
			jsonKeys(x, at, keys)
		}
	}
}

// followLines reads a follow stream until it has sent a gap record and a
// record of another kind, and returns its lines.
func followLines(t *testing.T, url string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	gap, other := false, false
	for sc := bufio.NewScanner(resp.Body); sc.Scan() && !(gap && other); {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), `{"gap":`) {
			gap = true
		} else {
			other = true
		}
	}
	if !gap || !other {
		t.Fatalf("GET %s: %d lines before it ended; want a gap record and another", url, len(lines))
	}
	return lines
}

// fullSource answers with values whose every field is set (see fill).
type fullSource struct{}

func full[T any]() T {
	var v T
	fill(reflect.ValueOf(&v).Elem(), 0)
	return v
}

// fill sets every field of v, recursively, to a value that is not zero: one
// element in each slice, down to a depth that ends recursive types.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if depth < 3 {
			s := reflect.MakeSlice(v.Type(), 1, 1)
			fill(s.Index(0), depth+1)
			v.Set(s)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(fixedNow))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth)
			}
		}
	}
}

func (fullSource) Summary(bool) view.Summary     { return full[view.Summary]() }
func (s fullSource) Methods() []string           { return summaryMethods(s.Summary(false)) }
func (fullSource) Spans(view.Query) []view.Span  { return []view.Span{full[view.Span]()} }
func (fullSource) Count(view.Query) int          { return 2 } // more than Spans: a next page
func (fullSource) Span(string) (view.Span, bool) { return full[view.Span](), true }
func (fullSource) Goroutines(string) ([]view.Goroutine, time.Time) {
	return []view.Goroutine{full[view.Goroutine]()}, fixedNow
}
func (fullSource) Trace(string) (view.Trace, bool) { return full[view.Trace](), true }
func (fullSource) TraceOTLP(string) ([]byte, bool, error) {
	return []byte(`{"resourceSpans":[]}`), true, nil
}
func (fullSource) Active(int) ([]view.Active, int)    { return []view.Active{full[view.Active]()}, 2 }
func (fullSource) Process() view.Process              { return full[view.Process]() }
func (fullSource) Logs(view.LogQuery) []view.LogEntry { return []view.LogEntry{full[view.LogEntry]()} }
func (fullSource) FollowLogs(_ view.LogQuery, pos uint64) ([]view.LogEntry, uint64, uint64) {
	return []view.LogEntry{full[view.LogEntry]()}, pos + 2, 1
}
func (fullSource) CPUByMethod(context.Context, time.Duration) (view.CPUProfile, error) {
	return full[view.CPUProfile](), nil
}
func (fullSource) Follow(_ view.Query, pos uint64) ([]view.Span, uint64, uint64) {
	return []view.Span{full[view.Span]()}, pos + 2, 1
}

// fullChannelz answers with every field set.
type fullChannelz struct{}

func (fullChannelz) Overview(context.Context) (view.ChannelzOverview, error) {
	return full[view.ChannelzOverview](), nil
}
func (fullChannelz) Channel(context.Context, int64) (view.ChannelzChannel, bool, error) {
	return full[view.ChannelzChannel](), true, nil
}
