package resolve

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/smexec/smexec/internal/ref"
)

// Parameter Store. A whole ECS secrets block names SSM parameters beside
// secrets, so the resolver reads both in one run: every distinct
// parameter (and selector) once, GetParameters with up to ParamBatchSize
// names a call, one client per region, at the same time as the secrets,
// retried and paced as secret reads are.

// ParamAPI is Parameter Store's GetParameters, always WithDecryption.
// onAttempt, where not nil, is told the outcome of each attempt a client
// that retries on its own makes; a client that does not may ignore it.
type ParamAPI interface {
	GetParameters(ctx context.Context, names []string, onAttempt func(error)) (*ParamsOutput, error)
}

// ParamsOutput is GetParameters' answer: the parameters found, and the
// names asked for that were not.
type ParamsOutput struct {
	Parameters        []Parameter
	InvalidParameters []string
}

// Parameter is one parameter version of an answer.
type Parameter struct {
	ARN      string
	Name     string
	Selector string // ":VERSION" or ":LABEL" when one was asked for
	Type     string // String, StringList or SecureString
	Value    *string
	Version  int64
}

// ParamClients is a Clients that can also read Parameter Store. A
// Clients that is not one fails every parameter reference with
// ErrNoParameters, or with what its ParamClient returns (a source such
// as the agent explains why it reads none).
type ParamClients interface {
	ParamClient(ctx context.Context, region string) (ParamAPI, error)
}

// ErrNoParameters is the failure of a parameter reference read through
// a source that holds secrets only.
var ErrNoParameters = errors.New("this source reads Secrets Manager secrets only, not Parameter Store parameters")

// ParamBatchSize is the most names one GetParameters call takes.
const ParamBatchSize = 10

const opParams = "GetParameters"

// paramName is the name GetParameters is asked for: the id with its
// selector.
func paramName(k key) string {
	if k.selector == "" {
		return k.secretID
	}
	return k.secretID + ":" + k.selector
}

// paramIdentity is what an answer may name a parameter by: its name, and
// for a reference to a secret the secret's name (which some endpoints
// answer with). Two fetches of one identity never share a call, so each
// answer in a call belongs to one fetch.
func paramIdentity(k key) string {
	id := k.secretID
	if strings.HasPrefix(id, "arn:") {
		if _, rest, ok := strings.Cut(id, ":parameter/"); ok {
			id = rest
			if strings.Contains(rest, "/") {
				id = "/" + rest
			}
		}
	}
	return strings.TrimPrefix(id, ref.ReferencePrefix)
}

// paramBatches splits the parameter fetches into calls: per region, at
// most size names each, and never two fetches of one parameter in the
// same call.
func paramBatches(fetches []*fetch, size int) [][]*fetch {
	var regions []string
	byRegion := map[string][][]*fetch{}
	for _, f := range fetches {
		if _, ok := byRegion[f.key.region]; !ok {
			regions = append(regions, f.key.region)
		}
		groups := byRegion[f.key.region]
		placed := false
		for i, g := range groups {
			if len(g) < size && !slices.ContainsFunc(g, func(o *fetch) bool { return paramIdentity(o.key) == paramIdentity(f.key) }) {
				groups[i] = append(g, f)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []*fetch{f})
		}
		byRegion[f.key.region] = groups
	}
	var out [][]*fetch
	for _, region := range regions {
		out = append(out, byRegion[region]...)
	}
	return out
}

// paramClient is the Parameter Store client of region.
func (r *Resolver) paramClient(ctx context.Context, region string) (ParamAPI, error) {
	pc, ok := r.Clients.(ParamClients)
	if !ok {
		return nil, ErrNoParameters
	}
	return pc.ParamClient(ctx, region)
}

// getParams reads a group of parameters of one region with one
// GetParameters call, retried as secret reads are, and fills in their
// results. Unless alone, it returns the fetches to read one a call: all
// of them when the call was denied (GetParameters fails whole when one
// name is not allowed), and any the answer did not settle.
func (r *Resolver) getParams(ctx context.Context, group []*fetch, alone bool) (rest []*fetch) {
	region := group[0].key.region
	client, err := r.paramClient(ctx, region)
	if err != nil {
		for _, f := range group {
			f.result = Result{Err: clientError(err, f.key)}
		}
		return nil
	}
	var names []string
	for _, f := range group {
		names = append(names, paramName(f.key))
	}
	var out *ParamsOutput
	once := func(ctx context.Context) (err error) {
		out, err = r.callParams(ctx, client, region, names)
		return err
	}
	if err := r.retrying(ctx, once); err != nil {
		if code, _ := apiError(err); !alone && len(group) > 1 && isDenied(err, code) {
			return group
		}
		for _, f := range group {
			f.result = Result{Err: classify(ctx, err, f.key)}
		}
		return nil
	}
	for _, f := range group {
		p, ambiguous := paramAnswer(f.key, out.Parameters)
		switch {
		case p != nil:
			f.result = paramOf(p)
		case ambiguous && !alone:
			rest = append(rest, f)
		case ambiguous:
			f.result = Result{Err: &Error{Kind: ref.Parameter, SecretID: f.key.secretID, Region: f.key.region,
				Cause: "the answer to GetParameters held more than one parameter of this name",
				Hint:  "something on the path to the endpoint answered in Parameter Store's place: check AWS_ENDPOINT_URL_SSM, and any proxy in between"}}
		case slices.Contains(out.InvalidParameters, paramName(f.key)):
			f.result = Result{Err: paramNotFound(f.key)}
		case !alone:
			rest = append(rest, f)
		default:
			f.result = Result{Err: &Error{Kind: ref.Parameter, SecretID: f.key.secretID, Region: f.key.region,
				Cause: "the answer to GetParameters did not mention the parameter",
				Hint:  "something on the path to the endpoint answered in Parameter Store's place: check AWS_ENDPOINT_URL_SSM, and any proxy in between"}}
		}
	}
	return rest
}

// callParams makes one GetParameters call (one attempt, or the SDK's
// attempts when it retries itself), paced like secret reads.
func (r *Resolver) callParams(ctx context.Context, client ParamAPI, region string, names []string) (*ParamsOutput, error) {
	var done func(error)
	if !r.sdkRetries {
		var err error
		if done, err = r.pace(region, opParams).wait(ctx); err != nil {
			return nil, err
		}
	}
	var seen atomic.Int32
	out, err := client.GetParameters(ctx, names, func(err error) {
		seen.Add(1)
		r.stats.add(opParams, err)
	})
	if seen.Load() == 0 {
		r.stats.add(opParams, err)
	}
	if done != nil {
		done(err)
	}
	return out, err
}

// paramAnswer finds the parameter of an answer that is k's: by ARN when
// the answer has one and k is an ARN, else by name (for a reference to a
// secret, the reference's name or the secret's). A version selector must
// match the version answered. Two different answers for k are
// ambiguous.
func paramAnswer(k key, ps []Parameter) (match *Parameter, ambiguous bool) {
	isARN := strings.HasPrefix(k.secretID, "arn:")
	for i := range ps {
		p := &ps[i]
		name, arn := p.Name, p.ARN
		var ok bool
		switch {
		case isARN && arn != "":
			ok = arn == k.secretID
		case isARN:
			ok = name == k.secretID || name == paramIdentity(k)
		default:
			ok = name == k.secretID || strings.HasPrefix(k.secretID, ref.ReferencePrefix) && name == paramIdentity(k)
		}
		if !ok {
			continue
		}
		if v, err := strconv.ParseInt(k.selector, 10, 64); err == nil && p.Version != v && !strings.HasPrefix(k.secretID, ref.ReferencePrefix) {
			continue
		}
		if match != nil && (match.ARN != arn || match.Version != p.Version || match.Name != name) {
			return nil, true
		}
		match = p
	}
	return match, false
}

func paramOf(p *Parameter) Result {
	s := &Secret{
		ARN:       p.ARN,
		Name:      p.Name,
		VersionID: strconv.FormatInt(p.Version, 10),
		Type:      p.Type,
		String:    p.Value,
	}
	if s.String == nil {
		empty := ""
		s.String = &empty
	}
	return Result{Secret: s}
}

// paramNotFound is a name GetParameters listed as invalid: no such
// parameter, version or label, in this region (or not shared).
func paramNotFound(k key) error {
	e := &Error{Kind: ref.Parameter, SecretID: k.secretID, Region: k.region, Cause: "not found (InvalidParameters)"}
	region := "region " + k.region
	if k.region == "" {
		region = "the region (--region or AWS_REGION)"
	}
	switch {
	case k.selector != "":
		what := "label " + k.selector
		if _, err := strconv.ParseUint(k.selector, 10, 64); err == nil {
			what = "version " + k.selector
		}
		e.Cause = "no such parameter or " + what + " (InvalidParameters)"
		e.Hint = "check that the parameter exists in " + region + " with " + what + ": aws ssm get-parameter-history --name " + k.secretID
	case strings.HasPrefix(k.secretID, ref.ReferencePrefix):
		e.Hint = "check that the secret " + strings.TrimPrefix(k.secretID, ref.ReferencePrefix) + " exists in " + region + ", and that the caller has ssm:GetParameters and secretsmanager:GetSecretValue on it"
	case strings.HasPrefix(k.secretID, "arn:"):
		e.Hint = "check the name, region and account in the ARN; a parameter of another account must be shared with the caller"
	default:
		e.Hint = "check the name and " + region + "; a parameter of another region is named by its ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)"
	}
	return e
}

// classifyParam explains the failures particular to Parameter Store;
// nil leaves err to classify's common cases.
func classifyParam(err error, k key) *Error {
	code, msg := apiError(err)
	e := &Error{Kind: ref.Parameter, SecretID: k.secretID, Region: k.region, Err: err}
	where := k.region
	if where == "" {
		where = "its region"
	}
	kms := strings.Contains(strings.ToLower(msg), "kms")
	switch {
	case code == "InvalidKeyId" || strings.HasPrefix(code, "KMS") || isDenied(err, code) && kms:
		e.Cause = "KMS refused to decrypt the parameter (" + orDefault(code, "HTTP 403") + ")"
		e.Hint = "the caller needs kms:Decrypt on the SecureString's KMS key in " + where + ", and the key must be enabled"
	case isDenied(err, code):
		e.Cause = "access denied (" + orDefault(code, "HTTP 403") + ")"
		e.Hint = "the caller needs ssm:GetParameters on this parameter in " + where + ", and kms:Decrypt on its KMS key for a SecureString"
		if strings.HasPrefix(k.secretID, ref.ReferencePrefix) {
			e.Hint += ", and secretsmanager:GetSecretValue on the secret it references"
		}
	case code == "ParameterNotFound" || code == "ParameterVersionNotFound" || code == "ParameterVersionLabelNotFound":
		return paramNotFound(k).(*Error)
	default:
		return nil
	}
	return e
}

// paramWords says a common failure in Parameter Store's words.
var paramWords = strings.NewReplacer(
	"Secrets Manager", "Parameter Store",
	"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM",
	"secretsmanager:GetSecretValue on this secret", "ssm:GetParameters on this parameter",
)
