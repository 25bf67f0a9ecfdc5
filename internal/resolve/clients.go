package resolve

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
)

// SDKClients builds real Secrets Manager clients from the AWS SDK's
// standard configuration (environment, shared files, endpoint overrides
// such as AWS_ENDPOINT_URL_SECRETS_MANAGER). Nothing is loaded until the
// first client is asked for, and each region's client is built once.
type SDKClients struct {
	loadOnce sync.Once
	cfg      aws.Config
	cfgErr   error
	// userRetries: the user set AWS_MAX_ATTEMPTS or AWS_RETRY_MODE (in
	// the environment or the profile), and the SDK's retryer does as told.
	userRetries bool

	mu      sync.Mutex
	clients map[string]API
	params  map[string]ParamAPI

	// dial and proxy are the transport's own; pre is the connection
	// Prepare plans and Connect opens; connect is set once Connect is
	// called.
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	proxy   func(*http.Request) (*url.URL, error)
	pre     *predialed
	connect bool
}

// ErrNoRegion is returned when a name-only reference needs a region and
// none is configured.
var ErrNoRegion = errors.New("no AWS region configured for a secret given by name")

// Prepare starts, in the background, the work every run that reads a
// secret does before its first request and that needs nothing from the
// command line: loading the SDK's configuration (environment, shared
// files) and, where the endpoint is HTTPS, the system's root
// certificates, which Go loads on the first TLS handshake (12-18 ms on a
// Debian image, which keeps a bundle and a folder of the same roots).
// Both then overlap with parsing the command line, and the roots also with
// the connection's TCP and TLS handshakes. Nothing changes but when the
// work is done: the configuration is loaded once, here or on first use,
// and an error is reported where it is used, as before; the roots are
// Go's own, loaded once (crypto/x509.SystemCertPool), and left alone when
// AWS_CA_BUNDLE names other roots or the endpoint is plain HTTP. A run
// that needs neither (--help, a local source) only spent the CPU.
//
// Once the configuration is loaded, it also builds the client of the
// default region and resolves its endpoint, with the SDK's own resolver
// and parameters, for Connect. Nothing goes on the network here.
func (c *SDKClients) Prepare(environ []string) {
	go c.plan()
	if !needsSystemRoots(environ) {
		return
	}
	go x509.SystemCertPool()
}

// Connect opens, in the background, the TCP connection to the default
// region's endpoint that Prepare planned (the name looked up, the
// handshake made), for the first request to that address to take instead
// of dialling: the resolver calls it as it starts to fetch, so that the
// connection overlaps with planning the reads and the SDK's work on the
// first request. Nothing is opened through a proxy, nor before a run is
// about to read from Secrets Manager; a connection no request has taken
// within predialTTL is closed.
func (c *SDKClients) Connect() {
	c.mu.Lock()
	c.connect = true
	p := c.pre
	c.mu.Unlock()
	if p != nil {
		p.start()
	}
}

// predialTTL is how long a connection opened ahead waits to be used.
const predialTTL = 10 * time.Second

// predialed is a connection opened ahead of the first request.
type predialed struct {
	addr    string
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	started atomic.Bool
	ready   chan struct{} // closed once conn or err is set
	once    sync.Once     // hands conn out, or closes it, once
	conn    net.Conn
	err     error
}

// start opens the connection, once.
func (p *predialed) start() {
	if p.started.Swap(true) {
		return
	}
	go func() {
		p.conn, p.err = p.dial(context.Background(), "tcp", p.addr)
		close(p.ready)
		time.AfterFunc(predialTTL, func() {
			p.once.Do(func() {
				if p.conn != nil {
					p.conn.Close()
				}
			})
		})
	}()
}

// plan loads the configuration, builds the default region's client and
// resolves the address Connect opens.
func (c *SDKClients) plan() {
	ctx := context.Background()
	cfg, err := c.load(ctx)
	if err != nil || cfg.Region == "" || c.dial == nil {
		return
	}
	cl, err := c.Client(ctx, cfg.Region)
	if err != nil {
		return
	}
	sc, ok := cl.(*secretsClient)
	if !ok || sc.endpoint == nil {
		return
	}
	ep := sc.endpoint
	if ep.URI.Scheme != "https" && ep.URI.Scheme != "http" {
		return
	}
	if c.proxy != nil {
		if u, err := c.proxy(&http.Request{URL: &ep.URI}); err != nil || u != nil {
			return
		}
	}
	port := ep.URI.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[ep.URI.Scheme]
	}
	p := &predialed{addr: net.JoinHostPort(ep.URI.Hostname(), port), dial: c.dial, ready: make(chan struct{})}
	c.mu.Lock()
	c.pre = p
	connect := c.connect
	c.mu.Unlock()
	if connect {
		p.start()
	}
}

// dialContext is the transport's dial: the connection opened ahead for
// addr, for the first request that asks, else a new one (also when the
// planned one was never opened, which it then never is). A request whose
// attempt ends while that connection is still being opened fails as a
// dial would (and is retried on a new one).
func (c *SDKClients) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	p := c.pre
	if p != nil && p.addr == addr && network == "tcp" {
		c.pre = nil
	} else {
		p = nil
	}
	c.mu.Unlock()
	if p != nil && p.started.Load() {
		select {
		case <-p.ready:
			var conn net.Conn
			p.once.Do(func() { conn = p.conn })
			if conn != nil {
				return conn, nil
			}
		case <-ctx.Done():
			go func() {
				<-p.ready
				p.once.Do(func() {
					if p.conn != nil {
						p.conn.Close()
					}
				})
			}()
			return nil, ctx.Err()
		}
	}
	return c.dial(ctx, network, addr)
}

// needsSystemRoots reports whether Secrets Manager will be reached over
// TLS verified against the system's roots: no AWS_CA_BUNDLE, and no
// endpoint override (AWS_ENDPOINT_URL_SECRETS_MANAGER, else
// AWS_ENDPOINT_URL) in plain HTTP.
func needsSystemRoots(environ []string) bool {
	var ca, endpoint, general string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_CA_BUNDLE":
			ca = v
		case "AWS_ENDPOINT_URL_SECRETS_MANAGER":
			endpoint = v
		case "AWS_ENDPOINT_URL":
			general = v
		}
	}
	if endpoint == "" {
		endpoint = general
	}
	return ca == "" && !strings.HasPrefix(strings.ToLower(endpoint), "http://")
}

func (c *SDKClients) load(ctx context.Context) (aws.Config, error) {
	c.loadOnce.Do(func() {
		// The SDK keeps 10 idle connections a host; a run with more reads
		// in flight than that would close the rest after each wave and
		// connect anew for the next.
		bc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = DefaultConcurrency
			t.MaxResponseHeaderBytes = MaxAnswerHeaders
			// A request is under 1 KB but for a batch's names, an
			// answer's headers a few hundred bytes, and a larger body
			// is read past the buffer: 4 KB each way (the default) held
			// 6 KB more a connection, 0.3 MB with 64 reads in flight.
			t.ReadBufferSize, t.WriteBufferSize = 1<<10, 1<<10
			c.dial, c.proxy = t.DialContext, t.Proxy
			t.DialContext = c.dialContext
		})
		// The SDK's own log lines (such as its IMDS fallback notes) would
		// go to stderr around smexec's one-line errors; they carry nothing
		// an error here does not already say.
		c.cfg, c.cfgErr = config.LoadDefaultConfig(ctx, config.WithHTTPClient(bc), config.WithLogger(logging.Nop{}),
			config.WithAPIOptions([]func(*middleware.Stack) error{limitAnswer}))
		if c.cfgErr == nil {
			// The SDK puts AWS_CA_BUNDLE's roots into a buildable client
			// only, so the transport is taken from what it built.
			if b, ok := c.cfg.HTTPClient.(*awshttp.BuildableClient); ok {
				bc = b
			}
			c.cfg.HTTPClient = deadlineClient(bc.GetTransport())
			c.userRetries = c.cfg.RetryMaxAttempts != 0 || c.cfg.RetryMode != ""
			c.cfg.Retryer = retryer(c.cfg)
		}
	})
	return c.cfg, c.cfgErr
}

// deadlineClient is the HTTP client of smexec's requests over tr.
func deadlineClient(tr http.RoundTripper) *http.Client {
	return &http.Client{
		// Each attempt gets its own deadline: a stalled connection is
		// dropped and the read retried on a fresh one.
		Transport: AttemptDeadlines(tr),
		// Secrets Manager does not redirect; a redirect would carry
		// the signed request elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// retryer is the SDK's retryer for cfg. Unless the user configured the
// SDK's retries, it makes one attempt a call and the resolver retries
// (see policy): until --timeout, not until a count. When the user did,
// it is the mode and attempts they asked for, without the SDK's
// client-side retry quota: that bucket (500 tokens, 5 a retry) runs dry
// after about 100 throttled retries a process, and a start storm must
// not fail for it while --timeout leaves time.
func retryer(cfg aws.Config) func() aws.Retryer {
	if cfg.RetryMaxAttempts == 0 && cfg.RetryMode == "" {
		return func() aws.Retryer { return aws.NopRetryer{} }
	}
	noQuota := func(o *retry.StandardOptions) {
		o.RateLimiter = ratelimit.None
		// A certificate that does not verify is not a passing fault.
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if untrusted(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, o.Retryables...)
		if cfg.RetryMaxAttempts != 0 {
			o.MaxAttempts = cfg.RetryMaxAttempts
		}
	}
	if cfg.RetryMode == aws.RetryModeAdaptive {
		return func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, noQuota)
			})
		}
	}
	return func() aws.Retryer { return retry.NewStandard(noQuota) }
}

// RetriesItself reports whether the SDK's clients retry on their own,
// as the user configured them; otherwise the resolver retries.
func (c *SDKClients) RetriesItself(ctx context.Context) bool {
	if _, err := c.load(ctx); err != nil {
		return false
	}
	return c.userRetries
}

// DefaultRegion is the SDK's configured region (AWS_REGION, the profile),
// or "" when there is none or the configuration cannot be loaded; Client
// then says why.
func (c *SDKClients) DefaultRegion(ctx context.Context) string {
	cfg, err := c.load(ctx)
	if err != nil {
		return ""
	}
	return cfg.Region
}

// Client returns the client for region, building it on first use.
func (c *SDKClients) Client(ctx context.Context, region string) (API, error) {
	return regional(ctx, c, region, &c.clients, func(cfg aws.Config, region string) API {
		return newSecretsClient(ctx, cfg, region)
	})
}

// ParamClient returns the Parameter Store client for region, building it
// on first use from the same configuration as the secrets' clients:
// credentials, HTTP client, retries (AWS_ENDPOINT_URL_SSM points it
// elsewhere; see paramClient).
func (c *SDKClients) ParamClient(ctx context.Context, region string) (ParamAPI, error) {
	return regional(ctx, c, region, &c.params, func(cfg aws.Config, region string) ParamAPI {
		return newParamClient(ctx, cfg, region)
	})
}

// regional returns the client of region (the configured one when empty)
// from built, building it with build on first use.
func regional[T any](ctx context.Context, c *SDKClients, region string, built *map[string]T, build func(aws.Config, string) T) (T, error) {
	var none T
	cfg, err := c.load(ctx)
	if err != nil {
		return none, err
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return none, ErrNoRegion
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := (*built)[region]; ok {
		return cl, nil
	}
	if *built == nil {
		*built = map[string]T{}
	}
	cl := build(cfg, region)
	(*built)[region] = cl
	return cl, nil
}
