package debugz_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// detailService fails UnaryCall with an ErrorInfo holding a token and a
// BadRequest.
type detailService struct{ grpctest.Service }

func (detailService) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	st, err := status.New(codes.InvalidArgument, "bad user").WithDetails(
		&errdetails.ErrorInfo{Reason: "QUOTA", Metadata: map[string]string{"token": "s3cr3t", "region": "eu"}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "user", Description: "required"}}})
	if err != nil {
		return nil, err
	}
	return nil, st.Err()
}

// before is two stats handlers registered in order, as grpc calls them:
// TagRPC contexts chain, every other call goes to first, then to second.
type before struct{ first, second stats.Handler }

func (b before) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return b.second.TagRPC(b.first.TagRPC(ctx, info), info)
}
func (b before) HandleRPC(ctx context.Context, s stats.RPCStats) {
	b.first.HandleRPC(ctx, s)
	b.second.HandleRPC(ctx, s)
}
func (b before) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return b.second.TagConn(b.first.TagConn(ctx, info), info)
}
func (b before) HandleConn(ctx context.Context, s stats.ConnStats) {
	b.first.HandleConn(ctx, s)
	b.second.HandleConn(ctx, s)
}

// TestStatusDetailsInAPI: the details of an error status, recorded by
// WrapHandler or by NewHandler beside otelgrpc, show in /api/spans/{id} with
// their types, the token in the ErrorInfo redacted, and the code is exact.
func TestStatusDetailsInAPI(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap grpctest.Wrap
	}{
		{"WrapHandler", func(h stats.Handler) stats.Handler { return grpcstats.WrapHandler(h) }},
		{"NewHandler", func(h stats.Handler) stats.Handler { return before{grpcstats.NewHandler(), h} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp := debugz.NewSpanProcessor()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			c := grpctest.Start(t, tp, tt.wrap, detailService{})
			if _, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{}); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("UnaryCall: %v; want INVALID_ARGUMENT", err)
			}
			grpctest.WaitFor(t, "both spans", func() bool { return len(sp.Spans(debugz.Filter{})) == 2 })
			h := debugz.NewHandler(sp)
			get := func(path string) *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", path, nil)
				req.RemoteAddr, req.Host = "127.0.0.1:5555", "localhost"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			for _, s := range sp.Spans(debugz.Filter{}) {
				if s.Code != codes.InvalidArgument {
					t.Errorf("%s span: code %v; want INVALID_ARGUMENT", s.Kind, s.Code)
				}
				rec := get("/api/spans/" + s.SpanID.String())
				var got struct {
					Kind          string `json:"kind"`
					StatusDetails []struct {
						Type string `json:"type"`
						Text string `json:"text"`
					} `json:"status_details"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatalf("GET /api/spans/%s: %v: %.300s", s.SpanID, err, rec.Body)
				}
				if len(got.StatusDetails) != 2 || got.StatusDetails[0].Type != "google.rpc.ErrorInfo" || got.StatusDetails[1].Type != "google.rpc.BadRequest" {
					t.Fatalf("%s span: status_details %+v; want an ErrorInfo and a BadRequest", got.Kind, got.StatusDetails)
				}
				if text := got.StatusDetails[0].Text; strings.Contains(text, "s3cr3t") || !strings.Contains(text, `reason: "QUOTA"`) {
					t.Errorf("%s span: ErrorInfo text %q; want its reason, the token redacted", got.Kind, text)
				}
				if strings.Contains(rec.Body.String(), "s3cr3t") {
					t.Errorf("%s span: the token shows in /api/spans/%s", got.Kind, s.SpanID)
				}
				rec = get("/spans/" + s.SpanID.String())
				if page := rec.Body.String(); !strings.Contains(page, "Status details") || !strings.Contains(page, "google.rpc.BadRequest") || strings.Contains(page, "s3cr3t") {
					t.Errorf("%s span page: want a Status details section with the types and no token", got.Kind)
				}
			}
		})
	}
}

// TestNewHandlerSetsStatusCode: NewHandler beside otelgrpc sets
// rpc.response.status_code on both spans.
func TestNewHandlerSetsStatusCode(t *testing.T) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c := grpctest.Start(t, tp, func(h stats.Handler) stats.Handler { return before{grpcstats.NewHandler(), h} }, nil)
	req := &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no"}}
	if _, err := c.UnaryCall(context.Background(), req); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	grpctest.WaitFor(t, "both spans", func() bool { return len(sp.Spans(debugz.Filter{})) == 2 })
	for _, s := range sp.Spans(debugz.Filter{}) {
		var got string
		for _, kv := range s.Attributes {
			if kv.Key == "rpc.response.status_code" {
				got = kv.Value.AsString()
			}
		}
		if got != "NOT_FOUND" || (s.Kind != trace.SpanKindServer && s.Kind != trace.SpanKindClient) {
			t.Errorf("%s span: rpc.response.status_code = %q; want NOT_FOUND", s.Kind, got)
		}
	}
}
