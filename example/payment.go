package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	paymentpb "github.com/debugz/debugz/example/proto/payment"
	userpb "github.com/debugz/debugz/example/proto/user"
)

// initialBalance is every user's opening balance, in cents.
const initialBalance = 1_000_000

// paymentServer implements PaymentService. It shows the two things a real
// handler adds to the spans otelgrpc makes:
//   - its own child spans (getBalance.logic, processPayment.charge), started
//     from the handler's ctx so that they land in the RPC's trace;
//   - a downstream gRPC call (ProcessPayment → UserService.FetchUser) on an
//     instrumented client, passing ctx on so that the trace crosses services.
type paymentServer struct {
	paymentpb.UnimplementedPaymentServiceServer
	tracer trace.Tracer
	users  userpb.UserServiceClient
	log    *slog.Logger

	mu       sync.Mutex
	balances map[int64]int64 // cents, by user id
	nextID   atomic.Int64    // payment ids
}

func newPaymentServer(tracer trace.Tracer, users userpb.UserServiceClient, log *slog.Logger) *paymentServer {
	s := &paymentServer{tracer: tracer, users: users, log: log, balances: make(map[int64]int64, numUsers)}
	for id := int64(1); id <= numUsers; id++ {
		s.balances[id] = initialBalance
	}
	return s
}

// GetBalance returns a user's balance. Its work happens in a child span,
// getBalance.logic, with the user and the balance as attributes.
func (s *paymentServer) GetBalance(ctx context.Context, req *paymentpb.GetBalanceRequest) (*paymentpb.Balance, error) {
	if req.GetUserId() <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "user id must be positive, got %d", req.GetUserId())
	}
	ctx, span := s.tracer.Start(ctx, "getBalance.logic", trace.WithAttributes(attribute.Int64("user.id", req.GetUserId())))
	defer span.End()

	// Pretend to read a database.
	if err := sleep(ctx, jitter(5*time.Millisecond)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	cents, ok := s.balances[req.GetUserId()]
	s.mu.Unlock()
	if !ok {
		span.SetStatus(otelcodes.Error, "no account")
		return nil, status.Errorf(codes.NotFound, "no account for user %d", req.GetUserId())
	}
	span.SetAttributes(attribute.Int64("balance.cents", cents))
	return &paymentpb.Balance{UserId: req.GetUserId(), BalanceCents: cents}, nil
}

// ProcessPayment charges a user: it checks the user with UserService over
// gRPC, then charges in a child span, processPayment.charge.
func (s *paymentServer) ProcessPayment(ctx context.Context, req *paymentpb.ProcessPaymentRequest) (*paymentpb.ProcessPaymentResponse, error) {
	if req.GetAmountCents() <= 0 {
		s.log.WarnContext(ctx, "payment declined", "user.id", req.GetUserId(), "reason", "amount not positive", "amount.cents", req.GetAmountCents())
		return nil, status.Errorf(codes.InvalidArgument, "amount must be positive, got %d cents", req.GetAmountCents())
	}

	// A downstream call: passing ctx on makes its client span a child of
	// this server span, and the propagator carries the trace to UserService.
	if _, err := s.users.FetchUser(ctx, &userpb.FetchUserRequest{Id: req.GetUserId()}); err != nil {
		s.log.WarnContext(ctx, "payment declined", "user.id", req.GetUserId(), "reason", status.Convert(err).Message())
		return nil, userError(ctx, err)
	}

	ctx, span := s.tracer.Start(ctx, "processPayment.charge", trace.WithAttributes(
		attribute.Int64("user.id", req.GetUserId()),
		attribute.Int64("amount.cents", req.GetAmountCents()),
	))
	defer span.End()
	// Pretend to call a card processor.
	if err := sleep(ctx, jitter(10*time.Millisecond)); err != nil {
		span.SetStatus(otelcodes.Error, err.Error())
		return nil, err
	}
	id := fmt.Sprintf("pay-%d", s.nextID.Add(1))
	s.mu.Lock()
	// A real service would refuse an overdraft; this one lets the load
	// generator run forever.
	s.balances[req.GetUserId()] -= req.GetAmountCents()
	balance := s.balances[req.GetUserId()]
	s.mu.Unlock()
	span.SetAttributes(attribute.String("payment.id", id), attribute.Int64("balance.cents", balance))
	s.log.InfoContext(ctx, "payment charged", "payment.id", id, "amount.cents", req.GetAmountCents())
	return &paymentpb.ProcessPaymentResponse{PaymentId: id, BalanceCents: balance}, nil
}

// userError translates UserService's error into PaymentService's own: a
// server should not pass a downstream code through blindly, since it
// describes the downstream call, not this one.
func userError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// Our own caller went away or ran out of time.
		return status.FromContextError(ctx.Err()).Err()
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.NotFound:
		// The request names a user that does not exist: the system is not in
		// a state where this payment can go through.
		return status.Error(codes.FailedPrecondition, st.Message())
	case codes.InvalidArgument:
		return status.Error(codes.InvalidArgument, st.Message())
	default:
		return status.Errorf(codes.Unavailable, "user service: %s", st.Message())
	}
}
