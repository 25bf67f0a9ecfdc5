package resolve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
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
)

// tlsEndpoint serves GetSecretValue over TLS with httptest's own CA and
// sets the environment of an SDK client that reaches it; it returns the
// CA's PEM file.
func tlsEndpoint(t *testing.T) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"v","VersionId":"1"}`))
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_CA_BUNDLE": "", "AWS_PROFILE": "", "AWS_MAX_ATTEMPTS": "", "AWS_RETRY_MODE": "",
	} {
		t.Setenv(k, v)
	}
	return ca
}

func getSecret(c *SDKClients) error {
	cl, err := c.Client(context.Background(), "")
	if err != nil {
		return err
	}
	_, err = cl.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String("s")})
	return err
}

// AWS_CA_BUNDLE is part of the standard configuration: the SDK applies it
// only to its own HTTP client, and loading the configuration with another
// failed ("unable to add custom RootCAs HTTPClient").
func TestCABundleIsTrusted(t *testing.T) {
	ca := tlsEndpoint(t)
	t.Setenv("AWS_CA_BUNDLE", ca)
	c := &SDKClients{}
	if err := getSecret(c); err != nil {
		t.Fatalf("with AWS_CA_BUNDLE naming the endpoint's CA: %v", err)
	}
	// The requests still go through smexec's client: per-attempt
	// deadlines, no redirects.
	hc, ok := c.cfg.HTTPClient.(*http.Client)
	if !ok || hc.CheckRedirect == nil {
		t.Fatalf("HTTP client is %T, not smexec's", c.cfg.HTTPClient)
	}
}

func TestCABundleFailsClosed(t *testing.T) {
	tlsEndpoint(t)
	// Another CA: httptest's servers all share one certificate.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", ca)
	t.Setenv("AWS_MAX_ATTEMPTS", "1") // the SDK's retryer, one attempt: no resolver here to bound retries
	err = getSecret(&SDKClients{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a CA bundle that does not hold the endpoint's CA: got %v, want a certificate error", err)
	}
}

func TestNeedsSystemRoots(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want bool
	}{
		{nil, true},
		{[]string{"AWS_CA_BUNDLE=/ca.pem"}, false},
		{[]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:1"}, false},
		{[]string{"AWS_ENDPOINT_URL=HTTP://127.0.0.1:1"}, false},
		{[]string{"AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_ENDPOINT_URL_SECRETS_MANAGER=https://sm.example"}, true},
		{[]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER=https://sm.example"}, true},
	} {
		if got := needsSystemRoots(tc.env); got != tc.want {
			t.Errorf("needsSystemRoots(%q) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// Prepare plans the connection of the default region's endpoint, Connect
// opens it, and the first request uses it: one connection in all.
func TestPrepareConnectsAhead(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"v","VersionId":"1"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_CA_BUNDLE": "", "AWS_PROFILE": "", "AWS_MAX_ATTEMPTS": "", "AWS_RETRY_MODE": "",
		"HTTP_PROXY": "", "HTTPS_PROXY": "", "http_proxy": "", "https_proxy": "",
	} {
		t.Setenv(k, v)
	}
	c := &SDKClients{}
	c.plan() // what Prepare starts in the background
	if c.pre == nil || c.pre.started.Load() {
		t.Fatal("no connection planned, or opened before Connect")
	}
	c.Connect() // what the resolver does as it starts
	<-c.pre.ready
	if err := getSecret(c); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want the one opened ahead", n)
	}
	if c.pre != nil {
		t.Error("the connection opened ahead was not taken")
	}
}

// A connection opened ahead that nothing takes is closed after
// predialTTL; one for another address is left alone by a dial.
func TestPredialedConnectionIsTakenOnce(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	p := &predialed{addr: "h:443", ready: make(chan struct{}), conn: a}
	p.started.Store(true)
	close(p.ready)
	var dials atomic.Int32
	c := &SDKClients{pre: p, dial: func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("dialled")
	}}
	if _, err := c.dialContext(context.Background(), "tcp", "other:443"); err == nil || c.pre != p {
		t.Fatalf("another address: err %v, pre %v", err, c.pre)
	}
	if conn, err := c.dialContext(context.Background(), "tcp", "h:443"); err != nil || conn != a {
		t.Fatalf("first dial: %v %v, want the connection opened ahead", conn, err)
	}
	if _, err := c.dialContext(context.Background(), "tcp", "h:443"); err == nil || dials.Load() != 2 {
		t.Fatalf("second dial: %v after %d dials, want a new dial", err, dials.Load())
	}
}

// An attempt that ends while the connection ahead is still being opened
// fails as a dial would, and the connection is closed when it comes.
func TestPredialAbandonedByTheAttempt(t *testing.T) {
	p := &predialed{addr: "h:443", ready: make(chan struct{})}
	p.started.Store(true)
	c := &SDKClients{pre: p}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.dialContext(ctx, "tcp", "h:443"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the attempt's end", err)
	}
	a, b := net.Pipe()
	p.conn = a
	close(p.ready)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the late connection was not closed: %v", err)
	}
}

// A planned connection that was never opened is not waited for: the
// request dials, and the plan is dropped.
func TestPlannedButNotConnected(t *testing.T) {
	p := &predialed{addr: "h:443", ready: make(chan struct{})}
	c := &SDKClients{pre: p, dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("dialled")
	}}
	if _, err := c.dialContext(context.Background(), "tcp", "h:443"); err == nil || err.Error() != "dialled" {
		t.Fatalf("got %v, want a new dial", err)
	}
	if c.pre != nil {
		t.Error("the plan was kept")
	}
}
