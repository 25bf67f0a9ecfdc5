package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/smexec/smexec/internal/ref"
)

// Error is a failed fetch, said in one line, with a hint where one helps.
// It never holds a secret value: only the id, the region and what
// Secrets Manager or the SDK said went wrong.
type Error struct {
	Kind     ref.Kind // a secret or a parameter
	SecretID string
	Region   string // "" for the configured region
	Cause    string
	Hint     string
	Err      error
}

func (e *Error) Error() string {
	where := ""
	if e.Region != "" {
		where = " in " + e.Region
	}
	return fmt.Sprintf("%s %s%s: %s", e.Kind, e.SecretID, where, e.Cause)
}

func (e *Error) Unwrap() error { return e.Err }

// Hint returns the hint of the first *Error in err's chain, or "".
func Hint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// Explained is an error that already says, in an operator's words, what
// went wrong and what to do: an API other than Secrets Manager's own (the
// agent, a local file) returns one where the SDK's codes and the hints for
// them would mislead. classify uses its cause and hint as they are.
type Explained interface {
	error
	Explain() (cause, hint string)
}

// fullARNSuffix matches the "-AbCdEf" Secrets Manager appends to a name in
// a full ARN.
var fullARNSuffix = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

// TrimARNSuffix is name without the "-AbCdEf" Secrets Manager appends to
// a secret's name in its full ARN, and whether name ended with one.
func TrimARNSuffix(name string) (string, bool) {
	if !fullARNSuffix.MatchString(name) {
		return name, false
	}
	return name[:len(name)-7], true
}

// classify turns an SDK error into an *Error with a cause and a hint an
// operator can act on.
func classify(ctx context.Context, err error, k key) error {
	if k.kind != ref.Parameter {
		return classifyCommon(ctx, err, k)
	}
	var ex Explained
	if ctx.Err() == nil && !errors.As(err, &ex) {
		if e := classifyParam(err, k); e != nil {
			return e
		}
	}
	e := classifyCommon(ctx, err, k).(*Error)
	e.Kind = ref.Parameter
	if !errors.As(err, &ex) {
		e.Cause, e.Hint = paramWords.Replace(e.Cause), paramWords.Replace(e.Hint)
	}
	return e
}

// classifyCommon explains the failures of a read of either kind, in
// Secrets Manager's words.
func classifyCommon(ctx context.Context, err error, k key) error {
	e := &Error{SecretID: k.secretID, Region: k.region, Err: err}
	code, msg := apiError(err)
	var ex Explained
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()) || errors.Is(err, context.DeadlineExceeded):
		e.Cause = "timed out waiting for Secrets Manager"
		e.Hint = "raise --timeout, or check the network path to the Secrets Manager endpoint"
	case errors.As(err, &ex):
		e.Cause, e.Hint = ex.Explain()
	case isDenied(err, code):
		e.Cause = "access denied (" + orDefault(code, "HTTP 403") + ")"
		e.Hint = "the caller needs secretsmanager:GetSecretValue on this secret, and kms:Decrypt on its KMS key if it uses a customer-managed key"
	case code == "DecryptionFailure":
		e.Cause = "Secrets Manager could not decrypt the secret (DecryptionFailure)"
		e.Hint = "the caller needs kms:Decrypt on the secret's KMS key, and the key must be enabled"
	case code == "ResourceNotFoundException" && (k.versionID != "" || k.stage != "") && mentionsVersion(msg):
		e.Cause = "no such version (" + versionOf(k) + ")"
		e.Hint = "list the secret's versions with: aws secretsmanager list-secret-version-ids --secret-id " + k.secretID
	case code == "ResourceNotFoundException":
		e.Cause = "not found (ResourceNotFoundException)"
		e.Hint = notFoundHint(k)
	case code == "InvalidRequestException" && strings.Contains(strings.ToLower(msg), "delet"):
		e.Cause = "the secret is scheduled for deletion (InvalidRequestException)"
		e.Hint = "restore it with: aws secretsmanager restore-secret --secret-id " + k.secretID
	case code == "UnrecognizedClientException" || code == "InvalidClientTokenId" || code == "InvalidSignatureException" || code == "SignatureDoesNotMatch":
		e.Cause = "the AWS credentials were not accepted (" + code + ")"
		e.Hint = "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
	case code == "ExpiredTokenException" || code == "ExpiredToken":
		e.Cause = "the AWS session token has expired (" + code + ")"
		e.Hint = "refresh the credentials (aws sso login, or a new role session)"
	case strings.HasPrefix(code, "KMS"):
		e.Cause = "KMS refused to decrypt the secret (" + code + ")"
		e.Hint = "the caller needs kms:Decrypt on the secret's KMS key, and the key must be enabled"
	case isThrottle(err) && is[ratelimit.QuotaExceededError](err):
		// The SDK's client-side retry quota ran out. smexec turns that
		// quota off; a retryer of the user's own making may still have it.
		e.Cause = "throttled by Secrets Manager (" + orDefault(code, "HTTP 429") + "), and the AWS SDK's client-side retry quota ran out" + attempts(err)
		e.Hint = "the SDK stopped retrying to spare the service, not for lack of time; stagger starts, or raise --timeout"
	case isThrottle(err):
		e.Cause = "throttled by Secrets Manager (" + orDefault(code, "HTTP 429") + ")" + attempts(err)
		e.Hint = throttleHint(err)
	case httpStatus(err) >= 500:
		st := httpStatus(err)
		e.Cause = fmt.Sprintf("Secrets Manager answered HTTP %d %s", st, http.StatusText(st))
		if code != "" {
			e.Cause += " (" + OneLine(code+": "+msg) + ")"
		}
		e.Cause += attempts(err)
		e.Hint = "the service, or a proxy in front of it, failed: try again, or " + moreRetries(err)
	case untrusted(err):
		e.Cause = "the certificate of " + endpoint(err) + " does not verify: " + OneLine(untrustedCause(err))
		e.Hint = "a proxy or endpoint with a private CA needs that CA in AWS_CA_BUNDLE (or the profile's ca_bundle); otherwise check that AWS_ENDPOINT_URL_SECRETS_MANAGER names the right host"
	case is[*AttemptTimeoutError](err):
		e.Cause = "no answer from " + endpoint(err) + " within " + attemptTimeout(err) + attempts(err)
		if at := (*AttemptTimeoutError)(nil); errors.As(err, &at) && at.Body {
			e.Cause = "the answer from " + endpoint(err) + " did not end within " + attemptTimeout(err) + " of its headers" + attempts(err)
		}
		e.Hint = "each attempt waits at most a quarter of --timeout (2 s to 10 s) and is retried on a fresh connection: something on the network path (a proxy, a firewall, the VPC endpoint) holds requests; check it, or raise --timeout"
	case is[*AnswerCutError](err):
		e.Cause = "the connection to " + endpoint(err) + " was cut during the answer" + attempts(err)
		e.Hint = "something on the network path (a proxy, a firewall, the VPC endpoint) dropped the connection; check the path to the Secrets Manager endpoint"
	case is[*HeadersTooLargeError](err):
		e.Cause = fmt.Sprintf("the answer to %s has more than %d KiB of headers, more than Secrets Manager sends", operation(err), MaxAnswerHeaders>>10)
		e.Hint = "something on the path to the endpoint answered in Secrets Manager's place: check AWS_ENDPOINT_URL_SECRETS_MANAGER, and any proxy in between"
	case errors.Is(err, errAnswerTooLarge):
		e.Cause = fmt.Sprintf("the answer to %s%s is larger than %d MiB, more than Secrets Manager sends", operation(err), statusOf(err), answerCap(operation(err))>>20)
		e.Hint = "something on the path to the endpoint answered in Secrets Manager's place: check AWS_ENDPOINT_URL_SECRETS_MANAGER, and any proxy in between"
	case is[*smithy.DeserializationError](err):
		// The SDK could not decode the answer. Its message quotes
		// the answer, which a broken or hostile endpoint may have
		// filled with a value.
		e.Cause = fmt.Sprintf("could not decode the answer to %s%s: it is not what Secrets Manager sends", operation(err), statusOf(err))
		e.Hint = "something on the path to the endpoint answered in Secrets Manager's place: check AWS_ENDPOINT_URL_SECRETS_MANAGER, and any proxy in between"
	case code != "":
		e.Cause = OneLine(code + ": " + msg)
	case isDropped(err):
		e.Cause = "the connection to " + endpoint(err) + " was reset before an answer" + attempts(err)
		e.Hint = "something on the network path (a proxy, a firewall, the VPC endpoint) dropped the connection; check the path to the Secrets Manager endpoint"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Cause = "could not connect to " + endpoint(err) + " (connection refused)" + attempts(err)
		e.Hint = "nothing listens there: check AWS_ENDPOINT_URL_SECRETS_MANAGER, the region, and the network path"
	case isNoCredentials(err):
		e.Cause = "no AWS credentials found"
		e.Hint = "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role"
	default:
		e.Cause = OneLine(err.Error())
	}
	return e
}

// is reports whether err's tree holds an error of type E.
func is[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

// operation names the API call err came from.
func operation(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) && oe.Operation() != "" {
		return oe.Operation()
	}
	return "the request"
}

// statusOf is " (HTTP N)" for an error that came with an answer.
func statusOf(err error) string {
	if st := httpStatus(err); st != 0 {
		return fmt.Sprintf(" (HTTP %d)", st)
	}
	return ""
}

// clientError explains why no client could be built for k.
func clientError(err error, k key) error {
	e := &Error{Kind: k.kind, SecretID: k.secretID, Region: k.region, Cause: OneLine(err.Error()), Err: err}
	var ex Explained
	switch {
	case errors.As(err, &ex):
		e.Cause, e.Hint = ex.Explain()
	case errors.Is(err, ErrNoRegion):
		e.Hint = "set --region or AWS_REGION, or give the " + k.kind.String() + "'s ARN"
	}
	return e
}

// isThrottle reports whether the SDK took err for throttling: one of the
// throttling error codes, or HTTP 429.
func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() ||
		httpStatus(err) == http.StatusTooManyRequests
}

// isDropped reports whether the connection broke under a request that had
// no answer yet: reset by the peer, or closed. Which of these the client
// sees depends on whether it was reading or writing when the RST came.
func isDropped(err error) bool {
	if httpStatus(err) != 0 {
		return false // an answer came; its body is what broke
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// httpStatus is the HTTP status of the answer err came from, or 0 when
// there was none (the request never got an answer).
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// attempts says how many attempts a read made before its retries ended:
// smexec's own, when --timeout left no room for another, or the SDK's,
// when the attempts the user set ran out.
func attempts(err error) string {
	n := 0
	var me *retry.MaxAttemptsError
	var re *RetriesError
	switch {
	case errors.As(err, &re):
		n = re.Attempts
	case errors.As(err, &me):
		n = me.Attempt
	}
	switch n {
	case 0:
		return ""
	case 1:
		return " after 1 attempt"
	}
	return fmt.Sprintf(" after %d attempts", n)
}

// throttleHint says what to do about a read still throttled when its
// retries ended: by --timeout (smexec's own retries), or by the attempts
// the user set for the SDK.
func throttleHint(err error) string {
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		return "more requests than the account's quota allows: AWS_MAX_ATTEMPTS (or max_attempts) limits the retries; unset it to retry until --timeout, or raise it with a --timeout to match, or stagger starts"
	}
	return "more requests than the account's quota allows within --timeout: raise --timeout, or stagger starts"
}

// moreRetries is how to allow more retries of a transient failure.
func moreRetries(err error) string {
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		return "allow more retries with AWS_MAX_ATTEMPTS, or unset it to retry until --timeout"
	}
	return "raise --timeout to retry for longer"
}

func attemptTimeout(err error) string {
	var at *AttemptTimeoutError
	errors.As(err, &at)
	return at.After.Round(100 * time.Millisecond).String()
}

// endpoint names the endpoint a request that got no answer went to, as
// scheme://host, or "the Secrets Manager endpoint".
func endpoint(err error) string {
	var ce *AnswerCutError
	if errors.As(err, &ce) {
		return ce.URL
	}
	var at *AttemptTimeoutError
	if errors.As(err, &at) && at.URL != "" {
		return at.URL
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	return "the Secrets Manager endpoint"
}

func apiError(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

// isDenied accepts both the JSON AccessDeniedException and the bare HTTP
// 403 some endpoints answer with.
func isDenied(err error, code string) bool {
	switch code {
	case "AccessDeniedException", "AccessDenied":
		return true
	case "", "UnknownError":
	default:
		return false // a 403 that says what else went wrong
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden
}

func isNoCredentials(err error) bool {
	return strings.Contains(err.Error(), "failed to retrieve credentials") ||
		strings.Contains(err.Error(), "no EC2 IMDS role found")
}

func mentionsVersion(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "version") || strings.Contains(m, "staging label") || strings.Contains(m, "stage")
}

func versionOf(k key) string {
	switch {
	case k.versionID != "" && k.stage != "":
		return "stage " + k.stage + ", id " + k.versionID
	case k.versionID != "":
		return "id " + k.versionID
	}
	return "stage " + k.stage
}

func notFoundHint(k key) string {
	if k.versionID != "" || k.stage != "" {
		return "check that the secret has a version at " + versionOf(k) + ", and the secret's name and region"
	}
	region := "the region"
	if k.region == "" {
		region = "the region (--region or AWS_REGION)"
	}
	switch {
	case !strings.HasPrefix(k.secretID, "arn:"):
		return "check the name and " + region + "; the secret may live in another region"
	case fullARNSuffix.MatchString(k.secretID):
		return "check the region and account in the ARN and its 6-character suffix: the secret may have been deleted and re-created with a new suffix"
	}
	return "check the region and account in the ARN; a partial ARN must be the name without the 6-character suffix"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// OneLine keeps a multi-line message (the SDK's, an endpoint's) to the
// one line an error gets.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// untrustedCause is the certificate error itself, without the SDK's
// wrapping around it.
func untrustedCause(err error) string {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return cv.Error()
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return ua.Error()
	case errors.As(err, &hn):
		return hn.Error()
	case errors.As(err, &ci):
		return ci.Error()
	}
	return err.Error()
}
