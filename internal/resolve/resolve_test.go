package resolve

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/smexec/smexec/internal/ref"
)

func refs(t *testing.T, ss ...string) []ref.Ref {
	t.Helper()
	rs := make([]ref.Ref, len(ss))
	for i, s := range ss {
		r, err := ref.Parse(s)
		if err != nil {
			t.Fatalf("ref.Parse(%q): %v", s, err)
		}
		rs[i] = r
	}
	return rs
}

// value is the string a result holds, or a note of why it holds none.
func value(res Result) string {
	switch {
	case res.Err != nil:
		return "error: " + res.Err.Error()
	case res.Secret == nil:
		return "no secret and no error"
	case res.Secret.String == nil:
		return "binary: " + string(res.Secret.Binary)
	}
	return *res.Secret.String
}

// batchModes runs f with BatchGetSecretValue on and off: what Fetch
// returns must not depend on which call read the secrets.
func batchModes(t *testing.T, f func(t *testing.T, noBatch bool)) {
	for _, noBatch := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoBatch=%v", noBatch), func(t *testing.T) { f(t, noBatch) })
	}
}

func TestFetchReadsEachVersionOnce(t *testing.T) {
	const (
		cur   = `{"user":"u","password":"CURRENT-s3cr3t"}`
		prev  = `{"user":"u","password":"PREVIOUS-s3cr3t"}`
		other = "OTHER-s3cr3t"
	)
	batchModes(t, func(t *testing.T, noBatch bool) {
		api := &fakeAPI{}
		api.addVersions("prod/db",
			version{id: currentID, stages: []string{"AWSCURRENT"}, str: ptr(cur)},
			version{id: previousID, stages: []string{"AWSPREVIOUS"}, str: ptr(prev)},
		)
		api.add("other", other)
		clients := &fakeClients{apis: map[string]*fakeAPI{"": api}}
		r := &Resolver{Clients: clients, NoBatch: noBatch}

		tests := []struct{ ref, want string }{
			{"prod/db:user", cur},
			{"prod/db:password", cur},
			{"prod/db", cur},
			{"prod/db::AWSCURRENT", cur},
			{"prod/db:user:AWSCURRENT:", cur},
			{"prod/db::AWSPREVIOUS", prev},
			{"prod/db:user:AWSPREVIOUS:", prev},
			{"prod/db:::" + previousID, prev},
			{"prod/db:password::" + previousID, prev},
			{"other", other},
			{"other:k", other},
			{"prod/db:", cur},
		}
		var in []string
		for _, tt := range tests {
			in = append(in, tt.ref)
		}
		got := r.Fetch(context.Background(), refs(t, in...))
		if len(got) != len(tests) {
			t.Fatalf("Fetch returned %d results for %d refs", len(got), len(tests))
		}
		for i, tt := range tests {
			if v := value(got[i]); v != tt.want {
				t.Errorf("result %d (%s) = %q, want %q", i, tt.ref, v, tt.want)
			}
		}
		want := map[read]int{
			{id: "prod/db"}:                        1,
			{id: "prod/db", stage: "AWSPREVIOUS"}:  1,
			{id: "prod/db", versionID: previousID}: 1,
			{id: "other"}:                          1,
		}
		if reads := api.readCounts(); !maps.Equal(reads, want) {
			t.Errorf("secret versions read:\n got %v\nwant %v (each once; \"\" and AWSCURRENT are one stage)", reads, want)
		}
	})
}

func TestFetchSharesOneFailure(t *testing.T) {
	api := &fakeAPI{fail: map[string]error{"prod/db": &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied"}}}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, NoBatch: true}
	got := r.Fetch(context.Background(), refs(t, "prod/db:a", "prod/db:b", "prod/db::AWSCURRENT"))
	for i, res := range got {
		if res.Err == nil || res.Secret != nil {
			t.Errorf("result %d = %q, want the error alone", i, value(res))
		}
	}
	if n := api.readCounts()[read{id: "prod/db"}]; n != 1 {
		t.Errorf("the failing secret was read %d times, want once", n)
	}
}

func TestFetchResultsInRefOrder(t *testing.T) {
	batchModes(t, func(t *testing.T, noBatch bool) {
		api := &fakeAPI{}
		var in []string
		for i := range 45 {
			name := fmt.Sprintf("app/s%02d", i)
			api.add(name, "value of "+name)
			in = append(in, name)
		}
		// Reversed, and each asked for twice, far apart.
		slices.Reverse(in)
		in = append(in, in...)
		r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, NoBatch: noBatch, Concurrency: 4}
		got := r.Fetch(context.Background(), refs(t, in...))
		if len(got) != len(in) {
			t.Fatalf("Fetch returned %d results for %d refs", len(got), len(in))
		}
		for i, name := range in {
			if v := value(got[i]); v != "value of "+name {
				t.Errorf("result %d = %q, want the value of %s", i, v, name)
			}
		}
		for rd, n := range api.readCounts() {
			if n != 1 {
				t.Errorf("%v read %d times, want once", rd, n)
			}
		}
		if n := len(api.readCounts()); n != 45 {
			t.Errorf("%d secrets read, want 45", n)
		}
	})
}

func TestFetchNothing(t *testing.T) {
	clients := &fakeClients{}
	r := &Resolver{Clients: clients}
	if got := r.Fetch(context.Background(), nil); len(got) != 0 {
		t.Errorf("Fetch(nil) = %v, want no results", got)
	}
	if rs := clients.regions(); len(rs) != 0 {
		t.Errorf("Fetch(nil) asked for clients in %q", rs)
	}
}

func TestFetchPicksClientByARNRegion(t *testing.T) {
	batchModes(t, func(t *testing.T, noBatch bool) {
		apis := map[string]*fakeAPI{}
		for _, region := range []string{"", "eu-west-1", "us-west-2", "cn-north-1"} {
			apis[region] = (&fakeAPI{region: region}).add("db", "value from region "+region)
		}
		clients := &fakeClients{apis: apis}
		r := &Resolver{Clients: clients, NoBatch: noBatch}
		tests := []struct{ ref, region string }{
			{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf", "eu-west-1"},
			{"arn:aws:secretsmanager:us-west-2:123456789012:secret:db", "us-west-2"},
			{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db-AbCdEf:k", "cn-north-1"},
			{"db", ""},
			{"db:k", ""},
		}
		var in []string
		for _, tt := range tests {
			in = append(in, tt.ref)
		}
		got := r.Fetch(context.Background(), refs(t, in...))
		for i, tt := range tests {
			if v, want := value(got[i]), "value from region "+tt.region; v != want {
				t.Errorf("%s = %q, want %q", tt.ref, v, want)
			}
		}
		if rs, want := clients.regions(), []string{"", "cn-north-1", "eu-west-1", "us-west-2"}; !slices.Equal(rs, want) {
			t.Errorf("clients asked for regions %q, want %q", rs, want)
		}
		for region, api := range apis {
			if n := len(api.readCounts()); n != 1 {
				t.Errorf("region %q: %d secrets read, want 1", region, n)
			}
		}
	})
}

// A caller allowed only GetSecretValue is denied BatchGetSecretValue; each
// secret is then read on its own, and every read succeeds.
func TestFetchBatchDeniedFallsBack(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("b", "value b").add("c", "value c")
	api.batchErr = &smithy.OperationError{
		ServiceID: "Secrets Manager", OperationName: "BatchGetSecretValue",
		Err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: secretsmanager:BatchGetSecretValue"},
	}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}}
	got := r.Fetch(context.Background(), refs(t, "a", "b", "c"))
	for i, want := range []string{"value a", "value b", "value c"} {
		if v := value(got[i]); v != want {
			t.Errorf("result %d = %q, want %q", i, v, want)
		}
	}
	if api.batches == 0 {
		t.Error("BatchGetSecretValue was never tried")
	}
	if api.gets != 3 {
		t.Errorf("%d GetSecretValue calls after the batch was denied, want 3", api.gets)
	}
}

// A BatchGetSecretValue call still throttled after the SDK's retries
// gives way to GetSecretValue, whose quota is a hundred times larger.
func TestFetchBatchThrottledFallsBack(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("b", "value b")
	api.batchErr = &retry.MaxAttemptsError{Attempt: 3, Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}}
	got := r.Fetch(context.Background(), refs(t, "a", "b"))
	for i, want := range []string{"value a", "value b"} {
		if v := value(got[i]); v != want {
			t.Errorf("result %d = %q, want %q", i, v, want)
		}
	}
	if api.batches != 1 || api.gets != 2 {
		t.Errorf("%d batch and %d single calls, want 1 and 2", api.batches, api.gets)
	}
}

// So does one whose retries stopped because the SDK's retry budget ran
// out, which joins its own error to the throttle.
func TestFetchBatchThrottledWithRetryQuotaSpentFallsBack(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("b", "value b")
	api.batchErr = errors.Join(&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
		fmt.Errorf("failed to get rate limit token, %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}))
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}}
	got := r.Fetch(context.Background(), refs(t, "a", "b"))
	for i, want := range []string{"value a", "value b"} {
		if v := value(got[i]); v != want {
			t.Errorf("result %d = %q, want %q", i, v, want)
		}
	}
}

// Other batch failures are the secrets' failures: no fallback.
func TestFetchBatchFailureDoesNotFallBack(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("b", "value b")
	api.batchErr = &smithy.GenericAPIError{Code: "InternalServiceError", Message: "broke"}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}}
	got := r.Fetch(context.Background(), refs(t, "a", "b"))
	for i := range got {
		if got[i].Err == nil || !strings.Contains(got[i].Err.Error(), "InternalServiceError") {
			t.Errorf("result %d = %v, want the batch's error", i, got[i].Err)
		}
	}
	if api.gets != 0 {
		t.Errorf("%d GetSecretValue calls after a failed batch, want 0", api.gets)
	}
}

func TestFetchBatchCalls(t *testing.T) {
	for _, tt := range []struct {
		noBatch     bool
		wantBatches int
		wantGets    int
	}{
		{noBatch: false, wantBatches: 3, wantGets: 0}, // 45 ids, 20 a call
		{noBatch: true, wantBatches: 0, wantGets: 45},
	} {
		t.Run(fmt.Sprintf("NoBatch=%v", tt.noBatch), func(t *testing.T) {
			api := &fakeAPI{}
			var in []string
			for i := range 45 {
				name := fmt.Sprintf("s%02d", i)
				api.add(name, name)
				in = append(in, name)
			}
			r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, NoBatch: tt.noBatch}
			got := r.Fetch(context.Background(), refs(t, in...))
			for i, name := range in {
				if v := value(got[i]); v != name {
					t.Errorf("result %d = %q, want %q", i, v, name)
				}
			}
			if api.batches != tt.wantBatches || api.gets != tt.wantGets {
				t.Errorf("%d BatchGetSecretValue and %d GetSecretValue calls, want %d and %d",
					api.batches, api.gets, tt.wantBatches, tt.wantGets)
			}
		})
	}
}

// A batch answers for secrets named by full or partial ARN with their full
// ARN and name; each answer must reach the reference that asked for it.
func TestFetchBatchMatchesARNs(t *testing.T) {
	api := (&fakeAPI{region: "us-east-1"}).add("a", "value a").add("b", "value b").add("b-c", "value b-c")
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"us-east-1": api}}}
	got := r.Fetch(context.Background(), refs(t,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:b",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:b-c",
	))
	for i, want := range []string{"value a", "value b", "value b-c"} {
		if v := value(got[i]); v != want {
			t.Errorf("result %d = %q, want %q", i, v, want)
		}
	}
}

func TestFetchBatchPerSecretErrors(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("denied", "DENIED-s3cr3t")
	api.fail = map[string]error{"denied": &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}}
	got := r.Fetch(context.Background(), refs(t, "a", "missing", "denied"))
	if v := value(got[0]); v != "value a" {
		t.Errorf("a = %q, want its value", v)
	}
	for i, want := range map[int]string{1: "not found", 2: "access denied"} {
		if got[i].Err == nil || !strings.Contains(got[i].Err.Error(), want) {
			t.Errorf("result %d = %q, want an error saying %q", i, value(got[i]), want)
		}
		if got[i].Err != nil && strings.Contains(got[i].Err.Error()+Hint(got[i].Err), "s3cr3t") {
			t.Errorf("result %d's error holds a secret value", i)
		}
	}
}

func TestFetchConcurrencyBound(t *testing.T) {
	const limit, n = 3, 20
	api := &fakeAPI{}
	var in []string
	for i := range n {
		name := fmt.Sprintf("s%02d", i)
		api.add(name, name)
		in = append(in, name)
	}
	var mu sync.Mutex
	inflight, peak := 0, 0
	entered, release := make(chan struct{}), make(chan struct{})
	api.hook = func() {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		inflight--
		mu.Unlock()
	}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, NoBatch: true, Concurrency: limit}
	done := make(chan []Result)
	go func() { done <- r.Fetch(context.Background(), refs(t, in...)) }()
	for range n {
		<-entered
		release <- struct{}{}
	}
	got := <-done
	for i, name := range in {
		if v := value(got[i]); v != name {
			t.Errorf("result %d = %q, want %q", i, v, name)
		}
	}
	if peak > limit || peak < 1 {
		t.Errorf("%d requests were in flight at once, want 1 to %d", peak, limit)
	}
}

func TestFetchErrors(t *testing.T) {
	const (
		failingValue = "FAILING-s3cr3t-value"
		siblingValue = "SIBLING-s3cr3t-value"
		siblingARN   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sibling-AbCdEf"
	)
	apiErr := func(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }
	// sdkErr wraps err the way the SDK hands a failed response back.
	sdkErr := func(status int, err error) error {
		return &smithy.OperationError{
			ServiceID: "Secrets Manager", OperationName: "GetSecretValue",
			Err: &awshttp.ResponseError{
				ResponseError: &smithyhttp.ResponseError{
					Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err,
				},
				RequestID: "req-1",
			},
		}
	}
	// gaveUp is err as the SDK hands it back after its retries ran out.
	gaveUp := func(attempts, status int, err error) error {
		op := sdkErr(status, err).(*smithy.OperationError)
		op.Err = &retry.MaxAttemptsError{Attempt: attempts, Err: op.Err}
		return op
	}
	// netErr is a request that got no answer, as net/http reports it.
	netErr := func(errno syscall.Errno) error {
		return &url.Error{Op: "Post", URL: "https://secretsmanager.us-east-1.amazonaws.com/", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}}
	}
	denied := apiErr("AccessDeniedException", "User: arn:aws:iam::123456789012:user/app is not authorized to perform: secretsmanager:GetSecretValue on resource: prod/db")
	bare403 := &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 403}}, Err: errors.New("x")}

	tests := []struct {
		name string
		ref  string
		// fail is the error the fake answers reads of the ref's secret id with;
		// nil means it answers as Secrets Manager would.
		fail       error
		expired    bool  // the context's deadline has passed
		clientsErr error // the answer for a client of the configured region
		wantCause  []string
		wantHint   []string
		wantCode   string // the API error code the error unwraps to
	}{
		{
			name: "access denied", ref: "prod/db", fail: denied,
			wantCause: []string{"access denied (AccessDeniedException)"},
			wantHint:  []string{"secretsmanager:GetSecretValue", "kms:Decrypt"},
			wantCode:  "AccessDeniedException",
		},
		{
			name: "access denied as the SDK wraps it", ref: "prod/db:password", fail: sdkErr(400, denied),
			wantCause: []string{"access denied (AccessDeniedException)"},
			wantHint:  []string{"secretsmanager:GetSecretValue", "kms:Decrypt"},
			wantCode:  "AccessDeniedException",
		},
		{
			name: "bare HTTP 403", ref: "prod/db", fail: bare403,
			wantCause: []string{"access denied (HTTP 403)"},
			wantHint:  []string{"secretsmanager:GetSecretValue", "kms:Decrypt"},
		},
		{
			name: "bare HTTP 403 as the SDK wraps it", ref: "prod/db", fail: sdkErr(403, errors.New("Forbidden")),
			wantCause: []string{"access denied (HTTP 403)"},
			wantHint:  []string{"secretsmanager:GetSecretValue"},
		},
		{
			name: "name not found", ref: "missing/db",
			wantCause: []string{"not found", "ResourceNotFoundException"},
			wantHint:  []string{"region"},
			wantCode:  "ResourceNotFoundException",
		},
		{
			name: "full ARN not found", ref: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-ZyXwVu",
			wantCause: []string{"not found"},
			wantHint:  []string{"region", "6-character suffix", "re-created"},
			wantCode:  "ResourceNotFoundException",
		},
		{
			name: "partial ARN not found", ref: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone",
			wantCause: []string{"not found"},
			wantHint:  []string{"region", "6-character suffix"},
		},
		{
			name: "no version at the stage", ref: "prod/db:password:AWSPREVIOUS",
			wantCause: []string{"no such version", "AWSPREVIOUS"},
			wantHint:  []string{"version"},
			wantCode:  "ResourceNotFoundException",
		},
		{
			name: "no version with the id", ref: "prod/db:::" + strings.Repeat("x", 32),
			wantCause: []string{"no such version", strings.Repeat("x", 32)},
			wantHint:  []string{"version"},
		},
		{
			name: "stage of a missing secret", ref: "missing/db::AWSPENDING",
			wantCause: []string{"not found"},
			wantHint:  []string{"version", "AWSPENDING"},
		},
		{
			name: "marked for deletion", ref: "prod/db",
			fail:      apiErr("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion."),
			wantCause: []string{"scheduled for deletion"},
			wantHint:  []string{"restore-secret"},
			wantCode:  "InvalidRequestException",
		},
		{
			name: "decryption failure", ref: "prod/db",
			fail:      apiErr("DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key."),
			wantCause: []string{"DecryptionFailure"},
			wantHint:  []string{"kms:Decrypt"},
			wantCode:  "DecryptionFailure",
		},
		{
			name: "deadline passed", ref: "prod/db", expired: true,
			wantCause: []string{"timed out"},
			wantHint:  []string{"--timeout"},
		},
		{
			name: "expired session token", ref: "prod/db",
			fail:      apiErr("ExpiredTokenException", "The security token included in the request is expired"),
			wantCause: []string{"expired", "ExpiredTokenException"},
			wantHint:  []string{"refresh"},
		},
		{
			name: "credentials not accepted", ref: "prod/db",
			fail:      apiErr("UnrecognizedClientException", "The security token included in the request is invalid."),
			wantCause: []string{"credentials were not accepted", "UnrecognizedClientException"},
			wantHint:  []string{"AWS_PROFILE"},
		},
		{
			name: "other service error on one line", ref: "prod/db",
			fail:      apiErr("InternalServiceError", "something\n  broke"),
			wantCause: []string{"InternalServiceError: something broke"},
			wantCode:  "InternalServiceError",
		},
		{
			name: "HTTP 503 with no JSON body, after the retries", ref: "prod/db",
			fail:      gaveUp(3, 503, errors.New("deserialization failed, failed to decode response body")),
			wantCause: []string{"Secrets Manager answered HTTP 503 Service Unavailable after 3 attempts"},
			wantHint:  []string{"AWS_MAX_ATTEMPTS", "unset it to retry until --timeout"},
		},
		{
			name: "HTTP 500 with a service error", ref: "prod/db",
			fail:      gaveUp(2, 500, apiErr("InternalServiceError", "something\n broke")),
			wantCause: []string{"HTTP 500 Internal Server Error (InternalServiceError: something broke) after 2 attempts"},
			wantCode:  "InternalServiceError",
		},
		{
			name: "throttled, after the retries", ref: "prod/db",
			fail:      gaveUp(3, 400, apiErr("ThrottlingException", "Rate exceeded")),
			wantCause: []string{"throttled by Secrets Manager (ThrottlingException) after 3 attempts"},
			wantHint:  []string{"AWS_MAX_ATTEMPTS", "unset it to retry until --timeout", "stagger starts"},
			wantCode:  "ThrottlingException",
		},
		{
			// The SDK's client-side retry budget ran out: its error is
			// joined to the throttle, which must still be recognised.
			name: "throttled, retry quota spent", ref: "prod/db",
			fail:      errors.Join(apiErr("ThrottlingException", "Rate exceeded"), fmt.Errorf("failed to get rate limit token, %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5})),
			wantCause: []string{"throttled by Secrets Manager (ThrottlingException), and the AWS SDK's client-side retry quota ran out"},
			wantHint:  []string{"not for lack of time"},
			wantCode:  "ThrottlingException",
		},
		{
			name: "HTTP 429 without a code", ref: "prod/db",
			fail:      sdkErr(429, errors.New("Too Many Requests")),
			wantCause: []string{"throttled by Secrets Manager (HTTP 429)"},
		},
		{
			name: "connection reset, after the retries", ref: "prod/db",
			fail:      gaveUp(3, 0, netErr(syscall.ECONNRESET)),
			wantCause: []string{"the connection to https://secretsmanager.us-east-1.amazonaws.com was reset before an answer after 3 attempts"},
			wantHint:  []string{"network path"},
		},
		{
			name: "connection refused", ref: "prod/db",
			fail:      gaveUp(2, 0, netErr(syscall.ECONNREFUSED)),
			wantCause: []string{"could not connect to https://secretsmanager.us-east-1.amazonaws.com (connection refused)"},
			wantHint:  []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER"},
		},
		{
			name: "KMS key disabled", ref: "prod/db",
			fail:      apiErr("KMSDisabledException", "key is disabled"),
			wantCause: []string{"KMS refused to decrypt the secret (KMSDisabledException)"},
			wantHint:  []string{"kms:Decrypt"},
		},
		{
			name: "no credentials", ref: "prod/db",
			fail:      &smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "GetSecretValue", Err: errors.New("failed to retrieve credentials: no EC2 IMDS role found")},
			wantCause: []string{"no AWS credentials"},
			wantHint:  []string{"AWS_PROFILE"},
		},
		{
			name: "no region for a name", ref: "prod/db", clientsErr: ErrNoRegion,
			wantCause: []string{"no AWS region"},
			wantHint:  []string{"--region", "ARN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The secret exists, with a value that must never surface, in the
			// configured region and in us-east-1 under its ARN.
			def := (&fakeAPI{}).addVersions("prod/db", version{id: currentID, stages: []string{"AWSCURRENT"}, str: ptr(failingValue)})
			east := (&fakeAPI{region: "us-east-1"}).add("sibling", siblingValue)
			if tt.fail != nil {
				def.fail = map[string]error{"prod/db": tt.fail}
			}
			// The errors are the SDK's as its retries end: it retries.
			clients := &fakeClients{apis: map[string]*fakeAPI{"": def, "us-east-1": east}, err: tt.clientsErr, selfRetrying: true}
			ctx := context.Background()
			if tt.expired {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, time.Unix(0, 0))
				defer cancel()
			}
			rf := refs(t, tt.ref, siblingARN)
			got := (&Resolver{Clients: clients, NoBatch: true}).Fetch(ctx, rf)

			res := got[0]
			if res.Err == nil || res.Secret != nil {
				t.Fatalf("result = %q, want the error alone", value(res))
			}
			var e *Error
			if !errors.As(res.Err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", res.Err, res.Err)
			}
			if e.SecretID != rf[0].SecretID || e.Region != rf[0].Region {
				t.Errorf("error names secret %q in %q, want %q in %q", e.SecretID, e.Region, rf[0].SecretID, rf[0].Region)
			}
			msg := res.Err.Error()
			if !strings.Contains(msg, rf[0].SecretID) {
				t.Errorf("error %q does not name the secret id", msg)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error %q spans lines", msg)
			}
			for _, w := range tt.wantCause {
				if !strings.Contains(e.Cause, w) {
					t.Errorf("cause %q does not say %q", e.Cause, w)
				}
			}
			for _, w := range tt.wantHint {
				if !strings.Contains(e.Hint, w) {
					t.Errorf("hint %q does not say %q", e.Hint, w)
				}
			}
			if h := Hint(fmt.Errorf("mapping DB=%s: %w", tt.ref, res.Err)); h != e.Hint {
				t.Errorf("Hint through a wrap = %q, want %q", h, e.Hint)
			}
			if tt.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(res.Err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Errorf("error does not unwrap to API error %s", tt.wantCode)
				}
			}
			for _, r := range got {
				if r.Err == nil {
					continue
				}
				if text := r.Err.Error() + " " + Hint(r.Err); strings.Contains(text, "s3cr3t") {
					t.Errorf("error %q holds a secret value", text)
				}
			}

			sib := got[1]
			if tt.expired {
				if sib.Err == nil {
					t.Errorf("sibling = %q after the deadline, want an error", value(sib))
				}
			} else if v := value(sib); v != siblingValue {
				t.Errorf("sibling = %q, want its value despite the other failure", v)
			}
		})
	}
}

// A per-attempt timeout inside the SDK fails with DeadlineExceeded while the
// run's own context is still live; it is a time-out all the same.
func TestClassifyDeadlineInsideSDK(t *testing.T) {
	err := &smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "GetSecretValue",
		Err: fmt.Errorf("request send failed: %w", context.DeadlineExceeded)}
	got := classify(context.Background(), err, key{secretID: "prod/db"})
	var e *Error
	if !errors.As(got, &e) || !strings.Contains(e.Cause, "timed out") {
		t.Errorf("classify = %v, want a time-out", got)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{SecretID: "prod/db", Cause: "not found"}, "secret prod/db: not found"},
		{&Error{SecretID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db", Region: "eu-west-1", Cause: "not found"},
			"secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:db in eu-west-1: not found"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if h := Hint(errors.New("plain")); h != "" {
		t.Errorf("Hint of a plain error = %q, want none", h)
	}
}
