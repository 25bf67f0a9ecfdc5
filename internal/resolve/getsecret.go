package resolve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyauth "github.com/aws/smithy-go/auth"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// secretsClient is Secrets Manager in one region: BatchGetSecretValue
// through the SDK's client, GetSecretValue spoken directly (jsonAPI) to
// the endpoint the SDK's resolver gives for the client's options. A
// GetSecretValue through the SDK builds a middleware stack and evaluates
// the endpoint rules on every call and needs more than 16 KB of stack:
// with 64 reads in flight (batching denied) that was about 4 MB of a
// process's peak, and a third of the time of 200 reads
// (docs/performance.md).
type secretsClient struct {
	*sm.Client
	get *jsonAPI
	// endpoint is where the client's requests go (nil when it could not
	// be resolved): SDKClients.plan opens a connection to it ahead.
	endpoint *smithyendpoints.Endpoint
}

func newSecretsClient(ctx context.Context, cfg aws.Config, region string) *secretsClient {
	cl := sm.NewFromConfig(cfg, func(o *sm.Options) { o.Region = region })
	// The SDK's client takes a FIPS pseudo-region (fips-us-east-1,
	// us-east-1-fips) for the region with FIPS on: the endpoint is
	// resolved, and the request signed, for the region itself.
	o := cl.Options()
	fips := o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled
	if r := fipsless(region); r != region {
		region, fips = r, true
	}
	c := &secretsClient{Client: cl, get: &jsonAPI{
		cfg: cfg, service: sm.ServiceID, target: "secretsmanager", signing: "secretsmanager", region: region,
		signer: v4.NewSigner(), retryer: newRetryer(cfg),
	}}
	ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, sm.EndpointParameters{
		Region:       aws.String(region),
		Endpoint:     o.BaseEndpoint,
		UseFIPS:      aws.Bool(fips),
		UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
	})
	if err != nil {
		c.get.endpointErr = err
		return c
	}
	c.endpoint = &ep
	c.get.endpoint = operationURL(ep.URI)
	// The signing name and region the endpoint's rules name, as the SDK
	// signs with them.
	if opts, ok := smithyauth.GetAuthOptions(&ep.Properties); ok {
		for _, opt := range opts {
			if opt.SchemeID != smithyauth.SchemeIDSigV4 {
				continue
			}
			if v, ok := smithyhttp.GetSigV4SigningName(&opt.SignerProperties); ok && v != "" {
				c.get.signing = v
			}
			if v, ok := smithyhttp.GetSigV4SigningRegion(&opt.SignerProperties); ok && v != "" {
				c.get.region = v
			}
			break
		}
	}
	return c
}

// fipsless is region without the "fips-" or "-fips" of a FIPS
// pseudo-region, as the SDK reads one.
func fipsless(region string) string {
	region = strings.ReplaceAll(region, "-fips-", "-")
	region = strings.ReplaceAll(region, "fips-", "")
	return strings.ReplaceAll(region, "-fips", "")
}

// GetSecretValue reads a secret (see getSecret). optFns are SDK options,
// which apply to the SDK's client only: the resolver counts attempts
// through getSecret.
func (c *secretsClient) GetSecretValue(ctx context.Context, in *sm.GetSecretValueInput, _ ...func(*sm.Options)) (*sm.GetSecretValueOutput, error) {
	return c.getSecret(ctx, in, nil)
}

// attemptGetter is an API whose GetSecretValue tells onAttempt the
// outcome of each attempt, where the SDK's client takes a middleware.
type attemptGetter interface {
	getSecret(ctx context.Context, in *sm.GetSecretValueInput, onAttempt func(error)) (*sm.GetSecretValueOutput, error)
}

// getSecret makes one GetSecretValue call: one attempt, or the attempts
// of the retries the user configured for the SDK.
func (c *secretsClient) getSecret(ctx context.Context, in *sm.GetSecretValueInput, onAttempt func(error)) (*sm.GetSecretValueOutput, error) {
	body := struct {
		SecretId     *string
		VersionId    *string `json:",omitempty"`
		VersionStage *string `json:",omitempty"`
	}{in.SecretId, in.VersionId, in.VersionStage}
	var out *sm.GetSecretValueOutput
	err := c.get.call(ctx, opGet, body, answerCap(opGet), func(data []byte) (err error) {
		out, err = decodeSecretValue(data)
		return err
	}, onAttempt)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errNotGetAnswer is an answer that is not GetSecretValue's. It does not
// quote the answer, which may hold a value.
var errNotGetAnswer = &smithy.DeserializationError{Err: errors.New("the answer is not GetSecretValue's JSON")}

// decodeSecretValue reads GetSecretValue's answer as the SDK does: its
// members by their exact names, each of its type or null, any other
// member ignored, the last of a repeated member kept; an empty answer
// is an empty output. Unlike the SDK's decoder it takes nothing after
// the JSON object, and it holds no member it does not keep (the SDK
// decodes the whole answer into maps first).
func decodeSecretValue(data []byte) (*sm.GetSecretValueOutput, error) {
	out := &sm.GetSecretValueOutput{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, errNotGetAnswer
	}
	if tok != nil { // null is an empty output, as in the SDK
		if tok != json.Delim('{') {
			return nil, errNotGetAnswer
		}
		for dec.More() {
			tok, err := dec.Token()
			name, ok := tok.(string)
			if err != nil || !ok {
				return nil, errNotGetAnswer
			}
			if err := decodeMember(dec, name, out); err != nil {
				return nil, errNotGetAnswer
			}
		}
		if _, err := dec.Token(); err != nil { // the closing brace
			return nil, errNotGetAnswer
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotGetAnswer
	}
	return out, nil
}

// decodeMember reads the value of GetSecretValue's member name into out,
// or skips it.
func decodeMember(dec *json.Decoder, name string, out *sm.GetSecretValueOutput) error {
	switch name {
	case "ARN":
		return dec.Decode(&out.ARN)
	case "Name":
		return dec.Decode(&out.Name)
	case "VersionId":
		return dec.Decode(&out.VersionId)
	case "SecretString":
		return dec.Decode(&out.SecretString)
	case "SecretBinary":
		return dec.Decode(&out.SecretBinary)
	case "VersionStages":
		return dec.Decode(&out.VersionStages)
	case "CreatedDate":
		var s *float64
		if err := dec.Decode(&s); err != nil {
			return err
		}
		out.CreatedDate = nil
		if s != nil {
			sec, frac := math.Modf(*s)
			out.CreatedDate = aws.Time(time.Unix(int64(sec), int64(frac*1e9)).UTC())
		}
		return nil
	}
	var skip json.RawMessage
	return dec.Decode(&skip)
}
