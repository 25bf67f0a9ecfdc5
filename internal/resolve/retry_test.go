package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeClock is a clock that moves only when the policy sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}

// testPolicy is defaultPolicy on a fake clock, drawing the largest wait
// allowed (rand returns n-1) unless told.
func testPolicy(clock *fakeClock, draw func(int64) int64) *policy {
	p := defaultPolicy
	p.now, p.sleep = clock.now, clock.sleep
	p.rand = func(n int64) int64 { return n - 1 }
	if draw != nil {
		p.rand = draw
	}
	return &p
}

var (
	throttled = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	denied    = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
)

func TestPolicyWaitBounds(t *testing.T) {
	p := defaultPolicy
	now := time.Unix(1000, 0)
	far := now.Add(time.Hour)
	var bounds []int64
	p.rand = func(n int64) int64 { bounds = append(bounds, n); return n - 1 }
	for n := 1; n <= 8; n++ {
		if _, ok := p.wait(n, now, far); !ok {
			t.Fatalf("wait(%d) with an hour left = no retry", n)
		}
	}
	ms := time.Millisecond
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2000 * ms, 2000 * ms, 2000 * ms}
	for i, b := range bounds {
		if time.Duration(b) != want[i] {
			t.Errorf("retry after attempt %d drawn from [0, %v), want [0, %v)", i+1, time.Duration(b), want[i])
		}
	}
	// Full jitter: the wait is the draw itself, anywhere from 0.
	p.rand = func(int64) int64 { return 0 }
	if d, ok := p.wait(5, now, far); !ok || d != 0 {
		t.Errorf("wait with a draw of 0 = %v, %v; want 0, true", d, ok)
	}
	// Near the deadline the bound shrinks to what is left less Reserve,
	// and with nothing left there is no retry.
	p.rand = func(n int64) int64 { bounds = append(bounds, n); return n - 1 }
	bounds = nil
	if _, ok := p.wait(8, now, now.Add(600*ms)); !ok || time.Duration(bounds[0]) != 500*ms {
		t.Errorf("600 ms before the deadline: bound %v, want 500ms", time.Duration(bounds[0]))
	}
	if _, ok := p.wait(1, now, now.Add(p.Reserve)); ok {
		t.Error("a retry with only Reserve left")
	}
	// Without a deadline, NoDeadlineAttempts.
	if _, ok := p.wait(p.NoDeadlineAttempts-1, now, time.Time{}); !ok {
		t.Error("no retry without a deadline before NoDeadlineAttempts")
	}
	if _, ok := p.wait(p.NoDeadlineAttempts, now, time.Time{}); ok {
		t.Error("a retry without a deadline after NoDeadlineAttempts")
	}
}

// The real random draw stays inside its bounds.
func TestPolicyJitterInBounds(t *testing.T) {
	p := defaultPolicy
	now := time.Unix(1000, 0)
	seen := map[time.Duration]bool{}
	for i := range 2000 {
		n := i%8 + 1
		d, ok := p.wait(n, now, now.Add(time.Hour))
		bound := min(p.Base<<(n-1), p.Cap)
		if !ok || d < 0 || d >= bound {
			t.Fatalf("wait(%d) = %v, %v; want in [0, %v)", n, d, ok, bound)
		}
		seen[d.Round(10*time.Millisecond)] = true
	}
	if len(seen) < 20 {
		t.Errorf("only %d distinct waits in 2000 draws: not jittered", len(seen))
	}
}

// Throttling is retried until the deadline, not until an attempt count;
// the last failure comes back with the number of attempts.
func TestPolicyRetriesUntilTheDeadline(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	start := clock.t
	p := testPolicy(clock, nil)
	ctx, cancel := context.WithDeadline(context.Background(), clock.t.Add(30*time.Second))
	defer cancel()
	calls := 0
	err := p.do(ctx, func(context.Context) error { calls++; return throttled })
	var re *RetriesError
	if !errors.As(err, &re) || re.Attempts != calls || !errors.Is(err, throttled) {
		t.Fatalf("do = %v after %d calls, want a *RetriesError of %d attempts wrapping the throttle", err, calls, calls)
	}
	// 0.1+0.2+0.4+0.8+1.6 = 3.1 s, then 2 s each until 29.9 s: 19 waits.
	if calls != 20 {
		t.Errorf("%d attempts in 30 s with the longest waits, want 20", calls)
	}
	if end := clock.now().Sub(start); end > 30*time.Second-p.Reserve {
		t.Errorf("the last wait ended %v after the start, inside the reserve before the deadline", end)
	}
	for _, d := range clock.sleeps {
		if d > p.Cap {
			t.Errorf("waited %v, more than the cap %v", d, p.Cap)
		}
	}
}

// A throttle that clears is a success, after as many attempts as it took.
func TestPolicySucceedsAfterThrottles(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	p := testPolicy(clock, nil)
	ctx, cancel := context.WithDeadline(context.Background(), clock.t.Add(30*time.Second))
	defer cancel()
	calls := 0
	err := p.do(ctx, func(context.Context) error {
		calls++
		if calls < 7 {
			return throttled
		}
		return nil
	})
	if err != nil || calls != 7 {
		t.Fatalf("do = %v after %d calls, want success after 7", err, calls)
	}
}

func TestPolicyDoesNotRetryFinalErrors(t *testing.T) {
	for _, err := range []error{
		denied,
		&smithy.GenericAPIError{Code: "ResourceNotFoundException"},
		&smithy.GenericAPIError{Code: "ValidationException"},
		&smithy.GenericAPIError{Code: "InvalidRequestException"},
		&smithy.GenericAPIError{Code: "DecryptionFailure"},
		errors.New("failed to retrieve credentials"),
	} {
		clock := &fakeClock{t: time.Now()}
		ctx, cancel := context.WithDeadline(context.Background(), clock.t.Add(30*time.Second))
		calls := 0
		got := testPolicy(clock, nil).do(ctx, func(context.Context) error { calls++; return err })
		cancel()
		if calls != 1 || got != err {
			t.Errorf("%v: %d calls, returned %v; want 1 call and the error itself", err, calls, got)
		}
	}
}

// When the deadline ends an attempt, the failure before it is what the
// read reports: it says more than the deadline.
func TestPolicyReportsTheLastFailureAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := defaultPolicy
	p.sleep = func(context.Context, time.Duration) error { return nil }
	calls := 0
	err := p.do(ctx, func(ctx context.Context) error {
		calls++
		if calls == 3 {
			cancel()
			return fmt.Errorf("send: %w", context.Canceled)
		}
		return throttled
	})
	var re *RetriesError
	if !errors.As(err, &re) || re.Attempts != 2 || !errors.Is(err, throttled) {
		t.Fatalf("do = %v, want the throttle after 2 attempts", err)
	}
}

func TestRetryable(t *testing.T) {
	status := func(code int) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("x")}
	}
	netErr := func(errno syscall.Errno) error {
		return &url.Error{Op: "Post", URL: "https://sm/", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"ThrottlingException", throttled, true},
		{"TooManyRequestsException", &smithy.GenericAPIError{Code: "TooManyRequestsException"}, true},
		{"HTTP 429", status(429), true},
		{"HTTP 500", status(500), true},
		{"HTTP 503", status(503), true},
		{"connection reset", netErr(syscall.ECONNRESET), true},
		{"connection refused", &url.Error{Op: "Post", URL: "https://sm/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, true},
		{"no answer within the attempt's deadline", &url.Error{Op: "Post", URL: "https://sm/", Err: &AttemptTimeoutError{After: 2 * time.Second}}, true},
		{"AccessDeniedException", denied, false},
		{"HTTP 403", status(403), false},
		{"ResourceNotFoundException", &smithy.GenericAPIError{Code: "ResourceNotFoundException"}, false},
		{"HTTP 400 bad request", status(400), false},
		{"the run's deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), false},
		{"cancelled", &smithy.CanceledError{Err: context.Canceled}, false},
		{"an error that says it is final", finalErr{}, false},
		{"a certificate of an unknown authority", &url.Error{Op: "Post", URL: "https://sm/", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, false},
		{"a certificate for another host", &url.Error{Op: "Post", URL: "https://sm/", Err: x509.HostnameError{Host: "sm"}}, false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("%s: retryable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// finalErr is an error that says it must not be retried, as the agent's
// own errors do (its client retried them already).
type finalErr struct{}

func (finalErr) Error() string        { return "final" }
func (finalErr) RetryableError() bool { return false }

func TestAttemptTimeout(t *testing.T) {
	for _, tt := range []struct{ left, want time.Duration }{
		{30 * time.Second, 7500 * time.Millisecond},
		{8 * time.Second, 2 * time.Second},
		{2 * time.Second, 2 * time.Second},
		{time.Second, time.Second},
		{2 * time.Minute, 10 * time.Second},
	} {
		if got := AttemptTimeout(tt.left); got != tt.want {
			t.Errorf("AttemptTimeout(%v) = %v, want %v", tt.left, got, tt.want)
		}
	}
}

// A stalled request is given up on after its attempt's deadline and
// retried on a fresh connection, which answers.
func TestAttemptDeadlinesRetryOnAFreshConnection(t *testing.T) {
	var requests atomic.Int32
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			<-r.Context().Done() // stall until the client gives up
			return
		}
		w.Write([]byte("ok"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	hc := &http.Client{Transport: AttemptDeadlines(&http.Transport{})}
	// 8 s left: each attempt waits 2 s.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	p := defaultPolicy
	var body string
	err := p.do(ctx, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b := make([]byte, 2)
		n, _ := resp.Body.Read(b)
		body = string(b[:n])
		return nil
	})
	if err != nil || body != "ok" {
		t.Fatalf("do = %v, body %q; want ok", err, body)
	}
	if requests.Load() != 2 || conns.Load() != 2 {
		t.Errorf("%d requests on %d connections, want 2 on 2", requests.Load(), conns.Load())
	}
}

// Unless the user configured the SDK's retries, the SDK makes one attempt
// a call; when they did, their attempts hold, and the SDK's client-side
// retry quota never runs dry.
func TestRetryer(t *testing.T) {
	if r := retryer(aws.Config{})(); r.MaxAttempts() != 1 {
		t.Errorf("no user settings: %d attempts a call, want 1", r.MaxAttempts())
	}
	for _, cfg := range []aws.Config{
		{RetryMaxAttempts: 20},
		{RetryMaxAttempts: 20, RetryMode: aws.RetryModeAdaptive},
	} {
		r := retryer(cfg)()
		if r.MaxAttempts() != 20 {
			t.Errorf("%+v: %d attempts, want 20", cfg, r.MaxAttempts())
		}
		// The standard quota (500 tokens, 5 a retry) is spent after 100.
		for i := range 1000 {
			if _, err := r.GetRetryToken(context.Background(), throttled); err != nil {
				t.Fatalf("%+v: retry token %d refused: %v", cfg, i, err)
			}
		}
	}
	if r := retryer(aws.Config{RetryMode: aws.RetryModeStandard})(); r.MaxAttempts() != retry.DefaultMaxAttempts {
		t.Errorf("AWS_RETRY_MODE alone: %d attempts, want the SDK's %d", r.MaxAttempts(), retry.DefaultMaxAttempts)
	}
}

// Nothing listening is retried a few times, not until the deadline: an
// endpoint still starting gets its chance, a wrong one fails fast.
func TestPolicyRefusedIsRetriedAFewTimes(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	refused := &url.Error{Op: "Post", URL: "https://sm/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	calls := 0
	err := testPolicy(clock, nil).do(ctx, func(context.Context) error { calls++; return refused })
	var re *RetriesError
	if !errors.As(err, &re) || calls != defaultPolicy.RefusedAttempts || re.Attempts != calls {
		t.Fatalf("do = %v after %d calls, want a *RetriesError after %d", err, calls, defaultPolicy.RefusedAttempts)
	}
}
