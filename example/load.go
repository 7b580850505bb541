package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paymentpb "github.com/debugz/debugz/example/proto/payment"
	userpb "github.com/debugz/debugz/example/proto/user"
)

// callTimeout bounds every load call, so a stuck call cannot pile up.
const callTimeout = 5 * time.Second

// Chat: one long-lived stream, a message a second, restarted now and then.
const (
	chatInterval = time.Second
	chatSession  = 2 * time.Minute
)

// loadGen keeps calling every method, so the dashboard always has something
// to show: mostly successes, and each kind of failure now and then. Failures
// are the point, so they are counted, not logged. Besides calling the
// services directly, it sends requests to the HTTP gateway, as a web front
// end would, so that there are traces that start with an HTTP request.
type loadGen struct {
	users    userpb.UserServiceClient
	payments paymentpb.PaymentServiceClient
	http     *http.Client // for the gateway, with otelhttp's transport
	gateway  string       // the gateway's base URL, "http://localhost:8080"
	rate     float64      // calls (or gateway requests) per second per method

	calls, failed atomic.Int64
}

func newLoadGen(users userpb.UserServiceClient, payments paymentpb.PaymentServiceClient, client *http.Client, gateway string, rate float64) *loadGen {
	if rate <= 0 {
		rate = 2
	}
	return &loadGen{users: users, payments: payments, http: client, gateway: gateway, rate: rate}
}

// run calls every method until ctx is done, then waits for the calls in
// flight, which ctx cancels.
func (g *loadGen) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, call := range []func(context.Context) error{
		g.fetchUser, g.streamUsers, g.createUsers, g.getBalance, g.processPayment,
		g.gatewayUser, g.gatewayPay,
	} {
		wg.Go(func() { g.every(ctx, &wg, call) })
	}
	wg.Go(func() { g.chat(ctx) })
	wg.Wait()
}

// every starts call about rate times a second, at jittered times. Calls do
// not wait for each other (an open loop, like real clients): a slow method
// gets calls in flight, not fewer calls.
func (g *loadGen) every(ctx context.Context, wg *sync.WaitGroup, call func(context.Context) error) {
	interval := time.Duration(float64(time.Second) / g.rate)
	for sleep(ctx, jitter(interval)) == nil {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			g.calls.Add(1)
			if err := call(ctx); err != nil {
				g.failed.Add(1)
			}
		})
	}
}

// chance reports true with probability p.
func chance(p float64) bool { return rand.Float64() < p }

// knownUser returns the id of a user that exists, other than the slow one.
func knownUser() int64 {
	for {
		if id := rand.Int64N(numUsers) + 1; id != slowUserID {
			return id
		}
	}
}

// unknownUser returns the id of a user that does not exist.
func unknownUser() int64 { return numUsers + 1 + rand.Int64N(1000) }

func (g *loadGen) fetchUser(ctx context.Context) error {
	id := knownUser()
	switch r := rand.Float64(); {
	case r < 0.10: // NOT_FOUND
		id = unknownUser()
	case r < 0.15: // DEADLINE_EXCEEDED: the slow user, with a short deadline
		id = slowUserID
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
	case r < 0.18: // INVALID_ARGUMENT
		id = -rand.Int64N(3)
	case r < 0.20: // OK, but slow: the slow user with time to spare
		id = slowUserID
	}
	_, err := g.users.FetchUser(ctx, &userpb.FetchUserRequest{Id: id})
	return err
}

func (g *loadGen) streamUsers(ctx context.Context) error {
	n := 1 + rand.Int32N(20)
	// Now and then the client loses interest half-way and cancels: CANCELLED.
	stopAfter := int32(-1)
	if chance(0.05) {
		stopAfter = rand.Int32N(n)
	}
	if chance(0.03) {
		n = 0 // INVALID_ARGUMENT
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := g.users.StreamUsers(ctx, &userpb.StreamUsersRequest{Count: n})
	if err != nil {
		return err
	}
	for received := int32(0); ; received++ {
		if received == stopAfter {
			cancel()
		}
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func (g *loadGen) createUsers(ctx context.Context) error {
	n := 1 + rand.IntN(10)
	// INVALID_ARGUMENT: the last user has no name. (Last, because of a
	// grpc-go quirk: a client that keeps sending after the server has ended
	// the call gets the error from CloseAndRecv, but its client span is
	// recorded as OK.)
	emptyAt := -1
	if chance(0.05) {
		emptyAt = n - 1
	}
	stopAfter := -1 // CANCELLED: the client gives up half-way
	if chance(0.03) {
		stopAfter = rand.IntN(n)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := g.users.CreateUsers(ctx)
	if err != nil {
		return err
	}
	for i := range n {
		if i == stopAfter {
			cancel()
		}
		name := fmt.Sprintf("new%d", rand.IntN(1e6))
		if i == emptyAt {
			name = ""
		}
		if err := stream.Send(&userpb.CreateUserRequest{Name: name, Email: name + "@example.com"}); err != nil {
			// io.EOF: the server has ended the call; CloseAndRecv says why.
			break
		}
		if err := sleep(ctx, jitter(5*time.Millisecond)); err != nil {
			return err
		}
	}
	_, err = stream.CloseAndRecv()
	return err
}

func (g *loadGen) getBalance(ctx context.Context) error {
	id := knownUser()
	if chance(0.10) {
		id = unknownUser() // NOT_FOUND
	}
	_, err := g.payments.GetBalance(ctx, &paymentpb.GetBalanceRequest{UserId: id})
	return err
}

func (g *loadGen) processPayment(ctx context.Context) error {
	req := &paymentpb.ProcessPaymentRequest{UserId: knownUser(), AmountCents: 100 + rand.Int64N(5000)}
	switch r := rand.Float64(); {
	case r < 0.05: // INVALID_ARGUMENT
		req.AmountCents = -rand.Int64N(100)
	case r < 0.13: // FAILED_PRECONDITION (the user service says NOT_FOUND)
		req.UserId = unknownUser()
	}
	_, err := g.payments.ProcessPayment(ctx, req)
	return err
}

// gatewayUser asks the gateway for a user: FetchUser, then GetBalance.
func (g *loadGen) gatewayUser(ctx context.Context) error {
	id := knownUser()
	switch r := rand.Float64(); {
	case r < 0.10: // 404: NOT_FOUND
		id = unknownUser()
	case r < 0.13: // 400: INVALID_ARGUMENT
		id = 0
	case r < 0.15: // OK, but slow
		id = slowUserID
	}
	return g.request(ctx, http.MethodGet, fmt.Sprintf("/api/user/%d", id), "")
}

// gatewayPay makes a payment through the gateway: ProcessPayment.
func (g *loadGen) gatewayPay(ctx context.Context) error {
	user, cents := knownUser(), 100+rand.Int64N(5000)
	switch r := rand.Float64(); {
	case r < 0.05: // 400: INVALID_ARGUMENT
		cents = -rand.Int64N(100)
	case r < 0.13: // 502: FAILED_PRECONDITION
		user = unknownUser()
	}
	return g.request(ctx, http.MethodPost, "/api/pay", fmt.Sprintf(`{"user_id": %d, "amount_cents": %d}`, user, cents))
}

// request sends one request to the gateway; an answer other than 2xx is an
// error.
func (g *loadGen) request(ctx context.Context, method, path, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, g.gateway+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read the answer to its end, so that the connection is reused.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil
}

// chat keeps one Chat stream open, so the in-flight view is never empty:
// a message every second, and a new stream every couple of minutes.
func (g *loadGen) chat(ctx context.Context) {
	for ctx.Err() == nil {
		g.calls.Add(1)
		if err := g.chatSession(ctx, jitter(chatSession)); err != nil {
			g.failed.Add(1)
			// Do not spin if the server is gone.
			sleep(ctx, chatInterval)
		}
	}
}

// chatSession runs one Chat stream for about d, then closes it cleanly.
func (g *loadGen) chatSession(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := g.users.Chat(ctx)
	if err != nil {
		return err
	}
	end := time.Now().Add(d)
	for i := 1; time.Now().Before(end); i++ {
		if err := stream.Send(&userpb.ChatMessage{Text: fmt.Sprintf("hello %d", i)}); err != nil {
			break // CloseSend and Recv below report the stream's status
		}
		if _, err := stream.Recv(); err != nil {
			return err
		}
		if err := sleep(ctx, chatInterval); err != nil {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	// Wait for the server to end the call: io.EOF means OK.
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
