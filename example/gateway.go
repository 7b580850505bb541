package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/debugz/debugz"
	paymentpb "github.com/debugz/debugz/example/proto/payment"
	userpb "github.com/debugz/debugz/example/proto/user"
)

// gatewayTimeout bounds the gRPC calls of one gateway request; it reaches the
// services as their deadline.
const gatewayTimeout = 5 * time.Second

// maxPayBody caps the body of POST /api/pay.
const maxPayBody = 1 << 10

// gateway is a JSON-over-HTTP front for the two gRPC services, as an API
// gateway or a web backend would be:
//
//	GET  /api/user/{id}  UserService.FetchUser and PaymentService.GetBalance
//	POST /api/pay        PaymentService.ProcessPayment, body {"user_id": 7, "amount_cents": 250}
//
// Its handlers know nothing about tracing either: otelhttp's handler makes a
// server span for every request (the root of the trace, unless the caller
// sent a trace context), and the gRPC clients' otelgrpc handlers make their
// client spans children of it.
type gateway struct {
	users    userpb.UserServiceClient
	payments paymentpb.PaymentServiceClient
}

// newGatewayHandler returns the gateway's routes, instrumented with otelhttp
// on the same TracerProvider and propagator as the gRPC clients.
func newGatewayHandler(users userpb.UserServiceClient, payments paymentpb.PaymentServiceClient, tp trace.TracerProvider, prop propagation.TextMapPropagator) http.Handler {
	g := &gateway{users: users, payments: payments}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/user/{id}", g.user)
	mux.HandleFunc("POST /api/pay", g.pay)
	// otelhttp names each span after the route that matched
	// ("GET /api/user/{id}"), which ServeMux reports in Request.Pattern.
	return otelhttp.NewHandler(mux, "gateway",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(prop),
	)
}

type userJSON struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type userResponse struct {
	User         userJSON `json:"user"`
	BalanceCents int64    `json:"balance_cents"`
}

type payRequest struct {
	UserID      int64 `json:"user_id"`
	AmountCents int64 `json:"amount_cents"`
}

type payResponse struct {
	PaymentID    string `json:"payment_id"`
	BalanceCents int64  `json:"balance_cents"`
}

type errorResponse struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"` // the gRPC code, when a service failed the request
}

// user answers GET /api/user/{id}: the user, from UserService, and their
// balance, from PaymentService, one call after the other.
func (g *gateway) user(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: "user id must be an integer"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), gatewayTimeout)
	defer cancel()
	u, err := g.users.FetchUser(ctx, &userpb.FetchUserRequest{Id: id})
	if err != nil {
		writeStatus(w, err)
		return
	}
	b, err := g.payments.GetBalance(ctx, &paymentpb.GetBalanceRequest{UserId: id})
	if err != nil {
		writeStatus(w, err)
		return
	}
	writeJSON(w, http.StatusOK, userResponse{
		User:         userJSON{ID: u.GetId(), Name: u.GetName(), Email: u.GetEmail()},
		BalanceCents: b.GetBalanceCents(),
	})
}

// pay answers POST /api/pay with the payment PaymentService made.
func (g *gateway) pay(w http.ResponseWriter, r *http.Request) {
	var req payRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPayBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: `body must be a JSON object like {"user_id": 7, "amount_cents": 250}`})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), gatewayTimeout)
	defer cancel()
	p, err := g.payments.ProcessPayment(ctx, &paymentpb.ProcessPaymentRequest{UserId: req.UserID, AmountCents: req.AmountCents})
	if err != nil {
		writeStatus(w, err)
		return
	}
	writeJSON(w, http.StatusOK, payResponse{PaymentID: p.GetPaymentId(), BalanceCents: p.GetBalanceCents()})
}

// httpStatus is the HTTP status the gateway answers a gRPC error with: the
// caller's mistakes keep their meaning, anything else is a failure of the
// services behind the gateway.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.NotFound:
		return http.StatusNotFound
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest // as grpc-gateway maps them
	default:
		return http.StatusBadGateway
	}
}

// writeStatus answers with the gRPC status of err: its code mapped by
// httpStatus, its message in the body.
func writeStatus(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	writeJSON(w, httpStatus(st.Code()), errorResponse{Error: st.Message(), Code: debugz.CodeName(st.Code())})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // an error means the client went away
}
