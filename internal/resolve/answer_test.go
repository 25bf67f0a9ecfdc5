package resolve

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	res := r.Fetch(ctx, []ref.Ref{{SecretID: "db"}})[0]
	if res.Err != nil {
		t.Fatalf("Fetch: %v", res.Err)
	}
	if got := *res.Secret.String; got != "right" || requests.Load() != 2 {
		t.Errorf("value %q after %d requests, want %q after 2", got, requests.Load(), "right")
	}
}

// A connection cut in the middle of an answer's body is a passing failure
// of the network path, retried like a reset before the answer; it is not
// an answer that "is not what Secrets Manager sends".
func TestAnswerCutShortIsRetried(t *testing.T) {
	var requests atomic.Int32
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		if requests.Add(1) <= 2 {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(goodAnswer[:40]))
			w.(http.Flusher).Flush()
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
			return
		}
		w.Write([]byte(goodAnswer))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := r.Fetch(ctx, []ref.Ref{{SecretID: "db"}})[0]
	if res.Err != nil {
		t.Fatalf("Fetch: %v", res.Err)
	}
	if got := *res.Secret.String; got != "right" || requests.Load() != 3 {
		t.Errorf("value %q after %d requests, want %q after 3", got, requests.Load(), "right")
	}
}

// Cut short on every attempt, the read fails at --timeout saying the
// connection was cut, not that the answer could not be decoded.
func TestAnswerCutShortEveryTime(t *testing.T) {
	r := sdkResolver(t, func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"SecretString":"SENTINEL`))
		w.(http.Flusher).Flush()
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
