package resolve

import (
	"context"
	"strings"

	"github.com/aws/smithy-go"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// BatchSize is the most secret ids one BatchGetSecretValue call takes.
const BatchSize = 20

// batches splits the fetches that read AWSCURRENT into groups of at most
// BatchSize per region, and returns the rest, which need GetSecretValue.
// A region with a single such secret gets no batch: one GetSecretValue is
// the same one round trip and needs no extra permission.
func batches(fetches []*fetch) (groups [][]*fetch, singles []*fetch) {
	byRegion := map[string][]*fetch{}
	var regions []string
	for _, f := range fetches {
		if f.key.versionID != "" || f.key.stage != "" {
			singles = append(singles, f)
			continue
		}
		if byRegion[f.key.region] == nil {
			regions = append(regions, f.key.region)
		}
		byRegion[f.key.region] = append(byRegion[f.key.region], f)
	}
	for _, region := range regions {
		fs := byRegion[region]
		if len(fs) == 1 {
			singles = append(singles, fs[0])
			continue
		}
		for len(fs) > 0 {
			n := min(len(fs), BatchSize)
			groups = append(groups, fs[:n])
			fs = fs[n:]
		}
	}
	return groups, singles
}

// getBatch reads a group of AWSCURRENT secrets of one region with
// BatchGetSecretValue, fills in their results, and returns the fetches it
// could not settle (the call was denied, or a secret was not in the
// answer, or the call was still throttled after the SDK's retries), which
// the caller reads one by one.
func (r *Resolver) getBatch(ctx context.Context, group []*fetch) (rest []*fetch) {
	k := group[0].key
	client, err := r.Clients.Client(ctx, k.region)
	if err != nil {
		for _, f := range group {
			f.result = Result{Err: clientError(err, f.key)}
		}
		return nil
	}
	ids := make([]string, len(group))
	for i, f := range group {
		ids[i] = f.key.secretID
	}
	settled := make([]bool, len(group))
	in := &sm.BatchGetSecretValueInput{SecretIdList: ids}
	for {
		out, err := client.BatchGetSecretValue(ctx, in, capBatchAttempts)
		if err != nil {
			code, _ := apiError(err)
			if isDenied(err, code) {
				r.fallbackOnce.Do(func() {
					r.log().Debug("BatchGetSecretValue denied; reading each secret with GetSecretValue", "region", k.region)
				})
				break
			}
			// Still throttled after its retries (see batchMaxAttempts):
			// read this batch's secrets one by one.
			if isThrottle(err) && ctx.Err() == nil {
				r.throttleOnce.Do(func() {
					r.log().Debug("BatchGetSecretValue throttled; reading each secret with GetSecretValue", "region", k.region)
				})
				break
			}
			for i, f := range group {
				if !settled[i] {
					f.result = Result{Err: classify(ctx, err, f.key)}
					settled[i] = true
				}
			}
			return nil
		}
		for _, v := range out.SecretValues {
			for i, f := range group {
				if !settled[i] && sameSecret(f.key.secretID, deref(v.Name), deref(v.ARN)) {
					f.result = Result{Secret: &Secret{
						ARN:       deref(v.ARN),
						Name:      deref(v.Name),
						VersionID: deref(v.VersionId),
						Stages:    v.VersionStages,
						String:    v.SecretString,
						Binary:    v.SecretBinary,
					}}
					settled[i] = true
				}
			}
		}
		for _, e := range out.Errors {
			apiErr := &smithy.GenericAPIError{Code: deref(e.ErrorCode), Message: deref(e.Message)}
			for i, f := range group {
				if !settled[i] && f.key.secretID == deref(e.SecretId) {
					f.result = Result{Err: classify(ctx, apiErr, f.key)}
					settled[i] = true
				}
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	for i, f := range group {
		if !settled[i] {
			rest = append(rest, f)
		}
	}
	return rest
}

// batchMaxAttempts is the most attempts a BatchGetSecretValue call gets,
// whatever AWS_MAX_ATTEMPTS allows the single reads. Its quota is 100
// calls a second a region and cannot be raised, where GetSecretValue's
// is 10,000: when many tasks start at once, retrying batch calls for
// long only queues them behind each other, while the same secrets read
// one by one would pass. So a batch call gets the SDK's default attempts
// and then gives way to GetSecretValue, with all the attempts configured.
const batchMaxAttempts = 3

func capBatchAttempts(o *sm.Options) {
	if o.Retryer != nil && o.Retryer.MaxAttempts() > batchMaxAttempts {
		o.RetryMaxAttempts = batchMaxAttempts
	}
}

// sameSecret reports whether the id a reference gave (a name, a full ARN
// or a partial ARN without the 6-character suffix) names the secret with
// this name and full ARN.
func sameSecret(id, name, arn string) bool {
	if id == name || id == arn {
		return true
	}
	return strings.HasPrefix(id, "arn:") && len(arn) == len(id)+7 && strings.HasPrefix(arn, id+"-")
}
