package resolve

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"
)

const (
	opGet   = "GetSecretValue"
	opBatch = "BatchGetSecretValue"
)

// stats counts the requests of one run and the throttled answers, so
// that a storm's cost shows at debug level: retries must not multiply
// requests unseen.
type stats struct {
	gets, batches, params, throttled, failed atomic.Int64
}

// add counts one request of op that ended with err.
func (s *stats) add(op string, err error) {
	switch op {
	case opBatch:
		s.batches.Add(1)
	case opParams:
		s.params.Add(1)
	default:
		s.gets.Add(1)
	}
	switch {
	case err == nil:
	case isThrottle(err):
		s.throttled.Add(1)
	default:
		s.failed.Add(1)
	}
}

// counting is a call option that counts each attempt the SDK makes
// inside one call (its own retries included) and marks seen; a client
// that is not the SDK ignores it, and the caller counts the call once.
func (s *stats) counting(op string, seen *atomic.Int32) func(*sm.Options) {
	return func(o *sm.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			mw := middleware.FinalizeMiddlewareFunc("smexecCountAttempts", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				seen.Add(1)
				s.add(op, err)
				return out, md, err
			})
			// After the retry middleware: once an attempt.
			if err := st.Finalize.Insert(mw, "Retry", middleware.After); err != nil {
				return st.Finalize.Add(mw, middleware.After)
			}
			return nil
		})
	}
}

func (s *stats) log(log *slog.Logger, took time.Duration) {
	g, b, p := s.gets.Load(), s.batches.Load(), s.params.Load()
	log.Debug("secrets fetched",
		"requests", g+b+p,
		"GetSecretValue", g,
		"BatchGetSecretValue", b,
		"GetParameters", p,
		"throttled", s.throttled.Load(),
		"failed", s.failed.Load(),
		"took", took.Round(time.Millisecond).String())
}
