package resolve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/smexec/smexec/internal/ref"
)

// sdkResolver is a Resolver with the real SDK's clients, pointed at a
// loopback endpoint served by h, with smexec's own retries (no
// AWS_MAX_ATTEMPTS).
func sdkResolver(t *testing.T, h http.HandlerFunc) *Resolver {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL,
		"AWS_REGION":                       "us-east-1",
		"AWS_ACCESS_KEY_ID":                "testing",
		"AWS_SECRET_ACCESS_KEY":            "testing",
		"AWS_CONFIG_FILE":                  "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE":      "/dev/null",
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_MAX_ATTEMPTS":                 "",
		"AWS_RETRY_MODE":                   "",
	} {
		t.Setenv(k, v)
	}
	return &Resolver{Clients: &SDKClients{}}
}

const goodAnswer = `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","Name":"db","VersionId":"v1","VersionStages":["AWSCURRENT"],"SecretString":"right"}`

// An answer whose headers came in time but whose body then stalls, or
// trickles a byte at a time, is given up on at the attempt's deadline and
// read again on a fresh connection, as a stall before the headers is: it
// must not hold the read until --timeout.
func TestAttemptDeadlineCoversTheBody(t *testing.T) {
	var requests atomic.Int32
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Length", "1000")
		if requests.Add(1) == 1 {
			w.WriteHeader(http.StatusOK)
			for {
				w.Write([]byte(" "))
				w.(http.Flusher).Flush()
				select {
				case <-req.Context().Done():
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}
		w.Header().Set("Content-Length", "")
		w.Write([]byte(goodAnswer))
	})
	wantRightAfter(t, r, 12*time.Second, &requests, 2)
}

// A connection cut in the middle of an answer's body is a passing failure
// of the network path, retried like a reset before the answer; it is not
// an answer that "is not what Secrets Manager sends".
func TestAnswerCutShortIsRetried(t *testing.T) {
	var requests atomic.Int32
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		if requests.Add(1) <= 2 {
			startAnswer(w, nil, goodAnswer[:40])
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
			return
		}
		w.Write([]byte(goodAnswer))
	})
	wantRightAfter(t, r, 10*time.Second, &requests, 3)
}

// Cut short on every attempt, the read fails at --timeout saying the
// connection was cut, not that the answer could not be decoded.
func TestAnswerCutShortEveryTime(t *testing.T) {
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		startAnswer(w, req, `{"SecretString":"SENTINEL`)
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := r.Fetch(ctx, []ref.Ref{{SecretID: "db"}})[0]
	if res.Err == nil {
		t.Fatal("Fetch succeeded")
	}
	msg := res.Err.Error()
	if !strings.Contains(msg, "was cut") || strings.Contains(msg, "decode") || strings.Contains(msg, "SENTINEL") {
		t.Errorf("error %q, want one that says the connection was cut", msg)
	}
	if !strings.Contains(msg, "attempts") {
		t.Errorf("error %q was not retried", msg)
	}
}

// An answer is checked against what was asked: a GetSecretValue answer
// for another secret (a cache in the path that keys on the URL alone
// answers every POST alike), another version than the one pinned, or
// with no value at all is refused, never handed to the mapping. The
// error never quotes the answer.
func TestAnswerIsTheOneAskedFor(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
	vid, otherVID := strings.Repeat("a", 32), strings.Repeat("b", 32)
	tests := []struct {
		name   string
		ref    ref.Ref
		answer string
		want   string // "" for the value SENTINEL
	}{
		{"no value at all", ref.Ref{SecretID: "db"}, `{}`, "holds neither SecretString nor SecretBinary"},
		{"an error body with HTTP 200", ref.Ref{SecretID: "db"}, `{"__type":"AccessDeniedException","Message":"no"}`, "holds neither SecretString nor SecretBinary"},
		{"another name", ref.Ref{SecretID: "db"}, `{"Name":"other","ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf","SecretString":"SENTINEL"}`, "is for another secret"},
		{"another account's ARN", ref.Ref{SecretID: arn, Region: "us-east-1"}, `{"Name":"db","ARN":"arn:aws:secretsmanager:us-east-1:999999999999:secret:db-AbCdEf","SecretString":"SENTINEL"}`, "is for another secret"},
		{"another region's ARN", ref.Ref{SecretID: arn, Region: "us-east-1"}, `{"Name":"db","ARN":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf","SecretString":"SENTINEL"}`, "is for another secret"},
		{"another partition's ARN", ref.Ref{SecretID: arn, Region: "us-east-1"}, `{"Name":"db","ARN":"arn:aws-cn:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","SecretString":"SENTINEL"}`, "is for another secret"},
		{"a name that matches, an ARN that does not", ref.Ref{SecretID: arn, Region: "us-east-1"}, `{"Name":"db","ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-XyZxYz","SecretString":"SENTINEL"}`, "is for another secret"},
		{"a name answered from another region", ref.Ref{SecretID: "db"}, `{"Name":"db","ARN":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf","SecretString":"SENTINEL"}`, "is for another secret"},
		{"no name, another secret's ARN", ref.Ref{SecretID: "db"}, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf","SecretString":"SENTINEL"}`, "is for another secret"},
		{"another version id", ref.Ref{SecretID: "db", VersionID: vid}, `{"Name":"db","VersionId":"` + otherVID + `","VersionStages":["AWSCURRENT"],"SecretString":"SENTINEL"}`, "is for another version"},
		{"another stage", ref.Ref{SecretID: "db", VersionStage: "AWSPREVIOUS"}, `{"Name":"db","VersionId":"` + otherVID + `","VersionStages":["AWSCURRENT"],"SecretString":"SENTINEL"}`, "is for another version"},

		{"the name", ref.Ref{SecretID: "db"}, `{"Name":"db","ARN":"` + arn + `","SecretString":"SENTINEL"}`, ""},
		{"the full ARN", ref.Ref{SecretID: arn, Region: "us-east-1"}, `{"Name":"db","ARN":"` + arn + `","SecretString":"SENTINEL"}`, ""},
		{"a partial ARN", ref.Ref{SecretID: strings.TrimSuffix(arn, "-AbCdEf"), Region: "us-east-1"}, `{"Name":"db","ARN":"` + arn + `","SecretString":"SENTINEL"}`, ""},
		{"the version id", ref.Ref{SecretID: "db", VersionID: vid}, `{"Name":"db","VersionId":"` + vid + `","VersionStages":["AWSPREVIOUS"],"SecretString":"SENTINEL"}`, ""},
		{"the stage", ref.Ref{SecretID: "db", VersionStage: "AWSPREVIOUS"}, `{"Name":"db","VersionId":"` + vid + `","VersionStages":["AWSPREVIOUS"],"SecretString":"SENTINEL"}`, ""},
		{"a name given with its suffix", ref.Ref{SecretID: "db-AbCdEf"}, `{"Name":"db","ARN":"` + arn + `","SecretString":"SENTINEL"}`, ""},
		{"an empty binary", ref.Ref{SecretID: "db"}, `{"Name":"db","SecretBinary":""}`, "empty"},
		{"no name, the ARN", ref.Ref{SecretID: "db"}, `{"ARN":"` + arn + `","SecretString":"SENTINEL"}`, ""},
		{"an empty string", ref.Ref{SecretID: "db"}, `{"Name":"db","SecretString":""}`, "empty"},
		{"an answer that names nothing", ref.Ref{SecretID: "db"}, `{"SecretString":"SENTINEL"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
				io.Copy(io.Discard, req.Body)
				w.Write([]byte(tt.answer))
			})
			res := r.Fetch(context.Background(), []ref.Ref{tt.ref})[0]
			switch tt.want {
			case "", "empty":
				if res.Err != nil {
					t.Fatalf("Fetch: %v", res.Err)
				}
				v, _ := Render(res.Secret, "")
				if want := map[string]string{"": "SENTINEL", "empty": ""}[tt.want]; string(v) != want {
					t.Errorf("value %q, want %q", v, want)
				}
				return
			}
			if res.Err == nil {
				t.Fatalf("Fetch gave %+v, want an error", res.Secret)
			}
			if msg := res.Err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "SENTINEL") || strings.Contains(Hint(res.Err), "SENTINEL") {
				t.Errorf("error %q, want one that says %q and never the value", msg, tt.want)
			}
		})
	}
}

// A BatchGetSecretValue entry with no value is refused for its secret.
func TestBatchEntryWithNoValue(t *testing.T) {
	f := (&fakeAPI{}).add("a", "A").add("b", "B")
	f.entries = func(ids []string) []types.SecretValueEntry {
		return []types.SecretValueEntry{
			{Name: aws.String("a"), ARN: aws.String(f.secrets[0].arn), VersionId: aws.String(currentID)},
			{Name: aws.String("b"), ARN: aws.String(f.secrets[1].arn), VersionId: aws.String(currentID), SecretString: aws.String("B")},
		}
	}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"us-east-1": f}}, Region: "us-east-1", retry: instant()}
	res := r.Fetch(context.Background(), []ref.Ref{{SecretID: "a"}, {SecretID: "b"}})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "holds neither SecretString nor SecretBinary") {
		t.Errorf("a: %+v, want an error saying the answer holds no value", res[0])
	}
	if res[1].Err != nil || *res[1].Secret.String != "B" {
		t.Errorf("b: %+v, want B", res[1])
	}
}

// A FIPS pseudo-region reads the region it names: an answer from there is
// the secret asked for.
func TestSameSecretFIPSRegion(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
	for _, region := range []string{"us-east-1", "fips-us-east-1", "us-east-1-fips", "US-EAST-1"} {
		if !sameSecret(key{secretID: "db", region: region}, "db", arn) {
			t.Errorf("region %s: refused an answer from us-east-1", region)
		}
	}
	if sameSecret(key{secretID: "db", region: "us-west-2"}, "db", arn) {
		t.Error("region us-west-2: took an answer from us-east-1")
	}
}

// A batch answer that lists one secret version twice with two values, or
// a version that is not AWSCURRENT, cannot say which value is current:
// the secret is read on its own.
func TestBatchEntriesThatDisagreeAreReadAlone(t *testing.T) {
	for name, entries := range map[string]func(f *fakeAPI) []types.SecretValueEntry{
		"one version, two values": func(f *fakeAPI) []types.SecretValueEntry {
			return []types.SecretValueEntry{
				{Name: ptr("a"), ARN: ptr(f.secrets[0].arn), VersionId: ptr(currentID), VersionStages: []string{"AWSCURRENT"}, SecretString: ptr("A")},
				{Name: ptr("a"), ARN: ptr(f.secrets[0].arn), VersionId: ptr(currentID), VersionStages: []string{"AWSCURRENT"}, SecretString: ptr("WRONG")},
				{Name: ptr("b"), ARN: ptr(f.secrets[1].arn), VersionId: ptr(currentID), VersionStages: []string{"AWSCURRENT"}, SecretString: ptr("B")},
			}
		},
		"not AWSCURRENT": func(f *fakeAPI) []types.SecretValueEntry {
			return []types.SecretValueEntry{
				{Name: ptr("a"), ARN: ptr(f.secrets[0].arn), VersionId: ptr(previousID), VersionStages: []string{"AWSPREVIOUS"}, SecretString: ptr("WRONG")},
				{Name: ptr("b"), ARN: ptr(f.secrets[1].arn), VersionId: ptr(currentID), VersionStages: []string{"AWSCURRENT"}, SecretString: ptr("B")},
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := (&fakeAPI{}).add("a", "A").add("b", "B")
			f.entries = func([]string) []types.SecretValueEntry { return entries(f) }
			r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"us-east-1": f}}, Region: "us-east-1", retry: instant()}
			res := r.Fetch(context.Background(), []ref.Ref{{SecretID: "a"}, {SecretID: "b"}})
			if v := value(res[0]); v != "A" {
				t.Errorf("a = %q (%v), want A", v, res[0].Err)
			}
			if v := value(res[1]); v != "B" {
				t.Errorf("b = %q (%v), want B", v, res[1].Err)
			}
		})
	}
}

// A single read of AWSCURRENT answered with a version whose stages leave
// AWSCURRENT out is refused.
func TestCurrentReadAnsweredWithAnotherVersion(t *testing.T) {
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Write([]byte(`{"Name":"db","VersionId":"v0","VersionStages":["AWSPREVIOUS"],"SecretString":"SENTINEL"}`))
	})
	res := r.Fetch(context.Background(), []ref.Ref{{SecretID: "db"}})[0]
	if res.Err == nil || !strings.Contains(res.Err.Error(), "is for another version than stage AWSCURRENT") {
		t.Fatalf("Fetch = %+v, want the answer refused", res)
	}
}

// An answer that stalls after its headers on every attempt fails at
// --timeout saying so, and naming the endpoint.
func TestAnswerBodyStalledEveryTime(t *testing.T) {
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		startAnswer(w, req, `{"SecretString":"SENTINEL`)
		<-req.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := r.Fetch(ctx, []ref.Ref{{SecretID: "db"}})[0]
	if res.Err == nil {
		t.Fatal("Fetch succeeded")
	}
	if msg := res.Err.Error(); !strings.Contains(msg, "the answer from http://127.0.0.1:") || !strings.Contains(msg, "did not end within 2s of its headers after") || strings.Contains(msg, "SENTINEL") {
		t.Errorf("error %q, want one that says the answer did not end, naming the endpoint", msg)
	}
}

// An endpoint that does not know BatchGetSecretValue (an emulator, or a
// proxy that lets only some operations through) is read from one secret
// at a time, as when the batch call is denied, rather than failing every
// secret of the batch.
func TestFetchBatchUnknownOperationFallsBack(t *testing.T) {
	for name, err := range map[string]error{
		"UnknownOperationException": &smithy.GenericAPIError{Code: "UnknownOperationException", Message: "unknown operation"},
		"InvalidAction":             &smithy.GenericAPIError{Code: "InvalidAction", Message: "not valid for this web service"},
		"HTTP 501": &smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "BatchGetSecretValue", Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusNotImplemented}},
			Err:      &smithy.GenericAPIError{Code: "InternalFailure", Message: "API action 'BatchGetSecretValue' not yet implemented"},
		}},
	} {
		t.Run(name, func(t *testing.T) {
			api := (&fakeAPI{}).add("a", "value a").add("b", "value b")
			api.batchErr = err
			r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, retry: instant()}
			got := r.Fetch(context.Background(), refs(t, "a", "b"))
			for i, want := range []string{"value a", "value b"} {
				if v := value(got[i]); v != want {
					t.Errorf("result %d = %q (%v), want %q", i, v, got[i].Err, want)
				}
			}
		})
	}
}

// Secrets Manager's answers carry a few hundred bytes of headers; an
// endpoint that sends megabytes of them is refused early, not buffered
// (up to 10 MiB each by default, times every request in flight).
func TestHugeHeadersAreRefused(t *testing.T) {
	var requests atomic.Int32
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		requests.Add(1)
		io.Copy(io.Discard, req.Body)
		for i := range 64 {
			w.Header().Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("x", 16<<10))
		}
		w.Write([]byte(goodAnswer))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := r.Fetch(ctx, []ref.Ref{{SecretID: "db"}})[0]
	if res.Err == nil {
		t.Fatal("an answer with 1 MiB of headers was taken")
	}
	if msg := res.Err.Error(); msg != "secret db in us-east-1: the answer to GetSecretValue has more than 64 KiB of headers, more than Secrets Manager sends" {
		t.Errorf("error %q", msg)
	}
	if requests.Load() != 1 {
		t.Errorf("%d requests, want 1: an endpoint that answers so is not retried", requests.Load())
	}
}

// A GetSecretValue answer holds one value of at most 65,536 bytes: under
// 400 KiB even with every byte escaped. One of 2 MiB is refused, not
// decoded whole (for each of up to --concurrency reads at once).
func TestGetAnswerCap(t *testing.T) {
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Write([]byte(`{"Name":"db","SecretString":"` + strings.Repeat("x", 2<<20) + `"}`))
	})
	res := r.Fetch(context.Background(), []ref.Ref{{SecretID: "db"}})[0]
	if res.Err == nil || res.Err.Error() != "secret db in us-east-1: the answer to GetSecretValue (HTTP 200) is larger than 1 MiB, more than Secrets Manager sends" {
		t.Fatalf("Fetch = %+v, want the answer refused", res)
	}
}

// wantRightAfter checks that r reads db as "right" within limit, after n
// requests.
func wantRightAfter(t *testing.T, r *Resolver, limit time.Duration, requests *atomic.Int32, n int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	res := r.Fetch(ctx, []ref.Ref{{SecretID: "db"}})[0]
	if res.Err != nil {
		t.Fatalf("Fetch: %v", res.Err)
	}
	if got := *res.Secret.String; got != "right" || requests.Load() != n {
		t.Errorf("value %q after %d requests, want %q after %d", got, requests.Load(), "right", n)
	}
}

// startAnswer reads the request (unless req is nil) and sends the headers
// of a 1000-byte answer and its first bytes, begin.
func startAnswer(w http.ResponseWriter, req *http.Request, begin string) {
	if req != nil {
		io.Copy(io.Discard, req.Body)
	}
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(begin))
	w.(http.Flusher).Flush()
}
