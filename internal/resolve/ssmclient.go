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
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// paramClient is Parameter Store's GetParameters, and nothing else,
// spoken directly: the AWS JSON 1.1 protocol, signed with the SDK's
// SigV4 signer and credentials, through the SDK's configured HTTP client
// (attempt deadlines included). The SDK's SSM module would link code and
// schemas for SSM's 150 operations, 4.3 MB of binary and 1.3 ms of
// package initialisation on every start, run or not a parameter is read
// (docs/performance.md); one operation does not earn that.
type paramClient struct {
	cfg      aws.Config
	region   string
	endpoint string
	signer   *v4.Signer
}

// paramEndpoint is where region's Parameter Store is reached, resolved
// as the SDK resolves a service's endpoint: AWS_ENDPOINT_URL_SSM or the
// profile's services section, then AWS_ENDPOINT_URL or endpoint_url,
// then the region's public endpoint (its FIPS one with
// AWS_USE_FIPS_ENDPOINT).
func paramEndpoint(ctx context.Context, cfg aws.Config, region string) string {
	if !strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		for _, src := range cfg.ConfigSources {
			if p, ok := src.(interface {
				GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
			}); ok {
				if v, found, err := p.GetServiceBaseEndpoint(ctx, "SSM"); found && err == nil && v != "" {
					return v
				}
			}
		}
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			return *cfg.BaseEndpoint
		}
	}
	host := "ssm"
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(interface {
			GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
		}); ok {
			if v, found, err := p.GetUseFIPSEndpoint(ctx); found && err == nil && v == aws.FIPSEndpointStateEnabled {
				host = "ssm-fips"
			}
		}
	}
	return "https://" + host + "." + region + "." + dnsSuffix(region)
}

// dnsSuffix is the DNS suffix of the partition region belongs to.
func dnsSuffix(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-isob-"):
		return "sc2s.sgov.gov"
	case strings.HasPrefix(region, "us-isof-"):
		return "csp.hci.ic.gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "c2s.ic.gov"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "cloud.adc-e.uk"
	}
	return "amazonaws.com"
}

// wireParameter is a parameter in GetParameters' answer.
type wireParameter struct {
	ARN      *string
	Name     *string
	Selector *string
	Type     string
	Value    *string
	Version  int64
}

// GetParameters makes one GetParameters call with WithDecryption: one
// attempt, or, where the user configured the SDK's retries
// (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE), the attempts the SDK's retryer
// allows, telling onAttempt the outcome of each.
func (c *paramClient) GetParameters(ctx context.Context, names []string, onAttempt func(error)) (*ParamsOutput, error) {
	body, err := json.Marshal(struct {
		Names          []string
		WithDecryption bool
	}{names, true})
	if err != nil {
		return nil, err
	}
	var retryer aws.Retryer = aws.NopRetryer{}
	if c.cfg.Retryer != nil {
		retryer = c.cfg.Retryer()
	}
	for attempt := 1; ; attempt++ {
		out, err := c.once(ctx, body)
		if onAttempt != nil {
			onAttempt(err)
		}
		if err == nil {
			return out, nil
		}
		err = &smithy.OperationError{ServiceID: "SSM", OperationName: opParams, Err: err}
		if ctx.Err() != nil || !retryer.IsErrorRetryable(err) {
			return nil, err
		}
		if attempt >= retryer.MaxAttempts() {
			if retryer.MaxAttempts() > 1 {
				return nil, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
			}
			return nil, err
		}
		d, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, err
		}
		if Sleep(ctx, d) != nil {
			return nil, err
		}
	}
}

func (c *paramClient) once(ctx context.Context, body []byte) (*ParamsOutput, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameters")
	req.Header.Set("User-Agent", "smexec")
	if c.cfg.Credentials == nil {
		return nil, errors.New("failed to retrieve credentials: no credentials provider")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", c.region, time.Now()); err != nil {
		return nil, err
	}
	client := c.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// As the SDK marks it: a request that got no answer, which its
		// retry checks judge by the cause.
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(data) > maxAnswer {
		err = errAnswerTooLarge
	}
	if err != nil {
		return nil, &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err}
	}
	if resp.StatusCode >= 300 {
		return nil, &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: apiErrorOf(resp, data)}
	}
	var wire struct {
		InvalidParameters []string
		Parameters        []wireParameter
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		// Not quoted: the answer may hold values.
		return nil, &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp},
			Err: &smithy.DeserializationError{Err: errors.New("the answer is not GetParameters' JSON")}}
	}
	out := &ParamsOutput{InvalidParameters: wire.InvalidParameters}
	for _, p := range wire.Parameters {
		out.Parameters = append(out.Parameters, Parameter{
			ARN: aws.ToString(p.ARN), Name: aws.ToString(p.Name), Selector: aws.ToString(p.Selector), Type: p.Type, Value: p.Value, Version: p.Version,
		})
	}
	return out, nil
}

// apiErrorOf reads an AWS JSON error answer: its code from
// X-Amzn-ErrorType or __type (without a namespace before '#' or a
// detail after ':'), and its message.
func apiErrorOf(resp *http.Response, data []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	json.Unmarshal(data, &e)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = e.Type
	}
	if code == "" {
		code = e.Code
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	code, _, _ = strings.Cut(code, ":")
	msg := e.Message
	if msg == "" {
		msg = e.MessageU
	}
	if code == "" {
		return &smithy.GenericAPIError{Code: "UnknownError", Message: http.StatusText(resp.StatusCode)}
	}
	return &smithy.GenericAPIError{Code: code, Message: msg}
}
