package resolve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxAnswer bounds how much of one answer the SDK reads. Secrets Manager's
// largest, a BatchGetSecretValue of 20 values of 65,536 bytes each, is
// under 8 MiB even with every byte JSON-escaped; an endpoint that sends
// more is not Secrets Manager, and without a bound could make the SDK's
// decoder hold all of it.
const maxAnswer = 16 << 20

// maxGetAnswer bounds a GetSecretValue answer: one value of 65,536 bytes
// is under 400 KiB even with every byte escaped, and up to --concurrency
// reads may be decoding at once.
const maxGetAnswer = 1 << 20

var errAnswerTooLarge = errors.New("answer too large")

// answerCap is the bound of an answer to op.
func answerCap(op string) int64 {
	if op == opGet {
		return maxGetAnswer
	}
	return maxAnswer
}

// MaxAnswerHeaders bounds the headers of an answer. Secrets Manager's,
// and the agent's, take a few hundred bytes; without a bound, net/http
// buffers up to 10 MiB of them for every request in flight.
const MaxAnswerHeaders = 64 << 10

// HeadersTooLargeError is an answer with more than MaxAnswerHeaders of
// headers. Not worth retrying: the endpoint is not Secrets Manager.
type HeadersTooLargeError struct{ Err error }

func (e *HeadersTooLargeError) Error() string {
	return fmt.Sprintf("the answer has more than %d KiB of headers", MaxAnswerHeaders>>10)
}

func (e *HeadersTooLargeError) Unwrap() error { return e.Err }

// RetryableError tells the SDK's retryer, and smexec's, not to retry.
func (e *HeadersTooLargeError) RetryableError() bool { return false }

// headersTooLarge turns net/http's error for an answer past
// MaxResponseHeaderBytes, which has no type of its own, into a
// *HeadersTooLargeError.
func headersTooLarge(err error) error {
	if err != nil && strings.Contains(err.Error(), "server response headers exceeded") {
		return &HeadersTooLargeError{Err: err}
	}
	return err
}

// limitAnswer is an SDK API option that caps the body of every answer at
// answerCap. It sits innermost in the deserialize step, so it wraps the
// body before any decoder reads it, on every attempt.
func limitAnswer(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("smexecAnswerLimit",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp.Response != nil && resp.Body != nil {
				resp.Body = &limitedBody{ReadCloser: resp.Body, left: answerCap(middleware.GetOperationName(ctx))}
			}
			return out, md, err
		}), middleware.After)
}

// limitedBody reads up to left bytes, and fails where more follow.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errAnswerTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
