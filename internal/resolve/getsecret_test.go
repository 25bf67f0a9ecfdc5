package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// testSecretsClient is a Secrets Manager client in eu-west-1 whose
// endpoint is url, with retryer (nil: one attempt).
func testSecretsClient(url string, retryer func() aws.Retryer) *secretsClient {
	return newSecretsClient(context.Background(), aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN"),
		HTTPClient:   http.DefaultClient,
		Retryer:      retryer,
		BaseEndpoint: aws.String(url),
	}, "eu-west-1")
}

// The request is what Secrets Manager takes: AWS JSON 1.1 to the
// endpoint's path, GetSecretValue with only the members asked for,
// signed for secretsmanager in the client's region with the session
// token; every member of the answer is read.
func TestGetSecretRequestAndAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in map[string]any
		json.Unmarshal(body, &in)
		auth := r.Header.Get("Authorization")
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/prefix":
			t.Errorf("request %s %s, want POST /prefix, as the SDK posts to an endpoint with a path", r.Method, r.URL.Path)
		case r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
			t.Errorf("target %q, content type %q", r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"))
		case !strings.Contains(auth, "/eu-west-1/secretsmanager/aws4_request") || !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/"):
			t.Errorf("Authorization %q", auth)
		case r.Header.Get("X-Amz-Security-Token") != "TOKEN":
			t.Errorf("session token %q", r.Header.Get("X-Amz-Security-Token"))
		case len(in) != 2 || in["SecretId"] != "s" || in["VersionStage"] != "AWSPREVIOUS":
			t.Errorf("body %s, want SecretId and VersionStage only", body)
		}
		w.Write([]byte(`{"ARN":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf","Name":"s",
			"VersionId":"v1","VersionStages":["AWSPREVIOUS"],"SecretBinary":"AAEC","CreatedDate":1.7e9,"Other":{"x":[1]}}`))
	}))
	defer srv.Close()
	var attempts []error
	out, err := testSecretsClient(srv.URL+"/prefix", nil).getSecret(context.Background(),
		&sm.GetSecretValueInput{SecretId: aws.String("s"), VersionStage: aws.String("AWSPREVIOUS")},
		func(err error) { attempts = append(attempts, err) })
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Name) != "s" || aws.ToString(out.VersionId) != "v1" || string(out.SecretBinary) != "\x00\x01\x02" ||
		out.SecretString != nil || len(out.VersionStages) != 1 || !out.CreatedDate.Equal(time.Unix(1.7e9, 0)) ||
		!strings.HasSuffix(aws.ToString(out.ARN), ":secret:s-AbCdEf") {
		t.Errorf("answer read as %+v", out)
	}
	if len(attempts) != 1 || attempts[0] != nil {
		t.Errorf("attempts told: %v, want one success", attempts)
	}
}

func TestDecodeSecretValue(t *testing.T) {
	for _, c := range []struct {
		answer string
		want   string // SecretString, or "<nil>"
		ok     bool
	}{
		{`{"SecretString":"v"}`, "v", true},
		{`{"SecretString":null}`, "<nil>", true},
		{``, "<nil>", true},     // an empty answer is an empty output, as in the SDK
		{`null`, "<nil>", true}, // so is null
		{`{"secretstring":"v"}`, "<nil>", true},
		{`{"SecretString":"a","SecretString":"b"}`, "b", true},
		{`{"Unknown":{"SecretString":"x"},"SecretString":"v"}`, "v", true},
		{`{"SecretString":5}`, "", false},
		{`{"SecretString":"v"} {"SecretString":"w"}`, "", false},
		{`["v"]`, "", false},
		{`{"SecretBinary":"not base64!"}`, "", false},
		{`{"CreatedDate":"yesterday"}`, "", false},
		{`{"VersionStages":"AWSCURRENT"}`, "", false},
		{`{"SecretString":"v"`, "", false},
		{"{\"SecretString\":\"v\"} \n", "v", true},
		{`{"CreatedDate":null,"VersionStages":null,"SecretString":"v"}`, "v", true},
		{`{"SecretString":"v",}`, "", false},
		{`{} []`, "", false},
		{`"v"`, "", false},
	} {
		out, err := decodeSecretValue([]byte(c.answer))
		if !c.ok {
			var de *smithy.DeserializationError
			if !errors.As(err, &de) {
				t.Errorf("%s: err %v, want a DeserializationError", c.answer, err)
			} else if strings.Contains(err.Error(), "v") && strings.Contains(c.answer, `"v"`) || strings.Contains(err.Error(), "yesterday") {
				t.Errorf("%s: error %q quotes the answer", c.answer, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.answer, err)
			continue
		}
		got := "<nil>"
		if out.SecretString != nil {
			got = *out.SecretString
		}
		if got != c.want {
			t.Errorf("%s: SecretString %q, want %q", c.answer, got, c.want)
		}
	}
}

func TestServiceError(t *testing.T) {
	for _, c := range []struct {
		header, body    string
		code, message   string
		notDeserialized bool
	}{
		{"", `{"__type":"ResourceNotFoundException","message":"gone"}`, "ResourceNotFoundException", "gone", false},
		{"", `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"gone"}`, "ResourceNotFoundException", "gone", false},
		{"", `{"code":"ThrottlingException"}`, "ThrottlingException", "UnknownError", false},
		{"", `{"__type":"A","code":"B"}`, "A", "UnknownError", false},
		{"", `{"code":5,"message":"not found"}`, "UnknownError", "not found", false},
		{"AccessDeniedException:http://internal.amazon.com/", `{"__type":"Other","message":"no"}`, "AccessDeniedException", "no", false},
		{"", ``, "UnknownError", "UnknownError", false},
		{"", `<html>502 proxy</html>`, "", "", true},
	} {
		resp := &http.Response{StatusCode: 400, Header: http.Header{}}
		if c.header != "" {
			resp.Header.Set("X-Amzn-ErrorType", c.header)
		}
		err := serviceError(resp, []byte(c.body))
		if c.notDeserialized {
			var de *smithy.DeserializationError
			if !errors.As(err, &de) || strings.Contains(err.Error(), "proxy") {
				t.Errorf("%s: %v, want a DeserializationError that does not quote the body", c.body, err)
			}
			continue
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != c.code || ae.ErrorMessage() != c.message {
			t.Errorf("%s %s: %v, want %s: %s", c.header, c.body, err, c.code, c.message)
		}
	}
}

// skewedServer is an endpoint whose clock is ahead of ours by ahead: it
// refuses a request signed more than 5 minutes from its time, as AWS
// does, and answers the rest. Its Date header shows its time.
func skewedServer(t *testing.T, ahead time.Duration, signedAt *[]time.Time) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Add(ahead)
		w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			t.Errorf("X-Amz-Date %q", r.Header.Get("X-Amz-Date"))
		}
		*signedAt = append(*signedAt, at)
		if d := now.Sub(at); d > 5*time.Minute || d < -5*time.Minute {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"InvalidSignatureException","message":"Signature expired"}`))
			return
		}
		w.Write([]byte(`{"Name":"s","SecretString":"v"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A clock an hour behind the service's: the first request is refused,
// its error says another attempt may pass (so the resolver retries it),
// and that attempt is signed at the service's time, as with the SDK.
func TestClockSkewIsCorrected(t *testing.T) {
	var signed []time.Time
	c := testSecretsClient(skewedServer(t, time.Hour, &signed).URL, nil)
	in := &sm.GetSecretValueInput{SecretId: aws.String("s")}
	_, err := c.GetSecretValue(context.Background(), in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" || !retryable(err) {
		t.Fatalf("first attempt: %v (retryable %v), want a retryable InvalidSignatureException", err, err != nil && retryable(err))
	}
	if _, err := c.GetSecretValue(context.Background(), in); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if d := signed[1].Sub(signed[0]); d < 55*time.Minute {
		t.Errorf("second request signed %v after the first, want about an hour", d)
	}

	// With the SDK's retries configured, the call retries by itself.
	signed = nil
	c = testSecretsClient(skewedServer(t, -time.Hour, &signed).URL, func() aws.Retryer { return retry.NewStandard(noBackoff) })
	if _, err := c.GetSecretValue(context.Background(), in); err != nil || len(signed) != 2 {
		t.Errorf("with the SDK's retries: %v after %d attempts, want success after 2", err, len(signed))
	}
}

// A signature refused while the clocks agree is the credentials' fault:
// no retry mends it.
func TestSignatureErrorWithoutSkewIsFinal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}`))
	}))
	defer srv.Close()
	_, err := testSecretsClient(srv.URL, nil).GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("s")})
	if err == nil || retryable(err) {
		t.Errorf("err %v, retryable %v: want a final error", err, err != nil && retryable(err))
	}
}

// countingRetryer is the SDK's standard retryer that counts the attempt
// tokens taken and released, as adaptive mode uses them to pace.
type countingRetryer struct {
	aws.RetryerV2
	taken    atomic.Int32
	released []error
}

func (r *countingRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	r.taken.Add(1)
	return func(err error) error {
		r.released = append(r.released, err)
		return nil
	}, nil
}

func TestAttemptTokensAreTaken(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
			return
		}
		w.Write([]byte(`{"Name":"s","SecretString":"v"}`))
	}))
	defer srv.Close()
	r := &countingRetryer{RetryerV2: retry.NewStandard(noBackoff)}
	c := testSecretsClient(srv.URL, func() aws.Retryer { return r })
	if _, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if r.taken.Load() != 2 || len(r.released) != 2 || !isThrottle(r.released[0]) || r.released[1] != nil {
		t.Errorf("tokens taken %d, released with %v: want 2, a throttle then success", r.taken.Load(), r.released)
	}
}

func noBackoff(o *retry.StandardOptions) {
	o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
}

// An endpoint with no path is posted to at "/".
func TestOperationURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://secretsmanager.us-east-1.amazonaws.com": "https://secretsmanager.us-east-1.amazonaws.com/",
		"http://127.0.0.1:4566/":                         "http://127.0.0.1:4566/",
		"https://proxy.example/prefix":                   "https://proxy.example/prefix",
		"https://proxy.example/prefix/":                  "https://proxy.example/prefix/",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := operationURL(*u); got != want {
			t.Errorf("operationURL(%s) = %s, want %s", in, got, want)
		}
	}
}

// A FIPS pseudo-region is the region with FIPS on, as the SDK's client
// takes it: its FIPS endpoint, signed for the region itself.
func TestFIPSPseudoRegion(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	for _, region := range []string{"fips-us-east-1", "us-east-1-fips"} {
		c := newSecretsClient(context.Background(), cfg, region)
		if c.get.endpoint != "https://secretsmanager-fips.us-east-1.amazonaws.com/" || c.get.region != "us-east-1" {
			t.Errorf("%s: endpoint %q signed for %q, want secretsmanager-fips.us-east-1 signed for us-east-1", region, c.get.endpoint, c.get.region)
		}
	}
	if c := newSecretsClient(context.Background(), cfg, "us-east-1"); c.get.endpoint != "https://secretsmanager.us-east-1.amazonaws.com/" {
		t.Errorf("us-east-1: endpoint %q", c.get.endpoint)
	}
}

// A credentials provider that fails says why, as the SDK said it: the
// error is not taken for credentials that are missing.
func TestCredentialsFailureKeepsItsCause(t *testing.T) {
	c := newSecretsClient(context.Background(), aws.Config{
		Region: "eu-west-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("credential_process: exit status 1: mfa device locked")
		}),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
	}, "eu-west-1")
	_, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("s")})
	e := classify(context.Background(), err, key{secretID: "s"}).(*Error)
	if !strings.Contains(e.Cause, "mfa device locked") {
		t.Errorf("cause %q, want the provider's error", e.Cause)
	}
}

// The retryer is made once a client, as the SDK makes it: adaptive
// mode's pacing is in it, and must be shared by every read in flight.
func TestRetryerMadeOnceAClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"Name":"s","SecretString":"v"}`))
	}))
	defer srv.Close()
	made := 0
	c := testSecretsClient(srv.URL, func() aws.Retryer {
		made++
		return retry.NewStandard()
	})
	for range 3 {
		if _, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
	}
	if made > 2 { // the SDK's own client makes one too
		t.Errorf("retryer made %d times for 3 calls, want once for the calls", made)
	}
}
