package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// policy is how the resolver retries a read that was throttled or failed
// for a passing reason, when the user left the SDK's retries alone: until
// the run's deadline (--timeout), not until an attempt count, so that a
// start storm delays a task instead of failing it. Each wait is drawn
// with full jitter from [0, min(Cap, Base·2^(n-1))), never past the
// deadline less Reserve: processes that were throttled together do not
// come back together, and none waits much past the moment quota frees.
type policy struct {
	Base time.Duration
	Cap  time.Duration
	// Reserve is the time kept before the deadline to answer and report:
	// no wait ends inside it.
	Reserve time.Duration
	// NoDeadlineAttempts bounds the attempts of a context without a
	// deadline (a library caller; the CLI always sets one).
	NoDeadlineAttempts int
	// RefusedAttempts bounds the attempts that find nothing listening:
	// an endpoint still starting is worth a few, a wrong one not the
	// whole --timeout.
	RefusedAttempts int

	// Seams for tests: the clock, the wait and the random draw in [0, n).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rand  func(n int64) int64
}

// defaultPolicy: the first retry within 100 ms, then doubling to at most
// 2 s between attempts, so a throttled task starts within about a second
// of the quota freeing up, and a process makes at most about one request
// a second a read while it waits.
var defaultPolicy = policy{
	Base:               100 * time.Millisecond,
	Cap:                2 * time.Second,
	Reserve:            100 * time.Millisecond,
	NoDeadlineAttempts: 5,
	RefusedAttempts:    5,
}

func (p *policy) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// wait is how long to wait after failed attempt n (1 is the first) of a
// run that must end by deadline (zero: none), and false when there is no
// time left for another attempt.
func (p *policy) wait(n int, now, deadline time.Time) (time.Duration, bool) {
	bound := p.bound(n)
	if deadline.IsZero() {
		if n >= p.NoDeadlineAttempts {
			return 0, false
		}
	} else {
		left := deadline.Sub(now) - p.Reserve
		if left < p.Base {
			return 0, false // no room for a wait worth the name
		}
		bound = min(bound, left)
	}
	return p.draw(bound), true
}

// bound is the longest wait after failed attempt n: Base·2^(n-1), at
// most Cap.
func (p *policy) bound(n int) time.Duration {
	bound := p.Cap
	if n-1 < 30 {
		if b := p.Base << (n - 1); b > 0 && b < bound {
			bound = b
		}
	}
	return bound
}

// draw is a wait drawn uniformly from [0, bound): full jitter.
func (p *policy) draw(bound time.Duration) time.Duration {
	if bound <= 0 {
		return 0
	}
	draw := rand.Int64N
	if p.rand != nil {
		draw = p.rand
	}
	return time.Duration(draw(int64(bound)))
}

func (p *policy) pause(ctx context.Context, d time.Duration) error {
	if p.sleep != nil {
		return p.sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d, or until ctx ends; it then returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// do calls attempt until it succeeds, fails in a way no retry mends, or
// the deadline leaves no room for another attempt. A read that ran out
// of time returns its last failure wrapped in *RetriesError, so the
// error says what kept failing (throttled, HTTP 503, no answer) rather
// than only that time ran out.
func (p *policy) do(ctx context.Context, attempt func(ctx context.Context) error) error {
	deadline, _ := ctx.Deadline()
	var last error
	refused := 0
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		var paced *pacedError
		if errors.As(err, &paced) {
			// Never sent: the process's reads were throttled to the end.
			if last == nil {
				last = paced.throttle
			}
			return &RetriesError{Attempts: n - 1, Err: last}
		}
		if ctx.Err() != nil {
			switch {
			case isContextErr(err) && last != nil:
				return &RetriesError{Attempts: n - 1, Err: last}
			case retryable(err):
				return &RetriesError{Attempts: n, Err: err}
			}
			return err
		}
		if !retryable(err) {
			return err
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			refused++
			if refused >= p.RefusedAttempts {
				return &RetriesError{Attempts: n, Err: err}
			}
		}
		last = err
		d, ok := p.wait(n, p.clock(), deadline)
		if !ok {
			return &RetriesError{Attempts: n, Err: err}
		}
		if err := p.pause(ctx, d); err != nil {
			return &RetriesError{Attempts: n, Err: last}
		}
	}
}

// RetriesError is a read that kept failing, throttled or for a passing
// reason, until the deadline left no room for another attempt.
type RetriesError struct {
	Attempts int
	Err      error
}

func (e *RetriesError) Error() string {
	return fmt.Sprintf("retried until the deadline, %d attempts: %v", e.Attempts, e.Err)
}

func (e *RetriesError) Unwrap() error { return e.Err }

// sdkRetryables are the SDK's standard-mode checks (throttling codes,
// HTTP 500/502/503/504, connections reset, refused or timed out, and an
// error's own RetryableError verdict), so that smexec retries what the
// SDK would.
var sdkRetryables = retry.IsErrorRetryables(retry.DefaultRetryables)

// retryable reports whether another attempt may succeed where err
// failed: throttling and transient failures, never a denial, a missing
// secret or a bad request, and never the run's own deadline or cancel.
func retryable(err error) bool {
	if isContextErr(err) {
		return false
	}
	var at *AttemptTimeoutError
	if errors.As(err, &at) {
		return true
	}
	if isThrottle(err) {
		return true
	}
	if untrusted(err) {
		return false
	}
	return sdkRetryables.IsErrorRetryable(err).Bool()
}

// untrusted tells a TLS certificate that does not verify (unknown
// authority, wrong host, expired), which no retry mends.
func untrusted(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

func isContextErr(err error) bool {
	var at *AttemptTimeoutError
	if errors.As(err, &at) {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Attempt deadlines. A request that gets no answer would otherwise hold
// its read until --timeout: one stalled connection (a dead NAT entry, a
// proxy that accepted and hung) must instead be given up on and retried
// on a fresh connection while time remains.

// AttemptTimeout is how long one attempt may wait for an answer's
// headers when left is the time the run has: a quarter of it, at least
// 2 s (a slow but working endpoint must not fail every attempt) and at
// most 10 s; never more than left.
func AttemptTimeout(left time.Duration) time.Duration {
	d := min(max(left/4, 2*time.Second), 10*time.Second)
	return min(d, left)
}

// AttemptTimeoutError is an attempt that had no answer within its own
// deadline; the connection it used is closed.
type AttemptTimeoutError struct {
	After time.Duration
	// Body: the answer's headers came in time, and the rest did not;
	// URL is then the endpoint's scheme://host.
	Body bool
	URL  string
}

func (e *AttemptTimeoutError) Error() string {
	if e.Body {
		return fmt.Sprintf("the answer did not end within %v of its headers", e.After)
	}
	return fmt.Sprintf("no answer within %v", e.After)
}

// Timeout marks it as a timeout for net/http and the SDK, which retry
// timeouts.
func (e *AttemptTimeoutError) Timeout() bool { return true }

// Temporary says the same to the SDK's older check.
func (e *AttemptTimeoutError) Temporary() bool { return true }

// AttemptDeadlines wraps an HTTP transport so that each request must
// have its answer's headers within AttemptTimeout of the time its
// context leaves (10 s without a deadline), and the rest of the answer
// within as long again: a body that stalls or trickles after timely
// headers holds a connection as surely as no answer does. A request past
// either is cancelled, which closes its connection, and fails with
// *AttemptTimeoutError, which retries treat as transient. A body the
// connection cuts short fails with *AnswerCutError, transient too.
func AttemptDeadlines(next http.RoundTripper) http.RoundTripper {
	return attemptTransport{next: next}
}

type attemptTransport struct{ next http.RoundTripper }

func (t attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	d := 10 * time.Second
	if dl, ok := req.Context().Deadline(); ok {
		left := time.Until(dl)
		if d = AttemptTimeout(left); d >= left {
			// The run's own deadline comes first: nothing to add.
			resp, err := t.next.RoundTrip(req)
			if err != nil {
				return nil, headersTooLarge(err)
			}
			resp.Body = &attemptBody{ReadCloser: resp.Body, req: req, cancel: func() {}}
			return resp, nil
		}
	}
	ctx, cancel := context.WithCancel(req.Context())
	var mu sync.Mutex
	answered, fired := false, false
	timer := time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if !answered {
			fired = true
			cancel()
		}
	})
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	mu.Lock()
	answered = true
	timedOut := fired
	mu.Unlock()
	if timedOut && req.Context().Err() == nil {
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		return nil, &AttemptTimeoutError{After: d}
	}
	if err != nil {
		cancel()
		return nil, headersTooLarge(err)
	}
	b := &attemptBody{ReadCloser: resp.Body, req: req, cancel: cancel, after: d}
	b.timer = time.AfterFunc(d, func() {
		b.fired.Store(true)
		cancel()
	})
	resp.Body = b
	return resp, nil
}

// attemptBody is an answer's body read within its attempt's deadline.
// It releases the attempt's context once closed.
type attemptBody struct {
	io.ReadCloser
	req    *http.Request
	cancel context.CancelFunc
	after  time.Duration
	timer  *time.Timer // nil: the run's deadline is the body's
	fired  atomic.Bool
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case b.fired.Load() && b.req.Context().Err() == nil:
		err = &AttemptTimeoutError{After: b.after, Body: true, URL: b.req.URL.Scheme + "://" + b.req.URL.Host}
	case b.req.Context().Err() == nil:
		err = &AnswerCutError{URL: b.req.URL.Scheme + "://" + b.req.URL.Host, Err: err}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// AnswerCutError is an answer whose body the connection cut short (reset,
// or closed before the length its headers gave): a failure of the path,
// not of the answer, and worth another attempt.
type AnswerCutError struct {
	URL string // scheme://host of the endpoint
	Err error
}

func (e *AnswerCutError) Error() string {
	return "the connection to " + e.URL + " was cut during the answer: " + e.Err.Error()
}

func (e *AnswerCutError) Unwrap() error { return e.Err }

// RetryableError marks it as worth retrying for the SDK's retryer too.
func (e *AnswerCutError) RetryableError() bool { return true }
