package debugz_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/go-chi/chi/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// startGRPC serves grpctest.Service with otelgrpc on both sides, spans going
// to sp through one TracerProvider.
func startGRPC(t testing.TB, sp *debugz.SpanProcessor) testpb.TestServiceClient {
	t.Helper()
	return startGRPCWith(t, sp)
}

// startGRPCWith is startGRPC with more TracerProvider options.
func startGRPCWith(t testing.TB, sp *debugz.SpanProcessor, opts ...sdktrace.TracerProviderOption) testpb.TestServiceClient {
	t.Helper()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(sp)}, opts...)...)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return grpctest.Start(t, tp, nil, nil)
}

const svc = grpctest.Method

func row(sum debugz.Summary, method string, kind trace.SpanKind) *debugz.MethodStats {
	for i := range sum.Methods {
		if sum.Methods[i].Method == method && sum.Methods[i].Kind == kind {
			return &sum.Methods[i]
		}
	}
	return nil
}

// TestEndToEnd drives a real gRPC server and client on 127.0.0.1 through
// otelgrpc and the processor, and reads the result as a user would: the
// summary JSON, a span page, a trace's OTLP JSON, and a 403 from afar.
func TestEndToEnd(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	grpctest.DriveAllKinds(t, startGRPC(t, sp))
	grpctest.WaitFor(t, "14 spans", func() bool { return len(sp.Spans(debugz.Filter{})) == 14 })
	h := debugz.NewHandler(sp)
	r := chi.NewRouter()
	r.Mount("/debug/rpcs", h)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	getBody := func(path string, want int) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("GET %s = %d; want %d\n%.300s", path, resp.StatusCode, want, b)
		}
		return string(b)
	}

	var sum struct {
		Capacity int     `json:"capacity"`
		Bounds   []int64 `json:"bucket_bounds_ns"`
		Methods  []struct {
			Method  string            `json:"method"`
			Kind    string            `json:"kind"`
			Count   uint64            `json:"count"`
			Errors  uint64            `json:"errors"`
			Codes   map[string]uint64 `json:"codes"`
			Buckets []uint64          `json:"buckets"`
			P99     int64             `json:"p99_ns"`
		} `json:"methods"`
	}
	if err := json.Unmarshal([]byte(getBody("/debug/rpcs/api/summary", 200)), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Capacity != 8192 || len(sum.Bounds) != 7 || len(sum.Methods) != 8 {
		t.Fatalf("summary: capacity %d, %d bounds, %d methods; want %d, 7, 8", sum.Capacity, len(sum.Bounds), len(sum.Methods), 8192)
	}
	for _, m := range sum.Methods {
		var b uint64
		for _, n := range m.Buckets {
			b += n
		}
		if b != m.Count || m.P99 <= 0 {
			t.Errorf("%s %s: buckets sum %d, count %d, p99 %d", m.Kind, m.Method, b, m.Count, m.P99)
		}
		if m.Method == svc+"UnaryCall" && m.Kind == "client" &&
			(m.Count != 4 || m.Errors != 2 || m.Codes["NOT_FOUND"] != 1 || m.Codes["DEADLINE_EXCEEDED"] != 1) {
			t.Errorf("client UnaryCall = %+v; want 4 calls, NOT_FOUND 1, DEADLINE_EXCEEDED 1", m)
		}
		if m.Method == svc+"UnaryCall" && m.Kind == "server" && m.Codes["CANCELLED"] != 1 {
			t.Errorf("server UnaryCall codes = %v; want the deadline as CANCELLED", m.Codes)
		}
	}

	nf := codes.NotFound
	// otelgrpc leaves a server's NOT_FOUND Unset, without its message: the
	// client span carries "no user 7".
	spans := sp.Spans(debugz.Filter{Code: &nf, Kind: trace.SpanKindClient})
	if len(spans) != 1 {
		t.Fatalf("Spans(client NOT_FOUND) = %d; want 1", len(spans))
	}
	page := getBody("/debug/rpcs/spans/"+spans[0].SpanID.String(), 200)
	for _, want := range []string{"UnaryCall", "NOT_FOUND", "no user 7", spans[0].TraceID.String()} {
		if !strings.Contains(page, want) {
			t.Errorf("span page lacks %q", want)
		}
	}

	var otlp struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					TraceID string `json:"traceId"`
					SpanID  string `json:"spanId"`
					Kind    int    `json:"kind"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal([]byte(getBody("/debug/rpcs/api/traces/"+spans[0].TraceID.String(), 200)), &otlp); err != nil {
		t.Fatal(err)
	}
	kinds := map[int]bool{}
	for _, rs := range otlp.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if s.TraceID != spans[0].TraceID.String() {
					t.Errorf("OTLP traceId = %q; want hex %s", s.TraceID, spans[0].TraceID)
				}
				kinds[s.Kind] = true
			}
		}
	}
	if !kinds[2] || !kinds[3] { // SPAN_KIND_SERVER, SPAN_KIND_CLIENT
		t.Errorf("OTLP trace holds kinds %v; want the server (2) and the client (3) span", kinds)
	}

	getBody("/debug/rpcs/spans/0000000000000001", 404)
	getBody("/debug/rpcs/api/spans?min=soon", 400)
	req := httptest.NewRequest("GET", "/api/summary", nil)
	req.RemoteAddr = "192.0.2.10:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("GET from 192.0.2.10 = %d; want 403", rec.Code)
	}
}
