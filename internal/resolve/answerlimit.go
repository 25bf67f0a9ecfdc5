package resolve

import (
	"context"
	"errors"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxAnswer bounds how much of one answer the SDK reads. Secrets Manager's
// largest, a BatchGetSecretValue of 20 values of 65,536 bytes each, is
// under 8 MiB even with every byte JSON-escaped; an endpoint that sends
// more is not Secrets Manager, and without a bound could make the SDK's
// decoder hold all of it.
const maxAnswer = 16 << 20

var errAnswerTooLarge = errors.New("answer larger than 16 MiB")

// limitAnswer is an SDK API option that caps the body of every answer at
// maxAnswer. It sits innermost in the deserialize step, so it wraps the
// body before any decoder reads it, on every attempt.
func limitAnswer(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("smexecAnswerLimit",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp.Response != nil && resp.Body != nil {
				resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxAnswer}
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
