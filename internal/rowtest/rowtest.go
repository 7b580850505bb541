// Package rowtest compares a processor's rows with what a test's calls did,
// for the end-to-end tests of every instrumentation (e2e and its modules).
// It imports nothing but debugz, the OpenTelemetry trace API and grpc's codes, so that a
// module testing connect-go does not pull grpc-go's test service in.
package rowtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Key names a row: a method and a span kind.
type Key struct {
	Method string
	Kind   trace.SpanKind
}

// Server and Client are the keys of a method's two rows.
func Server(method string) Key { return Key{method, trace.SpanKindServer} }
func Client(method string) Key { return Key{method, trace.SpanKindClient} }

// Row is what a test expects of one row once every call has ended.
type Row struct {
	Count, Errors, Retried uint64
	Codes                  map[string]uint64
}

func (r Row) String() string {
	codes := slices.Sorted(maps.Keys(r.Codes))
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s:%d", c, r.Codes[c])
	}
	return fmt.Sprintf("count=%d errors=%d retried=%d codes={%s}", r.Count, r.Errors, r.Retried, strings.Join(parts, " "))
}

// Rows returns the rows of a summary as Rows, keyed by method and kind, and
// the number of calls its rows say are still in flight.
func Rows(sum debugz.Summary) (rows map[Key]Row, active int) {
	rows = map[Key]Row{}
	for _, m := range sum.Methods {
		rows[Key{m.Method, m.Kind}] = Row{Count: m.Count, Errors: m.Errors, Retried: m.Retried, Codes: CodeNames(m.Codes)}
		active += m.Active
	}
	return rows, active
}

// CodeNames are a row's codes by name, only those seen, as Row.Codes has
// them.
func CodeNames(byCode [codes.Unauthenticated + 1]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for c, n := range byCode {
		if n > 0 {
			out[debugz.CodeName(codes.Code(c))] = n
		}
	}
	return out
}

// Wait waits until the processor's rows are exactly want, with no call in
// flight (a server span ends a moment after its client has the answer), and
// fails the test after 10 seconds with every row that differs.
func Wait(t testing.TB, sp *debugz.SpanProcessor, want map[Key]Row) {
	t.Helper()
	var got map[Key]Row
	var active int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got, active = Rows(sp.Summary())
		if active == 0 && equal(got, want) {
			return
		}
	}
	if active != 0 {
		t.Errorf("%d calls still in flight; want none", active)
	}
	for _, k := range keys(got, want) {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !wok:
			t.Errorf("row %s %s = %v; want no such row", k.Method, k.Kind, g)
		case !gok:
			t.Errorf("row %s %s missing; want %v", k.Method, k.Kind, w)
		case g.String() != w.String():
			t.Errorf("row %s %s = %v; want %v", k.Method, k.Kind, g, w)
		}
	}
}

func equal(got, want map[Key]Row) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g.String() != w.String() {
			return false
		}
	}
	return true
}

func keys(a, b map[Key]Row) []Key {
	all := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			all = append(all, k)
		}
	}
	slices.SortFunc(all, func(x, y Key) int {
		if x.Method != y.Method {
			return strings.Compare(x.Method, y.Method)
		}
		return int(x.Kind) - int(y.Kind)
	})
	return all
}

// Retried are the rows grpctest.DriveRetries makes on service: the server's
// count every attempt, by the code each side's instrumentation reports; the
// client's count each call once, by the code its caller saw, 4 retried.
func Retried(service string, server, client map[string]uint64) map[Key]Row {
	rows := DrivenCodes(service, server, client)
	delete(rows, Server(service+"StreamingOutputCall"))
	delete(rows, Client(service+"StreamingOutputCall"))
	c := rows[Client(service+"UnaryCall")]
	c.Retried = 4
	rows[Client(service+"UnaryCall")] = c
	return rows
}

// DrivenCodes are the rows grpctest.DriveCodes makes on service (its
// methods' prefix, grpctest.Method), the unary calls' codes as each side's
// instrumentation reports them: four rows, the streams' all OK.
func DrivenCodes(service string, server, client map[string]uint64) map[Key]Row {
	unary := func(codes map[string]uint64) Row {
		r := Row{Codes: codes}
		for c, n := range codes {
			if r.Count += n; c != "OK" {
				r.Errors += n
			}
		}
		return r
	}
	stream := Row{Count: 2, Codes: map[string]uint64{"OK": 2}}
	return map[Key]Row{
		Server(service + "UnaryCall"):           unary(server),
		Client(service + "UnaryCall"):           unary(client),
		Server(service + "StreamingOutputCall"): stream,
		Client(service + "StreamingOutputCall"): stream,
	}
}
