package resolve

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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
}

// ErrNoRegion is returned when a name-only reference needs a region and
// none is configured.
var ErrNoRegion = errors.New("no AWS region configured for a secret given by name")

func (c *SDKClients) load(ctx context.Context) (aws.Config, error) {
	c.loadOnce.Do(func() {
		// The SDK keeps 10 idle connections a host; a run with more reads
		// in flight than that would close the rest after each wave and
		// connect anew for the next.
		bc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = DefaultConcurrency
			t.MaxResponseHeaderBytes = MaxAnswerHeaders
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
			c.cfg.HTTPClient = &http.Client{
				// Each attempt gets its own deadline: a stalled connection
				// is dropped and the read retried on a fresh one.
				Transport: AttemptDeadlines(bc.GetTransport()),
				// Secrets Manager does not redirect; a redirect would carry
				// the signed request elsewhere.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			c.userRetries = c.cfg.RetryMaxAttempts != 0 || c.cfg.RetryMode != ""
			c.cfg.Retryer = retryer(c.cfg)
		}
	})
	return c.cfg, c.cfgErr
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
	cfg, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return nil, ErrNoRegion
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[region]; ok {
		return cl, nil
	}
	if c.clients == nil {
		c.clients = map[string]API{}
	}
	cl := sm.NewFromConfig(cfg, func(o *sm.Options) { o.Region = region })
	c.clients[region] = cl
	return cl, nil
}

// ParamClient returns the Parameter Store client for region, building it
// on first use from the same configuration as the secrets' clients:
// credentials, HTTP client, retries (AWS_ENDPOINT_URL_SSM points it
// elsewhere; see paramClient).
func (c *SDKClients) ParamClient(ctx context.Context, region string) (ParamAPI, error) {
	cfg, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return nil, ErrNoRegion
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.params[region]; ok {
		return cl, nil
	}
	if c.params == nil {
		c.params = map[string]ParamAPI{}
	}
	cl := &paramClient{cfg: cfg, region: region, endpoint: paramEndpoint(ctx, cfg, region), signer: v4.NewSigner()}
	c.params[region] = cl
	return cl, nil
}
