package resolve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// jsonAPI speaks the AWS JSON 1.1 protocol to one service in one region,
// for the few operations smexec makes without the SDK's generated
// client: a POST signed with the SDK's SigV4 signer and the
// configuration's credentials, through its HTTP client (attempt deadlines
// included), answered with JSON. It keeps what the SDK's client does for
// a call that matters to a launcher: the retryer the configuration
// gives (with its attempt tokens, which adaptive mode paces with), clock
// skew correction, a bound on the answer, and errors of the SDK's types
// (*smithy.OperationError around an *awshttp.ResponseError or a
// *smithyhttp.RequestSendError), so classify and the retry checks read
// them as they read the SDK's.
//
// What it leaves out is what a call does not need: a middleware stack
// built a call, endpoint rules evaluated a call (the endpoint is
// resolved once, by the SDK's resolver), the SDK's telemetry. That is
// most of the memory a call in flight holds (docs/performance.md).
type jsonAPI struct {
	cfg     aws.Config
	service string // as the SDK names it in errors: "Secrets Manager", "SSM"
	target  string // the X-Amz-Target prefix: "secretsmanager", "AmazonSSM"
	signing string // SigV4's service name
	region  string // SigV4's region
	// endpoint is the service's base URL, or endpointErr why there is none.
	endpoint    string
	endpointErr error
	signer      *v4.Signer
	// retryer is the configuration's, made once for the client as the
	// SDK makes it: adaptive mode's pacing lives in it, shared by every
	// call in flight. Nil: one attempt.
	retryer aws.Retryer
	// skew is the server's clock less ours (ns), as the last answer with
	// a Date header showed it; requests are signed at now+skew.
	skew atomic.Int64
}

// skewThreshold is how far the signing time may be from the server's
// before a signature error is taken for clock skew, and retried with
// the server's time, as the SDK does.
const skewThreshold = 4 * time.Minute

// skewCodes are the error codes a skewed clock can cause (the SDK's
// list).
var skewCodes = map[string]bool{
	"InvalidSignatureException": true,
	"SignatureDoesNotMatch":     true,
	"AuthFailure":               true,
	"RequestTimeTooSkewed":      true,
	"AccessDeniedException":     true,
}

// skewError is a signature error caused by our clock: retryable, now
// that the next attempt is signed at the server's time.
type skewError struct{ Err error }

func (e *skewError) Error() string        { return e.Err.Error() }
func (e *skewError) Unwrap() error        { return e.Err }
func (e *skewError) RetryableError() bool { return true }

// userAgent is the User-Agent of smexec's own calls.
func (a *jsonAPI) userAgent() string {
	if a.cfg.AppID != "" {
		return "smexec app/" + a.cfg.AppID
	}
	return "smexec"
}

// call makes operation op with the JSON body in and hands a successful
// answer's body (at most limit bytes) to decode, whose error fails the
// attempt as an answer that could not be decoded does in the SDK. It
// makes one attempt, or, where the user configured the SDK's retries
// (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE), the attempts the SDK's retryer
// allows, telling onAttempt (when not nil) the outcome of each.
func (a *jsonAPI) call(ctx context.Context, op string, in any, limit int64, decode func([]byte) error, onAttempt func(error)) error {
	fail := func(err error) error {
		return &smithy.OperationError{ServiceID: a.service, OperationName: op, Err: err}
	}
	if a.endpointErr != nil {
		return fail(fmt.Errorf("failed to resolve service endpoint, %w", a.endpointErr))
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fail(err)
	}
	retryer := a.retryer
	if retryer == nil {
		retryer = aws.NopRetryer{}
	}
	releaseRetry := noRelease
	for attempt := 1; ; attempt++ {
		release, err := attemptToken(ctx, retryer)
		if err != nil {
			return fail(err)
		}
		err = a.once(ctx, op, body, limit, decode)
		// The tokens go back with the attempt's outcome (adaptive mode
		// learns the throttling from it), as the SDK gives them back.
		release(err)
		releaseRetry(err)
		releaseRetry = noRelease
		if onAttempt != nil {
			onAttempt(err)
		}
		if err == nil {
			return nil
		}
		err = fail(err)
		if ctx.Err() != nil || !retryer.IsErrorRetryable(err) {
			return err
		}
		if attempt >= retryer.MaxAttempts() {
			// As the SDK says it, also when the user allowed one attempt.
			return &retry.MaxAttemptsError{Attempt: attempt, Err: err}
		}
		var terr error
		if releaseRetry, terr = retryer.GetRetryToken(ctx, err); terr != nil {
			return err
		}
		d, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		if Sleep(ctx, d) != nil {
			return err
		}
	}
}

// newRetryer is cfg's retryer, or nil for one attempt.
func newRetryer(cfg aws.Config) aws.Retryer {
	if cfg.Retryer == nil {
		return nil
	}
	return cfg.Retryer()
}

// operationURL is where an AWS JSON operation is posted at endpoint u:
// its path as it is, "/" for none, as the SDK joins it.
func operationURL(u url.URL) string {
	u.Path = smithyhttp.JoinPath(u.Path, "/")
	if u.RawPath != "" {
		u.RawPath = smithyhttp.JoinPath(u.RawPath, "/")
	}
	return u.String()
}

func noRelease(error) error { return nil }

// attemptToken takes the retryer's token for an attempt: adaptive mode
// waits there while the service throttles.
func attemptToken(ctx context.Context, r aws.Retryer) (func(error) error, error) {
	if v2, ok := r.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.GetInitialToken(), nil
}

// once is one attempt: the request signed, sent, its answer read and
// decoded or turned into the service's error.
func (a *jsonAPI) once(ctx context.Context, op string, body []byte, limit int64, decode func([]byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", a.target+"."+op)
	req.Header.Set("User-Agent", a.userAgent())
	if a.cfg.Credentials == nil {
		return errors.New("failed to retrieve credentials: no credentials provider")
	}
	creds, err := a.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		// As the SDK says it: the provider's own words are the cause
		// (a credential_process that failed, an expired SSO session).
		return fmt.Errorf("get identity: get credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	skew := time.Duration(a.skew.Load())
	if err := a.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), a.signing, a.region, time.Now().Add(skew)); err != nil {
		return err
	}
	client := a.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	sent := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &smithy.CanceledError{Err: ctx.Err()}
		}
		// As the SDK marks it: a request that got no answer, which the
		// retry checks judge by its cause.
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	server, hasServer := a.serverSkew(resp, sent)
	answered := func(err error) error {
		return &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err},
			RequestID:     resp.Header.Get("X-Amzn-Requestid"),
		}
	}
	data, err := io.ReadAll(&limitedBody{ReadCloser: resp.Body, left: limit})
	if err != nil {
		return answered(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		err := serviceError(resp, data)
		var ae smithy.APIError
		if hasServer && errors.As(err, &ae) && skewCodes[ae.ErrorCode()] && absDuration(server-skew) > skewThreshold {
			err = &skewError{Err: err}
		}
		return answered(err)
	}
	if err := decode(data); err != nil {
		return answered(err)
	}
	return nil
}

// serverSkew is the server's clock less ours as resp shows it (its Date
// header, when the answer came within 15 minutes and not from a cache),
// which it also keeps for the next request's signature.
func (a *jsonAPI) serverSkew(resp *http.Response, sent time.Time) (time.Duration, bool) {
	at := time.Now()
	date := resp.Header.Get("Date")
	if date == "" || resp.Header.Get("Age") != "" || at.Sub(sent) > 15*time.Minute {
		return 0, false
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return 0, false
	}
	d := t.Sub(at)
	a.skew.Store(int64(d))
	return d, true
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// serviceError reads an AWS JSON error answer as the SDK does: its code
// from X-Amzn-ErrorType, else the body's __type, else its code when
// that is a string (without a detail after ':' or a namespace before
// '#'); its message from the body, "UnknownError" when there is none.
// An answer whose body is not JSON is not the service's: a
// *smithy.DeserializationError, which never quotes it (it may hold a
// value).
func serviceError(resp *http.Response, data []byte) error {
	var e struct {
		Type    string `json:"__type"`
		Code    any
		Message string
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil {
			return &smithy.DeserializationError{Err: errors.New("failed to decode the error answer: it is not JSON")}
		}
	}
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = e.Type
	}
	if c, ok := e.Code.(string); ok && code == "" {
		code = c
	}
	code, _, _ = strings.Cut(code, ":")
	if _, after, ok := strings.Cut(code, "#"); ok {
		code = after
	}
	if code == "" {
		code = "UnknownError"
	}
	msg := e.Message
	if msg == "" {
		msg = "UnknownError"
	}
	return &smithy.GenericAPIError{Code: code, Message: msg}
}
