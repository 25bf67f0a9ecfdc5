package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Error is a failed fetch, said in one line, with a hint where one helps.
// It never holds a secret value: only the id, the region and what
// Secrets Manager or the SDK said went wrong.
type Error struct {
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
	return fmt.Sprintf("secret %s%s: %s", e.SecretID, where, e.Cause)
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

// classify turns an SDK error into an *Error with a cause and a hint an
// operator can act on.
func classify(ctx context.Context, err error, k key) error {
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
	case code != "":
		e.Cause = oneLine(code + ": " + msg)
	case isNoCredentials(err):
		e.Cause = "no AWS credentials found"
		e.Hint = "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role"
	default:
		e.Cause = oneLine(err.Error())
	}
	return e
}

// clientError explains why no client could be built for k.
func clientError(err error, k key) error {
	e := &Error{SecretID: k.secretID, Region: k.region, Cause: oneLine(err.Error()), Err: err}
	if errors.Is(err, ErrNoRegion) {
		e.Hint = "set --region or AWS_REGION, or give the secret's ARN"
	}
	return e
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

// oneLine keeps multi-line SDK messages to the one line an error gets.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
