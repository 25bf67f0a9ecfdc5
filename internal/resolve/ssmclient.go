package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// paramClient is Parameter Store's GetParameters, and nothing else,
// spoken directly (see jsonAPI). The SDK's SSM module would link code
// and schemas for SSM's 150 operations, 4.3 MB of binary and 1.3 ms of
// package initialisation on every start, run or not a parameter is read
// (docs/performance.md); one operation does not earn that.
type paramClient struct{ api *jsonAPI }

func newParamClient(ctx context.Context, cfg aws.Config, region string) *paramClient {
	api := &jsonAPI{
		cfg: cfg, service: "SSM", target: "AmazonSSM", signing: "ssm", region: region,
		signer: v4.NewSigner(), retryer: newRetryer(cfg),
	}
	if u, err := url.Parse(paramEndpoint(ctx, cfg, region)); err != nil {
		api.endpointErr = err
	} else {
		api.endpoint = operationURL(*u)
	}
	return &paramClient{api: api}
}

// paramEndpoint is where region's Parameter Store is reached, resolved
// as the SDK resolves a service's endpoint: AWS_ENDPOINT_URL_SSM or the
// profile's services section, then AWS_ENDPOINT_URL or endpoint_url,
// then the region's public endpoint (its FIPS one with
// AWS_USE_FIPS_ENDPOINT).
func paramEndpoint(ctx context.Context, cfg aws.Config, region string) string {
	if !strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		for _, src := range cfg.ConfigSources {
			if p, ok := src.(interface {
				GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
			}); ok {
				if v, found, err := p.GetServiceBaseEndpoint(ctx, "SSM"); found && err == nil && v != "" {
					return v
				}
			}
		}
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			return *cfg.BaseEndpoint
		}
	}
	host := "ssm"
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(interface {
			GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
		}); ok {
			if v, found, err := p.GetUseFIPSEndpoint(ctx); found && err == nil && v == aws.FIPSEndpointStateEnabled {
				host = "ssm-fips"
			}
		}
	}
	return "https://" + host + "." + region + "." + dnsSuffix(region)
}

// dnsSuffix is the DNS suffix of the partition region belongs to.
func dnsSuffix(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-isob-"):
		return "sc2s.sgov.gov"
	case strings.HasPrefix(region, "us-isof-"):
		return "csp.hci.ic.gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "c2s.ic.gov"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "cloud.adc-e.uk"
	}
	return "amazonaws.com"
}

// wireParameter is a parameter in GetParameters' answer.
type wireParameter struct {
	ARN      *string
	Name     *string
	Selector *string
	Type     string
	Value    *string
	Version  int64
}

// GetParameters makes one GetParameters call with WithDecryption: one
// attempt, or, where the user configured the SDK's retries
// (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE), the attempts the SDK's retryer
// allows, telling onAttempt the outcome of each.
func (c *paramClient) GetParameters(ctx context.Context, names []string, onAttempt func(error)) (*ParamsOutput, error) {
	in := struct {
		Names          []string
		WithDecryption bool
	}{names, true}
	var out *ParamsOutput
	err := c.api.call(ctx, opParams, in, maxAnswer, func(data []byte) error {
		var wire struct {
			InvalidParameters []string
			Parameters        []wireParameter
		}
		if err := json.Unmarshal(data, &wire); err != nil {
			// Not quoted: the answer may hold values.
			return &smithy.DeserializationError{Err: errors.New("the answer is not GetParameters' JSON")}
		}
		out = &ParamsOutput{InvalidParameters: wire.InvalidParameters}
		for _, p := range wire.Parameters {
			out.Parameters = append(out.Parameters, Parameter{
				ARN: aws.ToString(p.ARN), Name: aws.ToString(p.Name), Selector: aws.ToString(p.Selector), Type: p.Type, Value: p.Value, Version: p.Version,
			})
		}
		return nil
	}, onAttempt)
	if err != nil {
		return nil, err
	}
	return out, nil
}
