package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
)

func testParamClient(url string, retryer func() aws.Retryer) *paramClient {
	cfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN"),
		HTTPClient:   http.DefaultClient,
		Retryer:      retryer,
		BaseEndpoint: aws.String(url),
	}
	return newParamClient(context.Background(), cfg, "eu-west-1")
}

// The request is what SSM takes: AWS JSON 1.1, GetParameters, the names
// WithDecryption, signed for ssm in the client's region with the
// session token.
func TestParamClientRequestAndAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct {
			Names          []string
			WithDecryption bool
		}
		json.Unmarshal(body, &in)
		switch {
		case r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters",
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1",
			!strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/ssm/aws4_request"),
			r.Header.Get("X-Amz-Security-Token") != "TOKEN",
			!in.WithDecryption || len(in.Names) != 2:
			http.Error(w, "bad request: "+string(body)+" "+r.Header.Get("Authorization"), 400)
			return
		}
		io.WriteString(w, `{"InvalidParameters":["/nope"],"Parameters":[{"ARN":"arn:aws:ssm:eu-west-1:123456789012:parameter/a","DataType":"text","LastModifiedDate":1.7E9,"Name":"/a","Selector":":2","Type":"SecureString","Value":"v","Version":2}]}`)
	}))
	defer srv.Close()
	out, err := testParamClient(srv.URL, nil).GetParameters(context.Background(), []string{"/a:2", "/nope"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Parameter{ARN: "arn:aws:ssm:eu-west-1:123456789012:parameter/a", Name: "/a", Selector: ":2", Type: "SecureString", Version: 2}
	if len(out.Parameters) != 1 || out.Parameters[0].Value == nil || *out.Parameters[0].Value != "v" {
		t.Fatalf("answer %+v", out)
	}
	got := out.Parameters[0]
	got.Value = nil
	if got != want || len(out.InvalidParameters) != 1 || out.InvalidParameters[0] != "/nope" {
		t.Errorf("answer %+v, %q", got, out.InvalidParameters)
	}
}

// Errors read as the SDK reads them, so the resolver's retries and
// hints work the same: the code without its namespace, the HTTP status;
// with the SDK's retries configured, throttles are retried and each
// attempt counted; an answer that is not JSON is never quoted.
func TestParamClientErrors(t *testing.T) {
	var answers []func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[0]
		answers = answers[1:]
		a(w)
	}))
	defer srv.Close()
	throttle := func(w http.ResponseWriter) {
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}`)
	}
	ok := func(w http.ResponseWriter) { io.WriteString(w, `{"Parameters":[]}`) }

	answers = []func(http.ResponseWriter){throttle}
	_, err := testParamClient(srv.URL, nil).GetParameters(context.Background(), []string{"/a"}, nil)
	if code, _ := apiError(err); code != "ThrottlingException" || !isThrottle(err) || httpStatus(err) != 400 || !retryable(err) {
		t.Errorf("throttle read as code %q, throttle %v, status %d", code, isThrottle(err), httpStatus(err))
	}

	answers = []func(http.ResponseWriter){throttle, throttle, ok}
	var attempts []error
	sdk := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 3; o.Backoff = retry.BackoffDelayerFunc(noDelay) })
	}
	if _, err := testParamClient(srv.URL, sdk).GetParameters(context.Background(), []string{"/a"}, func(err error) { attempts = append(attempts, err) }); err != nil {
		t.Fatalf("after two throttles: %v", err)
	}
	if len(attempts) != 3 || attempts[0] == nil || attempts[2] != nil {
		t.Errorf("attempts %v, want two throttles and a success", attempts)
	}

	answers = []func(http.ResponseWriter){throttle, throttle, throttle}
	_, err = testParamClient(srv.URL, sdk).GetParameters(context.Background(), []string{"/a"}, nil)
	var me *retry.MaxAttemptsError
	if !errors.As(err, &me) || me.Attempt != 3 {
		t.Errorf("three throttles: %v, want a MaxAttemptsError after 3", err)
	}

	answers = []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException:http://internal")
		w.WriteHeader(400)
		io.WriteString(w, `{"message":"not authorized"}`)
	}}
	_, err = testParamClient(srv.URL, nil).GetParameters(context.Background(), []string{"/a"}, nil)
	if code, msg := apiError(err); code != "AccessDeniedException" || msg != "not authorized" {
		t.Errorf("denied read as %q %q", code, msg)
	}

	answers = []func(http.ResponseWriter){func(w http.ResponseWriter) { io.WriteString(w, `<html>SENTINEL-VALUE`) }}
	_, err = testParamClient(srv.URL, nil).GetParameters(context.Background(), []string{"/a"}, nil)
	var de *smithy.DeserializationError
	if !errors.As(err, &de) || strings.Contains(err.Error(), "SENTINEL") {
		t.Errorf("undecodable answer: %v", err)
	}
}

func noDelay(int, error) (time.Duration, error) { return 0, nil }

func TestParamEndpoint(t *testing.T) {
	ctx := context.Background()
	cfg := aws.Config{}
	if got := paramEndpoint(ctx, cfg, "eu-west-1"); got != "https://ssm.eu-west-1.amazonaws.com" {
		t.Errorf("default: %s", got)
	}
	if got := paramEndpoint(ctx, cfg, "cn-north-1"); got != "https://ssm.cn-north-1.amazonaws.com.cn" {
		t.Errorf("China: %s", got)
	}
	cfg.ConfigSources = []any{config.EnvConfig{UseFIPSEndpoint: aws.FIPSEndpointStateEnabled}}
	if got := paramEndpoint(ctx, cfg, "us-east-1"); got != "https://ssm-fips.us-east-1.amazonaws.com" {
		t.Errorf("FIPS: %s", got)
	}
	cfg.BaseEndpoint = aws.String("http://base")
	if got := paramEndpoint(ctx, cfg, "us-east-1"); got != "http://base" {
		t.Errorf("AWS_ENDPOINT_URL: %s", got)
	}
	t.Setenv("AWS_ENDPOINT_URL_SSM", "http://ssm-only")
	if got := paramEndpoint(ctx, cfg, "us-east-1"); got != "http://ssm-only" {
		t.Errorf("AWS_ENDPOINT_URL_SSM: %s", got)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if got := paramEndpoint(ctx, cfg, "us-east-1"); got != "https://ssm-fips.us-east-1.amazonaws.com" {
		t.Errorf("ignoring configured endpoints: %s", got)
	}
}
