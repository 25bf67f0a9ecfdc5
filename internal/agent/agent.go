// Package agent reads secrets through the local HTTP API that the AWS
// Secrets Manager Agent and the AWS Parameters and Secrets Lambda
// extension serve: GET /secretsmanager/get?secretId=…&versionId=…&versionStage=…
// with the SSRF token in the X-Aws-Parameters-Secrets-Token header,
// answered with GetSecretValue's JSON. It stands in for the SDK's client
// behind resolve.Clients, so the resolver's planning and error hints apply
// unchanged.
package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/smexec/smexec/internal/resolve"
)

// DefaultURL is where the agent and the Lambda extension listen unless
// configured otherwise.
const DefaultURL = "http://localhost:2773"

// TokenHeader carries the SSRF token on every request.
const TokenHeader = "X-Aws-Parameters-Secrets-Token"

// TokenVars are the variables the agent takes its token from, in its
// order: the first one set wins. A value "file://PATH" names a file that
// holds the token.
var TokenVars = []string{"AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}

// Client talks to one agent. It is both the resolve.Clients and, for
// every region, the resolve.API: the agent reads in its own region.
type Client struct {
	url       string // …/secretsmanager/get
	base      string // as given, for messages
	token     string
	tokenFrom string // the variable the token came from
	http      *http.Client
	// backoff is the wait before the first retry, doubled for each next.
	backoff time.Duration
}

// attempts is how many times a request is tried when the agent is not
// (yet) answering: the Lambda extension may still be starting when the
// function's process is.
const attempts = 5

// New returns a client for the agent at rawURL, with the token read from
// environ. It fails, naming the variable or the URL, when either is
// unusable; it makes no request.
func New(rawURL string, environ []string) (*Client, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	token, from, err := Token(environ)
	if err != nil {
		return nil, err
	}
	t := &http.Transport{
		// The token must reach the agent and nothing else: no proxy from
		// HTTP_PROXY, and the agent refuses forwarded requests anyway.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: resolve.DefaultConcurrency,
		// An agent's answer has a few hundred bytes of headers.
		MaxResponseHeaderBytes: resolve.MaxAnswerHeaders,
		IdleConnTimeout:        30 * time.Second,
	}
	return &Client{
		url:       strings.TrimSuffix(u.String(), "/") + "/secretsmanager/get",
		base:      rawURL,
		token:     token,
		tokenFrom: from,
		http: &http.Client{
			// Each attempt has its own deadline: an agent that accepted
			// the connection and hangs is retried on a fresh one.
			Transport: resolve.AttemptDeadlines(t),
			// A redirect would carry the token to another address.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		backoff: 100 * time.Millisecond,
	}, nil
}

// checkURL accepts an http or https URL whose host is loopback: the agent
// serves only callers on its own host, and the token must not travel.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent URL %q is not an http:// URL such as %s", raw, DefaultURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("agent URL %q may hold only scheme, host, port and path", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("agent URL %q: the host must be loopback (localhost, 127.0.0.1, ::1): the agent serves only its own host, and requests carry its token", raw)
	}
	return u, nil
}

// Token returns the agent's token the way the agent itself finds it: the
// first of TokenVars that is set, read from the file it names when it is
// file://PATH. It also returns the variable's name.
func Token(environ []string) (token, from string, err error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, name := range TokenVars {
		v, ok := env[name]
		if !ok {
			continue
		}
		if path, isFile := strings.CutPrefix(v, "file://"); isFile {
			b, err := readToken(path)
			if err != nil {
				return "", name, fmt.Errorf("agent token: %s names a file that cannot be read: %w", name, err)
			}
			v = strings.TrimSpace(string(b))
			if v == "" {
				return "", name, fmt.Errorf("agent token: the file %s names (%s) is empty", name, path)
			}
			return v, name, nil
		}
		if v == "" {
			return "", name, fmt.Errorf("agent token: %s is set but empty", name)
		}
		return v, name, nil
	}
	return "", "", fmt.Errorf("agent token: none of %s is set", strings.Join(TokenVars, ", "))
}

// maxTokenSize bounds a token file: a token is a header value, and a path
// such as /dev/zero never ends.
const maxTokenSize = 64 << 10

func readToken(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenSize+1))
	if err == nil && len(b) > maxTokenSize {
		err = fmt.Errorf("larger than %d KiB, more than a token needs", maxTokenSize>>10)
	}
	return b, err
}

// Client returns c itself, whatever the region: the agent reads in the
// region it was started with.
func (c *Client) Client(context.Context, string) (resolve.API, error) { return c, nil }

// ParamClient refuses: the Secrets Manager Agent and the Lambda
// extension serve secrets, not Parameter Store parameters, and smexec
// does not read some values through the agent and others around it.
func (c *Client) ParamClient(context.Context, string) (resolve.ParamAPI, error) {
	return nil, &Error{
		Cause: "--agent reads Secrets Manager secrets only, not Parameter Store parameters",
		Hint:  "drop --agent to read parameters and secrets from AWS, or move this value into Secrets Manager",
		Err:   resolve.ErrNoParameters,
	}
}

// CloseIdleConnections lets a caller that builds a Client for each round
// of reads (each --refresh poll) drop the last round's connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// output is GetSecretValue's answer as the agent writes it. CreatedDate is
// left out: the agent writes it as a string, the Lambda extension as a
// number, and nothing here needs it.
type output struct {
	ARN           *string  `json:"ARN"`
	Name          *string  `json:"Name"`
	VersionId     *string  `json:"VersionId"`
	SecretString  *string  `json:"SecretString"`
	SecretBinary  *string  `json:"SecretBinary"`
	VersionStages []string `json:"VersionStages"`
}

// decodeOutput reads an answer as the SDK reads Secrets Manager's: each
// member by its exact name (encoding/json alone would take "secretstring"
// for SecretString), the last of duplicates.
func decodeOutput(body []byte) (output, error) {
	var o output
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return o, err
	}
	for name, field := range map[string]any{
		"ARN": &o.ARN, "Name": &o.Name, "VersionId": &o.VersionId,
		"SecretString": &o.SecretString, "SecretBinary": &o.SecretBinary, "VersionStages": &o.VersionStages,
	} {
		if raw, ok := members[name]; ok {
			if err := json.Unmarshal(raw, field); err != nil {
				return o, err
			}
		}
	}
	return o, nil
}

// GetSecretValue reads one secret version through the agent.
func (c *Client) GetSecretValue(ctx context.Context, in *sm.GetSecretValueInput, _ ...func(*sm.Options)) (*sm.GetSecretValueOutput, error) {
	q := url.Values{}
	q.Set("secretId", aws.ToString(in.SecretId))
	if in.VersionId != nil {
		q.Set("versionId", *in.VersionId)
	}
	if in.VersionStage != nil {
		q.Set("versionStage", *in.VersionStage)
	}
	body, err := c.get(ctx, c.url+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	o, err := decodeOutput(body)
	if err != nil {
		// Never the body, nor json's message about it: both may quote
		// the value.
		return nil, &Error{Cause: "the agent's answer is not GetSecretValue JSON", Hint: "check that " + c.base + " is the Secrets Manager Agent or the Lambda extension"}
	}
	out := &sm.GetSecretValueOutput{
		ARN:           o.ARN,
		Name:          o.Name,
		VersionId:     o.VersionId,
		VersionStages: o.VersionStages,
		SecretString:  o.SecretString,
	}
	if o.SecretBinary != nil {
		if out.SecretBinary, err = base64.StdEncoding.DecodeString(*o.SecretBinary); err != nil {
			return nil, &Error{Cause: "the agent's SecretBinary is not base64"}
		}
	}
	if out.SecretString == nil && out.SecretBinary == nil {
		return nil, &Error{Cause: "the agent's answer holds neither SecretString nor SecretBinary"}
	}
	if n := len(aws.ToString(out.SecretString)) + len(out.SecretBinary); n > resolve.MaxValueSize {
		return nil, &Error{
			Cause: fmt.Sprintf("the agent's value is %d bytes, more than the %d Secrets Manager holds", n, resolve.MaxValueSize),
			Hint:  "check that " + c.base + " is the Secrets Manager Agent or the Lambda extension",
		}
	}
	return out, nil
}

// BatchGetSecretValue is not part of the agent's API; the resolver is run
// without batches when it reads through the agent.
func (c *Client) BatchGetSecretValue(context.Context, *sm.BatchGetSecretValueInput, ...func(*sm.Options)) (*sm.BatchGetSecretValueOutput, error) {
	return nil, &Error{Cause: "the Secrets Manager Agent has no BatchGetSecretValue"}
}

// get sends one GET, retrying while the agent is not answering yet, and
// returns the body of a 200 answer or the error the answer stands for.
// An attempt that got no answer in its time is retried, on a fresh
// connection, for as long as ctx lasts; the others up to attempts times.
func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	wait := c.backoff
	var stalled error
	for try := 1; ; try++ {
		body, retry, err := c.once(ctx, u)
		var at *resolve.AttemptTimeoutError
		if errors.As(err, &at) {
			try-- // not answering at all is not an answer to count
			wait = c.backoff
			stalled = err
		}
		if stalled != nil && ctx.Err() != nil {
			return nil, stalled // says more than the deadline
		}
		if !retry || try >= attempts {
			return body, err
		}
		if resolve.Sleep(ctx, wait) != nil {
			// What kept the agent from answering says more than the
			// deadline that ended the wait.
			return nil, err
		}
		wait *= 2
	}
}

func (c *Client) once(ctx context.Context, u string) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set(TokenHeader, c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if e := c.stalled(err); e != nil {
			return nil, true, e
		}
		refused := errors.Is(err, syscall.ECONNREFUSED)
		cause := "cannot reach the agent at " + c.base
		if refused {
			cause += " (connection refused)"
		} else if inner := errors.Unwrap(err); inner != nil {
			cause += " (" + resolve.OneLine(inner.Error()) + ")" // without url.Error's repeat of the URL
		} else {
			cause += " (" + resolve.OneLine(err.Error()) + ")"
		}
		return nil, refused, &Error{Cause: cause, Hint: "start the Secrets Manager Agent (or the Lambda extension), or give its address with --agent URL", Err: err}
	}
	defer resp.Body.Close()
	// A secret is at most 64 KiB; the JSON around it adds little.
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if e := c.stalled(err); e != nil {
			return nil, true, e
		}
		// A body the connection cut short is worth another attempt.
		var cut *resolve.AnswerCutError
		return nil, errors.As(err, &cut), &Error{Cause: "reading the agent's answer: " + resolve.OneLine(err.Error()), Err: err}
	}
	if resp.StatusCode == http.StatusOK {
		return body, false, nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		retry = true
	}
	return nil, retry, c.answerError(resp.StatusCode, body)
}

// stalled is the error of an attempt that had no answer, or no whole
// answer, within its own deadline; nil for any other err.
func (c *Client) stalled(err error) *Error {
	var at *resolve.AttemptTimeoutError
	if !errors.As(err, &at) {
		return nil
	}
	cause := fmt.Sprintf("no answer from the agent at %s within %v", c.base, at.After.Round(100*time.Millisecond))
	if at.Body {
		cause = fmt.Sprintf("the answer from the agent at %s did not end within %v of its headers", c.base, at.After.Round(100*time.Millisecond))
	}
	return &Error{
		Cause: cause,
		Hint:  "each attempt waits at most a quarter of --timeout (2 s to 10 s) and is retried on a fresh connection: check that the agent is healthy, or raise --timeout",
		Err:   err,
	}
}

// answerError turns a failed answer into an error. The agent answers a
// failed GetSecretValue with Secrets Manager's own error JSON
// ({"__type": code, "message": …}), which becomes a smithy.APIError that
// the resolver explains like the SDK's; its own refusals (a bad token, a
// forwarded request, …) are plain text.
func (c *Client) answerError(status int, body []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Type != "" {
		code := e.Type
		if i := strings.LastIndexAny(code, "#:"); i >= 0 {
			code = code[i+1:]
		}
		msg := e.Message
		if msg == "" {
			msg = e.Message2
		}
		if code == "InternalFailure" && msg == "" {
			msg = fmt.Sprintf("the agent answered HTTP %d", status)
		}
		return &smithy.GenericAPIError{Code: code, Message: msg}
	}
	text := resolve.OneLine(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if json.Valid(body) {
		// JSON that is no error is an answer, which may hold the value:
		// only the agent's plain-text refusals are quoted.
		text = ""
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e2 := &Error{Cause: fmt.Sprintf("the agent answered HTTP %d: %s", status, text)}
	switch status {
	case http.StatusForbidden:
		e2.Cause = fmt.Sprintf("the agent refused the token from %s (HTTP 403: %s)", c.tokenFrom, text)
		e2.Hint = "set AWS_TOKEN to the agent's token, or to file://PATH of its token file (such as file:///var/run/awssmatoken); the agent takes the first of " + strings.Join(TokenVars, ", ") + " that is set"
	case http.StatusNotFound:
		e2.Hint = "check that " + c.base + " is the Secrets Manager Agent or the Lambda extension"
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		e2.Hint = "the agent is busy or still starting; retry, or raise --timeout"
	}
	return e2
}

// Error is a failure of the agent or of reaching it, said for an operator;
// the resolver shows its cause and hint as they are.
type Error struct {
	Cause string
	Hint  string
	Err   error
}

func (e *Error) Error() string { return e.Cause }

// RetryableError tells the resolver not to retry: the client retried
// what is worth retrying already.
func (e *Error) RetryableError() bool { return false }

func (e *Error) Unwrap() error                 { return e.Err }
func (e *Error) Explain() (cause, hint string) { return e.Cause, e.Hint }
