package resolve

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
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

	mu      sync.Mutex
	clients map[string]API
}

// ErrNoRegion is returned when a name-only reference needs a region and
// none is configured.
var ErrNoRegion = errors.New("no AWS region configured for a secret given by name")

func (c *SDKClients) load(ctx context.Context) (aws.Config, error) {
	c.loadOnce.Do(func() {
		// The SDK keeps 10 idle connections a host; a run with more reads
		// in flight than that would close the rest after each wave and
		// connect anew for the next.
		hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = DefaultConcurrency
		})
		// The SDK's own log lines (such as its IMDS fallback notes) would
		// go to stderr around smexec's one-line errors; they carry nothing
		// an error here does not already say.
		c.cfg, c.cfgErr = config.LoadDefaultConfig(ctx, config.WithHTTPClient(hc), config.WithLogger(logging.Nop{}),
			config.WithAPIOptions([]func(*middleware.Stack) error{limitAnswer}))
	})
	return c.cfg, c.cfgErr
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
