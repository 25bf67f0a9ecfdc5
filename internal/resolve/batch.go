package resolve

import (
	"bytes"
	"context"
	"math/bits"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/aws/smithy-go"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// BatchSize is the most secret ids one BatchGetSecretValue call takes.
const BatchSize = 20

// batches splits the fetches that read AWSCURRENT into groups of at most
// BatchSize per region, and returns the rest, which need GetSecretValue.
// A region with a single such secret gets no batch: one GetSecretValue is
// the same one round trip and needs no extra permission. A name that an
// ARN of the same region could also name (another account's secret of
// that name) is read on its own: a batch answer says the name and ARN of
// each secret, and a bare name cannot tell which account's it asked for.
func batches(fetches []*fetch) (groups [][]*fetch, singles []*fetch) {
	byRegion := map[string][]*fetch{}
	arnNames := map[string]map[string]bool{} // region → names an ARN id may stand for
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
		if name, ok := arnName(f.key.secretID); ok {
			if arnNames[f.key.region] == nil {
				arnNames[f.key.region] = map[string]bool{}
			}
			arnNames[f.key.region][name] = true
			if fullARNSuffix.MatchString(name) {
				arnNames[f.key.region][name[:len(name)-7]] = true
			}
		}
	}
	for _, region := range regions {
		var fs []*fetch
		for _, f := range byRegion[region] {
			if !isARN(f.key.secretID) && arnNames[region][f.key.secretID] {
				singles = append(singles, f)
				continue
			}
			fs = append(fs, f)
		}
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

func isARN(id string) bool { return strings.HasPrefix(id, "arn:") }

// arnName is the name field of an ARN id: the secret's name, or its name
// and 6-character suffix.
func arnName(id string) (string, bool) {
	if !isARN(id) {
		return "", false
	}
	_, name, ok := strings.Cut(id, ":secret:")
	return name, ok
}

// getBatch reads a group of AWSCURRENT secrets of one region with
// BatchGetSecretValue, fills in their results, and returns the fetches it
// could not settle, which the caller reads one by one: all of them when
// the call was denied or when single reads have quota the batch call has
// not (see batchCall); a secret the answer did not hold, held ambiguously,
// or answered with AccessDenied or ResourceNotFound (a secret of another
// account may be readable alone and not in a batch).
func (r *Resolver) getBatch(ctx context.Context, group []*fetch) (rest []*fetch) {
	k := group[0].key
	client, err := r.Clients.Client(ctx, k.region)
	if err != nil {
		for _, f := range group {
			f.result = Result{Err: clientError(err, f.key)}
		}
		return nil
	}
	pending := group
	in := &sm.BatchGetSecretValueInput{}
	// An answer holds at least one secret a page; an endpoint that keeps
	// handing out tokens with nothing new gets no more pages than ids.
	for page := 0; page <= len(group); page++ {
		if in.NextToken == nil {
			in.SecretIdList = in.SecretIdList[:0]
			for _, f := range pending {
				in.SecretIdList = append(in.SecretIdList, f.key.secretID)
			}
		}
		out, fallback, err := r.batchCall(ctx, client, in, &pending)
		switch {
		case fallback:
			return append(rest, pending...)
		case err != nil:
			for _, f := range pending {
				f.result = Result{Err: classify(ctx, err, f.key)}
			}
			return rest
		}
		pending, rest = r.settle(ctx, pending, out, rest)
		if out.NextToken == nil || *out.NextToken == "" || len(pending) == 0 {
			break
		}
		in.NextToken = out.NextToken
	}
	// What no page answered is read alone.
	return append(rest, pending...)
}

// settle gives each pending fetch the answer that is unambiguously its
// own and returns those still pending, and rest with the fetches to be
// read on their own added.
func (r *Resolver) settle(ctx context.Context, pending []*fetch, out *sm.BatchGetSecretValueOutput, rest []*fetch) (stillPending, _ []*fetch) {
	for _, f := range pending {
		var match *types.SecretValueEntry
		ambiguous := false
		for i := range out.SecretValues {
			v := &out.SecretValues[i]
			if !answers(f.key.secretID, aws.ToString(v.Name), aws.ToString(v.ARN)) {
				continue
			}
			if len(v.VersionStages) > 0 && !slices.Contains(v.VersionStages, "AWSCURRENT") {
				continue // not the version asked for; read alone if no other is
			}
			if match != nil && (aws.ToString(match.ARN) != aws.ToString(v.ARN) || aws.ToString(match.VersionId) != aws.ToString(v.VersionId) ||
				!sameValue(match, v)) {
				ambiguous = true
			}
			match = v
		}
		switch {
		case ambiguous:
			rest = append(rest, f)
			continue
		case match != nil:
			f.result = r.checked(ctx, opBatch, f.key, Result{Secret: &Secret{
				ARN:       aws.ToString(match.ARN),
				Name:      aws.ToString(match.Name),
				VersionID: aws.ToString(match.VersionId),
				Stages:    match.VersionStages,
				String:    match.SecretString,
				Binary:    match.SecretBinary,
			}})
			continue
		}
		var apiErr error
		for _, e := range out.Errors {
			if aws.ToString(e.SecretId) == f.key.secretID {
				apiErr = &smithy.GenericAPIError{Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.Message)}
			}
		}
		switch {
		case apiErr == nil:
			stillPending = append(stillPending, f)
		case readAlone(apiErr):
			rest = append(rest, f)
		default:
			f.result = Result{Err: classify(ctx, apiErr, f.key)}
		}
	}
	return stillPending, rest
}

// sameValue reports whether two entries hold the same value.
func sameValue(a, b *types.SecretValueEntry) bool {
	return (a.SecretString == nil) == (b.SecretString == nil) && aws.ToString(a.SecretString) == aws.ToString(b.SecretString) &&
		bytes.Equal(a.SecretBinary, b.SecretBinary)
}

// readAlone reports whether a secret's error inside a batch answer is
// worth one GetSecretValue of its own before it fails the run: denied or
// not found (BatchGetSecretValue is not documented for other accounts'
// secrets, which GetSecretValue reads), or throttled.
func readAlone(err error) bool {
	code, _ := apiError(err)
	return isDenied(err, code) || code == "ResourceNotFoundException" || isThrottle(err)
}

// answers reports whether a batch answer for the secret with this name
// and full ARN is the one id asked for. An ARN id matches by ARN alone:
// the full ARN, or a partial one (the name without the suffix) followed
// by "-" and 6 characters. A name matches by name; batches keeps names
// that an ARN of the same call could share out of the call.
func answers(id, name, arn string) bool {
	if !isARN(id) {
		return id == name
	}
	return id == arn || len(arn) == len(id)+7 && strings.HasPrefix(arn, id) && fullARNSuffix.MatchString(arn[len(id):])
}

// batchCall makes one BatchGetSecretValue request, retried as the
// policy says, and reports a fallback to single reads:
//   - when the call is denied (the caller may read, but not batch);
//   - when the SDK retries itself (the user configured it) and the call
//     was still throttled after at most batchMaxAttempts;
//   - otherwise, when the call is throttled, a single read sent as a
//     probe right after is not, and the batch call, sent again at once,
//     is throttled again: every operation has its own quota, and
//     GetSecretValue's is the larger (Secrets Manager: 10,000 a second
//     against BatchGetSecretValue's 100). When the probe is throttled too,
//     or the batch call passes after it, the quota is shared, or spent
//     for both, and one batch call costs less of it than the reads it
//     stands for: the batch call is retried.
//     Probes go after the 1st, 4th, 16th and 64th throttled attempt, so a
//     shared limit costs few of them, and a probe's answer settles its
//     secret.
func (r *Resolver) batchCall(ctx context.Context, client API, in *sm.BatchGetSecretValueInput, pending *[]*fetch) (out *sm.BatchGetSecretValueOutput, fallback bool, err error) {
	region := (*pending)[0].key.region
	call := func(ctx context.Context, paced bool, opts ...func(*sm.Options)) (*sm.BatchGetSecretValueOutput, error) {
		var done func(error)
		if paced && !r.sdkRetries {
			var err error
			if done, err = r.pace(region, opBatch).wait(ctx); err != nil {
				return nil, err
			}
		}
		var seen atomic.Int32
		out, err := client.BatchGetSecretValue(ctx, in, append(opts, r.stats.counting(opBatch, &seen))...)
		if seen.Load() == 0 {
			r.stats.add(opBatch, err)
		}
		if done != nil {
			done(err)
		}
		return out, err
	}
	denied := func(err error) bool {
		code, _ := apiError(err)
		switch {
		case isDenied(err, code):
			r.fallbackOnce.Do(func() {
				r.log().Debug("BatchGetSecretValue denied; reading each secret with GetSecretValue", "region", region)
			})
		case unknownOperation(err, code):
			r.fallbackOnce.Do(func() {
				r.log().Debug("BatchGetSecretValue unknown to the endpoint; reading each secret with GetSecretValue", "region", region)
			})
		default:
			return false
		}
		return true
	}
	if r.sdkRetries {
		out, err = call(ctx, false, capBatchAttempts)
		if err != nil && (denied(err) || isThrottle(err) && ctx.Err() == nil) {
			if !denied(err) {
				r.throttleOnce.Do(func() {
					r.log().Debug("BatchGetSecretValue throttled; reading each secret with GetSecretValue", "region", region)
				})
			}
			return nil, true, nil
		}
		return out, false, err
	}
	throttles := 0
	err = r.policy().do(ctx, func(ctx context.Context) error {
		var err error
		out, err = call(ctx, true)
		if err == nil || denied(err) || !isThrottle(err) {
			return err
		}
		throttles++
		if in.NextToken != nil || len(*pending) < 2 || !probeDue(throttles) {
			return err
		}
		f := (*pending)[0]
		client, cerr := r.Clients.Client(ctx, f.key.region)
		if cerr != nil {
			return err
		}
		got, perr := r.callGet(ctx, client, f.key, true)
		switch {
		case perr == nil:
			f.result = r.checked(ctx, opGet, f.key, secretOf(got))
			*pending = (*pending)[1:]
			in.SecretIdList = in.SecretIdList[1:]
			// The probe found room. Under one shared limit the batch call
			// finds it too, at once; throttled while the probe was not,
			// it has a quota of its own, spent.
			if len(*pending) >= 2 {
				out, err = call(ctx, false)
				if err == nil || !isThrottle(err) {
					return err
				}
			}
			fallback = true
			r.throttleOnce.Do(func() {
				r.log().Debug("BatchGetSecretValue throttled and GetSecretValue not; reading each secret with GetSecretValue", "region", region)
			})
			return nil
		case !retryable(perr):
			// The probe's own answer (denied, not found) is its secret's.
			f.result = Result{Err: classify(ctx, perr, f.key)}
			*pending = (*pending)[1:]
			in.SecretIdList = in.SecretIdList[1:]
			if len(*pending) == 0 {
				out = &sm.BatchGetSecretValueOutput{}
				return nil
			}
		}
		return err
	})
	if fallback {
		return nil, true, nil
	}
	if err != nil && denied(err) {
		return nil, true, nil
	}
	return out, false, err
}

// unknownOperation reports whether the endpoint does not know the call:
// an emulator without BatchGetSecretValue, or a proxy that lets only some
// operations through. Single reads may still work.
func unknownOperation(err error, code string) bool {
	switch code {
	case "UnknownOperationException", "InvalidAction", "NotImplemented":
		return true
	}
	return httpStatus(err) == http.StatusNotImplemented
}

// probeDue reports whether the n-th throttled batch attempt is followed
// by a probe: n a power of 4.
func probeDue(n int) bool {
	return n > 0 && n&(n-1) == 0 && bits.TrailingZeros(uint(n))%2 == 0
}

// batchMaxAttempts is the most attempts a BatchGetSecretValue call gets
// when the user configured the SDK's retries, whatever AWS_MAX_ATTEMPTS
// allows the single reads: its quota is 100 calls a second a region and
// cannot be raised, where GetSecretValue's is 10,000, so a batch call
// still throttled after them gives way to single reads with all the
// attempts configured.
const batchMaxAttempts = 3

func capBatchAttempts(o *sm.Options) {
	if o.Retryer != nil && o.Retryer.MaxAttempts() > batchMaxAttempts {
		o.RetryMaxAttempts = batchMaxAttempts
	}
}
