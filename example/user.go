package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	userpb "github.com/debugz/debugz/example/proto/user"
)

// Users 1..numUsers exist. Fetching slowUserID takes slowUserDelay, so that a
// caller with a shorter deadline gets DEADLINE_EXCEEDED.
const (
	numUsers      = 50
	slowUserID    = 42
	slowUserDelay = 300 * time.Millisecond
	maxStreamed   = 1000 // largest count StreamUsers accepts
)

// userServer implements UserService over a fixed in-memory table. Nothing in
// it knows about tracing: otelgrpc's stats handler on the server makes the
// spans.
type userServer struct {
	userpb.UnimplementedUserServiceServer
	users map[int64]*userpb.User // read-only after newUserServer
	log   *slog.Logger           // logs with each request's context, so the dashboard shows the lines beside the call
}

func newUserServer(log *slog.Logger) *userServer {
	names := []string{"ada", "alan", "barbara", "dennis", "edsger", "frances", "grace", "john", "ken", "rob"}
	s := &userServer{users: make(map[int64]*userpb.User, numUsers), log: log}
	for id := int64(1); id <= numUsers; id++ {
		name := fmt.Sprintf("%s%d", names[int(id)%len(names)], id)
		s.users[id] = &userpb.User{Id: id, Name: name, Email: name + "@example.com"}
	}
	return s
}

// FetchUser is the unary method.
func (s *userServer) FetchUser(ctx context.Context, req *userpb.FetchUserRequest) (*userpb.User, error) {
	if req.GetId() <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "user id must be positive, got %d", req.GetId())
	}
	if req.GetId() == slowUserID {
		// A slow backend. Honour the caller's deadline, as a real handler
		// should, rather than finish work nobody waits for.
		if err := sleep(ctx, slowUserDelay); err != nil {
			return nil, err
		}
	}
	u, ok := s.users[req.GetId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "user %d not found", req.GetId())
	}
	return u, nil
}

// StreamUsers is the server-streaming method: it sends count users, one at a
// time, with a short pause between them.
func (s *userServer) StreamUsers(req *userpb.StreamUsersRequest, stream grpc.ServerStreamingServer[userpb.User]) error {
	n := req.GetCount()
	if n <= 0 || n > maxStreamed {
		return status.Errorf(codes.InvalidArgument, "count must be in 1..%d, got %d", maxStreamed, n)
	}
	for i := range int64(n) {
		if err := sleep(stream.Context(), jitter(10*time.Millisecond)); err != nil {
			return err
		}
		if err := stream.Send(s.users[i%numUsers+1]); err != nil {
			return err
		}
	}
	return nil
}

// CreateUsers is the client-streaming method: it validates every user the
// client sends and returns how many there were. (The example keeps its table
// fixed; a real service would store them.)
func (s *userServer) CreateUsers(stream grpc.ClientStreamingServer[userpb.CreateUserRequest, userpb.CreateUsersResponse]) error {
	var created int32
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&userpb.CreateUsersResponse{Created: created})
		}
		if err != nil {
			return err
		}
		if req.GetName() == "" {
			return status.Errorf(codes.InvalidArgument, "user %d: name is empty", created+1)
		}
		_ = hashSecret(req.GetName()) // the CPU a real service spends here: the dashboard's CPU tab names this method
		created++
		s.log.InfoContext(stream.Context(), "user created", "name", req.GetName(), "n", created)
	}
}

// Chat is the bidirectional-streaming method: it echoes every message until
// the client closes its side.
func (s *userServer) Chat(stream grpc.BidiStreamingServer[userpb.ChatMessage, userpb.ChatMessage]) error {
	ctx := stream.Context()
	s.log.InfoContext(ctx, "chat session started")
	for n := 0; ; n++ {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			s.log.InfoContext(ctx, "chat session ended", "messages", n)
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&userpb.ChatMessage{Text: "echo: " + msg.GetText()}); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx is done; then it returns the gRPC status
// for ctx's error (CANCELLED or DEADLINE_EXCEEDED).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// jitter returns a random duration in [d/2, 3d/2), so that periodic work
// does not run in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d)
}

// hashSecret stands for a password hash: a few milliseconds of CPU per user,
// as a key-derivation function costs.
func hashSecret(s string) [32]byte {
	sum := sha256.Sum256([]byte(s))
	for range 20000 {
		sum = sha256.Sum256(sum[:])
	}
	return sum
}
