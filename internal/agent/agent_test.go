package agent

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/resolve"
)

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"http://localhost:2773", "http://LOCALHOST:2773/", "http://127.0.0.1:1", "http://127.9.9.9", "http://[::1]:2773", "https://localhost", "http://localhost:2773/prefix"} {
		if _, err := checkURL(u); err != nil {
			t.Errorf("checkURL(%q) = %v, want ok", u, err)
		}
	}
	for _, u := range []string{"", "localhost:2773", "ftp://localhost", "http://", "http://10.0.0.1:2773", "http://example.com", "http://localhost.example.com", "http://u:p@localhost", "http://localhost?x=1", "http://169.254.169.254"} {
		if _, err := checkURL(u); err == nil {
			t.Errorf("checkURL(%q) = ok, want an error", u)
		}
	}
}

func TestTokenOrderAndFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	os.WriteFile(file, []byte("  from-file\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	tests := []struct {
		name    string
		env     []string
		token   string
		from    string
		wantErr string
	}{
		{"AWS_TOKEN first", []string{"AWS_SESSION_TOKEN=s", "AWS_TOKEN=t", "AWS_CONTAINER_AUTHORIZATION_TOKEN=c"}, "t", "AWS_TOKEN", ""},
		{"then the session token", []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN=c", "AWS_SESSION_TOKEN=s"}, "s", "AWS_SESSION_TOKEN", ""},
		{"then the container token", []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN=c"}, "c", "AWS_CONTAINER_AUTHORIZATION_TOKEN", ""},
		{"a file, trimmed", []string{"AWS_TOKEN=file://" + file}, "from-file", "AWS_TOKEN", ""},
		{"a file for the session token", []string{"AWS_SESSION_TOKEN=file://" + file}, "from-file", "AWS_SESSION_TOKEN", ""},
		{"a missing file", []string{"AWS_TOKEN=file://" + dir + "/nope"}, "", "", "AWS_TOKEN names a file that cannot be read"},
		{"an empty file", []string{"AWS_TOKEN=file://" + empty}, "", "", "is empty"},
		{"set but empty wins, as in the agent", []string{"AWS_TOKEN=", "AWS_SESSION_TOKEN=s"}, "", "", "AWS_TOKEN is set but empty"},
		{"none", []string{"PATH=/bin"}, "", "", "none of AWS_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, from, err := Token(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "from-file") {
					t.Errorf("error %q shows the token", err)
				}
				return
			}
			if err != nil || token != tt.token || from != tt.from {
				t.Fatalf("Token = %q, %q, %v; want %q, %q", token, from, err, tt.token, tt.from)
			}
		})
	}
}

const tokenSentinel = "TOKEN-SENTINEL-9"

// agentFunc starts an HTTP server on loopback answering with h, and a
// client for it holding token tokenSentinel.
func agentFunc(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, []string{"AWS_SESSION_TOKEN=" + tokenSentinel})
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = time.Millisecond
	return c
}

func TestGetSecretValueSendsTheQueryAndToken(t *testing.T) {
	var got *http.Request
	c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Write([]byte(`{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:a/b-AbCdEf","Name":"a/b","VersionId":"v1","SecretString":"s3cr3t","VersionStages":["AWSPREVIOUS"],"CreatedDate":"1569534789.046"}`))
	})
	out, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("a/b+c d"), VersionStage: aws.String("AWSPREVIOUS"), VersionId: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodGet || got.URL.Path != "/secretsmanager/get" {
		t.Errorf("request %s %s", got.Method, got.URL.Path)
	}
	q := got.URL.Query()
	if q.Get("secretId") != "a/b+c d" || q.Get("versionStage") != "AWSPREVIOUS" || q.Get("versionId") != "v1" || len(q) != 3 {
		t.Errorf("query %v", q)
	}
	if got.Header.Get(TokenHeader) != tokenSentinel {
		t.Errorf("token header %q", got.Header.Get(TokenHeader))
	}
	if got.Header.Get("X-Forwarded-For") != "" {
		t.Error("X-Forwarded-For sent")
	}
	if *out.SecretString != "s3cr3t" || *out.ARN != "arn:aws:secretsmanager:us-east-1:123456789012:secret:a/b-AbCdEf" || *out.VersionId != "v1" || out.VersionStages[0] != "AWSPREVIOUS" {
		t.Errorf("out %+v", out)
	}
}

func TestGetSecretValueOmitsUnsetVersion(t *testing.T) {
	var q map[string][]string
	c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
		q = r.URL.Query()
		w.Write([]byte(`{"ARN":"a","Name":"n","VersionId":"v","SecretBinary":"AAEC/w==","CreatedDate":1569534789.046}`))
	})
	out, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 {
		t.Errorf("query %v, want secretId alone", q)
	}
	if string(out.SecretBinary) != "\x00\x01\x02\xff" || out.SecretString != nil {
		t.Errorf("binary %q, string %v", out.SecretBinary, out.SecretString)
	}
}

func TestAnswersThatAreNotASecret(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":         `SENTINEL-VALUE not json`,
		"bad base64":       `{"Name":"n","SecretBinary":"SENTINEL!!"}`,
		"no value":         `{"Name":"n"}`,
		"wrong shape":      `{"Name":"n","SecretString":["SENTINEL"]}`,
		"a health msg":     `healthy`,
		"too large":        `{"Name":"n","SecretString":"SENTINEL` + strings.Repeat("x", 65536) + `"}`,
		"binary too large": `{"Name":"n","SecretBinary":"` + base64.StdEncoding.EncodeToString(make([]byte, 65537)) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
			_, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "SENTINEL") {
				t.Errorf("error %q quotes the answer", err)
			}
		})
	}
}

// Secrets Manager's own limit comes through; one byte more is refused.
func TestSizeLimit(t *testing.T) {
	for n, ok := range map[int]bool{65536: true, 65537: false} {
		body := `{"Name":"n","SecretString":"` + strings.Repeat("x", n) + `"}`
		c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
		_, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), fmt.Sprintf("is %d bytes, more than the 65536", n)) {
			t.Errorf("a %d-byte value: %v", n, err)
		}
	}
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		code     string // of a smithy.APIError
		cause    string // of an *Error
		hint     string
		attempts int64
	}{
		{"not found", 400, `{"__type":"ResourceNotFoundException", "message":"Secrets Manager can't find the specified secret."}`, "ResourceNotFoundException", "", "", 1},
		{"denied, Message capitalised", 400, `{"__type":"AccessDeniedException","Message":"Access to KMS is not allowed"}`, "AccessDeniedException", "", "", 1},
		{"namespaced type", 400, `{"__type":"com.amazonaws.secretsmanager#DecryptionFailure","message":"x"}`, "DecryptionFailure", "", "", 1},
		{"internal failure", 500, `{"__type":"InternalFailure"}`, "InternalFailure", "", "", 1},
		{"bad token", 403, "Bad Token", "", "the agent refused the token from AWS_SESSION_TOKEN (HTTP 403: Bad Token)", "set AWS_TOKEN", 1},
		{"forwarded", 400, "Forwarded", "", "the agent answered HTTP 400: Forwarded", "", 1},
		{"not the agent", 404, "Not found", "", "the agent answered HTTP 404: Not found", "is the Secrets Manager Agent", 1},
		{"still starting, retried", 503, "Serving not enabled.", "", "the agent answered HTTP 503: Serving not enabled.", "still starting", attempts},
		{"timeout of the agent's call, retried", 504, `{"__type":"TimeoutError","message":"Timeout"}`, "TimeoutError", "", "", attempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			_, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
			if n.Load() != tt.attempts {
				t.Errorf("%d requests, want %d", n.Load(), tt.attempts)
			}
			if tt.code != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
					t.Fatalf("err = %#v, want API error %s", err, tt.code)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %#v, want *Error", err)
			}
			if e.Cause != tt.cause || !strings.Contains(e.Hint, tt.hint) {
				t.Errorf("cause %q hint %q; want %q, hint with %q", e.Cause, e.Hint, tt.cause, tt.hint)
			}
			if strings.Contains(e.Cause+e.Hint, tokenSentinel) {
				t.Error("the token shows")
			}
		})
	}
}

func TestRetriesUntilTheAgentAnswers(t *testing.T) {
	var n atomic.Int64
	c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			http.Error(w, "Serving not enabled.", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"Name":"n","SecretString":"v"}`))
	})
	out, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
	if err != nil || *out.SecretString != "v" || n.Load() != 3 {
		t.Fatalf("out %v err %v after %d requests", out, err, n.Load())
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New("http://"+addr, []string{"AWS_TOKEN=tok"})
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = time.Millisecond
	_, err = c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
	var e *Error
	if !errors.As(err, &e) || e.Cause != "cannot reach the agent at http://"+addr+" (connection refused)" || !strings.Contains(e.Hint, "--agent URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestBatchIsRefused(t *testing.T) {
	c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) { t.Error("a request was sent") })
	if _, err := c.BatchGetSecretValue(context.Background(), &sm.BatchGetSecretValueInput{}); err == nil {
		t.Fatal("no error")
	}
}

// The resolver explains the agent's answers as it does the SDK's: a
// missing secret gets the not-found hint, a refused token the agent's.
func TestResolverExplainsAgentErrors(t *testing.T) {
	c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("secretId") {
		case "missing":
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
		case "denied":
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"AccessDeniedException","message":"not authorized"}`))
		default:
			http.Error(w, "Bad Token", http.StatusForbidden)
		}
	})
	r := &resolve.Resolver{Clients: c, NoBatch: true}
	refs := []ref.Ref{mustRef(t, "missing"), mustRef(t, "denied"), mustRef(t, "other")}
	res := r.Fetch(context.Background(), refs)
	for i, want := range []struct{ msg, hint string }{
		{"secret missing: not found (ResourceNotFoundException)", "check the name"},
		{"secret denied: access denied (AccessDeniedException)", "secretsmanager:GetSecretValue"},
		{"secret other: the agent refused the token from AWS_SESSION_TOKEN (HTTP 403: Bad Token)", "set AWS_TOKEN"},
	} {
		err := res[i].Err
		if err == nil || err.Error() != want.msg || !strings.Contains(resolve.Hint(err), want.hint) {
			t.Errorf("%s: err %v, hint %q; want %q, hint with %q", refs[i].SecretID, err, resolve.Hint(err), want.msg, want.hint)
		}
	}
}

func mustRef(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// An agent that accepts a request and never answers is given up on after
// the attempt's own deadline, and the read is retried on a fresh
// connection while time remains.
func TestStalledAttemptIsRetriedOnAFreshConnection(t *testing.T) {
	var requests, conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		w.Write([]byte(`{"Name":"n","SecretString":"v"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, []string{"AWS_TOKEN=tok"})
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = time.Millisecond
	// 8 s left: each attempt gets 2 s.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	out, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("n")})
	if err != nil || *out.SecretString != "v" {
		t.Fatalf("out %v err %v", out, err)
	}
	if requests.Load() != 2 || conns.Load() != 2 {
		t.Errorf("%d requests on %d connections, want 2 on 2", requests.Load(), conns.Load())
	}
}

// An agent that never answers fails the read at the deadline, saying so.
func TestStalledAgentSaysSo(t *testing.T) {
	c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("n")})
	var e *Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Cause, "no answer from the agent at http://127.0.0.1:") || !strings.Contains(e.Hint, "fresh connection") {
		t.Fatalf("err = %v", err)
	}
}

// An answer whose body stalls after its headers is given up on at the
// attempt's deadline and read again, as one with no headers is; a body
// the connection cuts short is read again too.
func TestBodyStalledOrCutIsRetried(t *testing.T) {
	for _, kind := range []string{"stall", "cut"} {
		t.Run(kind, func(t *testing.T) {
			var requests atomic.Int32
			c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
				if requests.Add(1) == 1 {
					w.Header().Set("Content-Length", "100")
					w.WriteHeader(http.StatusOK)
					w.Write([]byte(`{"Name":"n","Secret`))
					w.(http.Flusher).Flush()
					if kind == "stall" {
						<-r.Context().Done()
						return
					}
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
					return
				}
				w.Write([]byte(`{"Name":"n","SecretString":"v"}`))
			})
			// 8 s left: each attempt gets 2 s.
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			out, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("n")})
			if err != nil || *out.SecretString != "v" || requests.Load() != 2 {
				t.Fatalf("out %v err %v after %d requests, want v after 2", out, err, requests.Load())
			}
		})
	}
}

// The agent reads a name in its own region, whatever --region says: its
// answer from there is not refused as another secret's. Another name is.
func TestAnswerFromTheAgentsRegion(t *testing.T) {
	name := "db"
	c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","Name":%q,"SecretString":"v"}`, name)
	})
	r := &resolve.Resolver{Clients: c, Region: "eu-west-1", NoBatch: true}
	res := r.Fetch(context.Background(), []ref.Ref{mustRef(t, "db")})[0]
	if res.Err != nil || *res.Secret.String != "v" {
		t.Fatalf("Fetch = %+v", res)
	}
	name = "other"
	res = r.Fetch(context.Background(), []ref.Ref{mustRef(t, "db")})[0]
	if res.Err == nil || !strings.Contains(res.Err.Error(), "is for another secret") {
		t.Fatalf("Fetch = %+v, want an answer for another secret refused", res)
	}
}

// An answer other than 200 whose body is JSON but no error (an answer,
// say, passed on with the wrong status) is not quoted: it may hold the
// value. Plain text, the agent's own refusals, still is.
func TestErrorAnswerThatIsJSONIsNotQuoted(t *testing.T) {
	for _, body := range []string{
		`{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:n-AbCdEf","Name":"n","SecretString":"SENTINEL"}`,
		`["SENTINEL"]`,
		`"SENTINEL"`,
	} {
		c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(body))
		})
		_, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
		if err == nil || strings.Contains(err.Error(), "SENTINEL") || !strings.Contains(err.Error(), "HTTP 500") {
			t.Errorf("%s: err = %v, want HTTP 500 without the body", body, err)
		}
	}
}

// The agent's answer is read as the SDK reads Secrets Manager's: member
// names exactly as GetSecretValue writes them, the last of duplicates.
// encoding/json alone would take "secretstring" for SecretString.
func TestAnswerKeysAreExact(t *testing.T) {
	for body, want := range map[string]string{
		`{"Name":"n","SecretString":"right","secretstring":"wrong"}`: "right",
		`{"Name":"n","SECRETSTRING":"wrong","SecretString":"right"}`: "right",
		`{"Name":"n","SecretString":"wrong","SecretString":"right"}`: "right",
		`{"Name":"n","secretString":"wrong"}`:                        "", // no value
	} {
		c := agentFunc(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
		out, err := c.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("n")})
		switch {
		case want == "" && err == nil:
			t.Errorf("%s: got %q, want no value", body, *out.SecretString)
		case want != "" && (err != nil || *out.SecretString != want):
			t.Errorf("%s: got %v, %v; want %q", body, out, err, want)
		}
	}
}
