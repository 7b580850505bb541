package debugz

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Every instrumentation's spans make the row the same call would make
// under otelgrpc: grpc-go's own plugin, otelconnect of both generations
// over every protocol.
func TestOnEndRecognisesEveryInstrumentation(t *testing.T) {
	const full = "user.UserService/FetchUser"
	str, i64 := attribute.String, attribute.Int64
	tests := []struct {
		name       string
		span       stub
		wantMethod string // "" for a span that is not a call
		wantCode   codes.Code
	}{
		{name: "grpc-go server, Ok", span: stub{name: "Recv.user.UserService.FetchUser", kind: trace.SpanKindServer, scope: "grpc-go",
			status: otelcodes.Ok}, wantMethod: full, wantCode: codes.OK},
		{name: "grpc-go client, Error without a code", span: stub{name: "Sent.user.UserService.FetchUser", kind: trace.SpanKindClient,
			scope: "grpc-go", status: otelcodes.Error, desc: "no such user"}, wantMethod: full, wantCode: codes.Unknown},
		{name: "grpc-go client with grpcstats.NewHandler's code", span: stub{name: "Sent.user.UserService.FetchUser", kind: trace.SpanKindClient,
			scope: "grpc-go", status: otelcodes.Error, attrs: []attribute.KeyValue{str("rpc.response.status_code", "NOT_FOUND")}},
			wantMethod: full, wantCode: codes.NotFound},
		{name: "grpc-go v1.73 server named Recv. alone", span: stub{name: "Recv.", kind: trace.SpanKindServer, scope: "grpc-go"},
			wantMethod: unknownMethod, wantCode: codes.OK},
		{name: "grpc-go server named Recv. alone, method from grpcstats.NewHandler", span: stub{name: "Recv.", kind: trace.SpanKindServer,
			scope: "grpc-go", attrs: []attribute.KeyValue{str("rpc.method", full)}}, wantMethod: full, wantCode: codes.OK},
		{name: "grpc-go v1.71, no prefix", span: stub{name: "user.UserService.FetchUser", kind: trace.SpanKindServer,
			scope: "grpc-open-telemetry"}, wantMethod: full, wantCode: codes.OK},
		{name: "grpc-go attempt", span: stub{name: "Attempt.user.UserService.FetchUser", kind: trace.SpanKindInternal, scope: "grpc-go"}},
		{name: "otelconnect v0.7 gRPC-Web", span: stub{name: full, kind: trace.SpanKindServer, scope: "connectrpc.com/otelconnect",
			attrs: []attribute.KeyValue{str("rpc.system", "grpc_web"), str("rpc.service", "user.UserService"), str("rpc.method", "FetchUser"),
				i64("rpc.grpc_web.status_code", 5)}}, wantMethod: full, wantCode: codes.NotFound},
		{name: "otelconnect v0.7 Connect, failed", span: stub{name: full, kind: trace.SpanKindClient, scope: "connectrpc.com/otelconnect",
			status: otelcodes.Error, attrs: []attribute.KeyValue{str("rpc.system", "connect_rpc"), str("rpc.connect_rpc.error_code", "not_found")}},
			wantMethod: full, wantCode: codes.NotFound},
		{name: "otelconnect v0.7 Connect, OK", span: stub{name: full, kind: trace.SpanKindServer, scope: "connectrpc.com/otelconnect",
			attrs: []attribute.KeyValue{str("rpc.system", "connect_rpc")}}, wantMethod: full, wantCode: codes.OK},
		{name: "otelconnect v0.12 Connect", span: stub{name: full, kind: trace.SpanKindServer, scope: "connectrpc.com/otelconnect",
			attrs: []attribute.KeyValue{str("rpc.system.name", "connectrpc"), str("rpc.method", full), str("rpc.response.status_code", "CANCELED")}},
			wantMethod: full, wantCode: codes.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkRecognised(t, tt.span, tt.wantMethod, tt.wantCode) })
	}
}

// checkRecognised ends span in a new processor and checks that it is kept
// with the method and code wanted, counted in one row of that method, kind
// and code, or not counted at all where wantMethod is "".
func checkRecognised(t *testing.T, span stub, wantMethod string, wantCode codes.Code) {
	t.Helper()
	sp := NewSpanProcessor()
	s := span.snapshot()
	sp.OnEnd(s)
	got, ok := sp.Span(s.SpanContext().SpanID())
	if !ok {
		t.Fatalf("Span(%v) not found", s.SpanContext().SpanID())
	}
	if got.Method != wantMethod || got.Code != wantCode {
		t.Errorf("OnEnd(%q): method %q code %v; want %q %v", span.name, got.Method, got.Code, wantMethod, wantCode)
	}
	rows := sp.Summary().Methods
	if wantMethod == "" {
		if len(rows) != 0 {
			t.Errorf("Summary().Methods = %v; want none for a span that is not a call", rows)
		}
		return
	}
	if len(rows) != 1 || rows[0].Method != wantMethod || rows[0].Count != 1 || rows[0].Kind != span.kind ||
		rows[0].Codes[wantCode] != 1 {
		t.Errorf("Summary().Methods = %+v; want one %v row for %q with code %s", rows, span.kind, wantMethod, CodeName(wantCode))
	}
}

// The calls in flight and the rows go by one rule: a call listed in flight
// is the call its row counts when it ends, under the same method, for every
// instrumentation; a span the rows would not count is not in flight either.
func TestInFlightAndRowsAgree(t *testing.T) {
	tests := []struct {
		scope, name string
		kind        trace.SpanKind
		attrs       []attribute.KeyValue // set before the span ends
		want        string               // the method, "" for no call
	}{
		{"grpc-go", "Sent.a.v1.S.M", trace.SpanKindClient, nil, "a.v1.S/M"},
		{"grpc-go", "Recv.a.v1.S.M", trace.SpanKindServer, nil, "a.v1.S/M"},
		{"grpc-go", "Attempt.a.v1.S.M", trace.SpanKindInternal, nil, ""},
		{"connectrpc.com/otelconnect", "a.v1.S/M", trace.SpanKindServer,
			[]attribute.KeyValue{attribute.String("rpc.system", "connect_rpc")}, "a.v1.S/M"},
		{"connectrpc.com/otelconnect", "a.v1.S/M", trace.SpanKindClient,
			[]attribute.KeyValue{attribute.String("rpc.system.name", "connectrpc")}, "a.v1.S/M"},
		{"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", "a.v1.S/M", trace.SpanKindServer,
			[]attribute.KeyValue{attribute.String("rpc.system.name", "grpc")}, "a.v1.S/M"},
		{"net/http", "GET /users/{id}", trace.SpanKindServer, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.scope+" "+tt.name, func(t *testing.T) {
			sp := NewSpanProcessor()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
			_, s := tp.Tracer(tt.scope).Start(context.Background(), tt.name, trace.WithSpanKind(tt.kind))
			var inFlight []string
			for _, a := range sp.Active() {
				inFlight = append(inFlight, a.Method)
			}
			s.SetAttributes(tt.attrs...)
			s.End()
			var rows []string
			for _, m := range sp.Summary().Methods {
				rows = append(rows, m.Method)
			}
			if tt.want == "" {
				if len(inFlight) != 0 || len(rows) != 0 {
					t.Errorf("in flight %q, rows %q; want neither", inFlight, rows)
				}
				return
			}
			if len(inFlight) != 1 || inFlight[0] != tt.want || len(rows) != 1 || rows[0] != tt.want {
				t.Errorf("in flight %q, rows %q; want %q in both", inFlight, rows, tt.want)
			}
		})
	}
}

// A call of grpc-go's plugin counts its attempts: each "Attempt." span that
// ends under the call's "Sent." span; the row counts the calls retried.
func TestAttemptsOfGRPCGoCalls(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer("grpc-go")
	call := func(attempts int) trace.SpanContext {
		ctx, sent := tr.Start(context.Background(), "Sent.a.S.M", trace.WithSpanKind(trace.SpanKindClient))
		for range attempts {
			_, a := tr.Start(ctx, "Attempt.a.S.M")
			a.End()
		}
		sent.End()
		return sent.SpanContext()
	}
	once, retried := call(1), call(4)
	for _, c := range []struct {
		sc   trace.SpanContext
		want int
	}{{once, 1}, {retried, 4}} {
		if s, ok := sp.Span(c.sc.SpanID()); !ok || s.Attempts != c.want {
			t.Errorf("Span(call of %d attempts).Attempts = %d (found %v); want %d", c.want, s.Attempts, ok, c.want)
		}
	}
	rows := sp.Summary().Methods
	if len(rows) != 1 || rows[0].Count != 2 || rows[0].Errors != 0 || rows[0].Retried != 1 {
		t.Errorf("Summary().Methods = %+v; want one row of 2 calls, 0 errors, 1 retried", rows)
	}
}

// A name of grpc-go's plugin seen before costs no allocation: its method
// comes from a map, not a new string.
func TestGRPCGoSpanAllocatesNothing(t *testing.T) {
	sp := NewSpanProcessor()
	spans := make([]sdktrace.ReadOnlySpan, 64)
	for i := range spans {
		spans[i] = stub{name: "Recv.user.UserService.FetchUser", kind: trace.SpanKindServer, scope: "grpc-go", status: otelcodes.Ok}.snapshot()
	}
	for _, s := range spans { // fill the ring's slots and the row's reservoirs once
		sp.OnEnd(s)
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() { sp.OnEnd(spans[i%len(spans)]); i++ }); n != 0 {
		t.Errorf("OnEnd(grpc-go span) allocates %v times; want 0", n)
	}
}
