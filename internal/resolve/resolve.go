// Package resolve owns getting secret values: it plans the fetches a set of
// references needs (each distinct secret version or parameter once), runs
// them concurrently against Secrets Manager and Parameter Store, and
// renders the value each reference asks for.
package resolve

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/smexec/smexec/internal/ref"
)

// API is the part of the Secrets Manager client the launcher uses, so tests
// can stand a fake in for it.
type API interface {
	GetSecretValue(context.Context, *sm.GetSecretValueInput, ...func(*sm.Options)) (*sm.GetSecretValueOutput, error)
	BatchGetSecretValue(context.Context, *sm.BatchGetSecretValueInput, ...func(*sm.Options)) (*sm.BatchGetSecretValueOutput, error)
}

// Clients hands out the client for a region. Region "" means the
// configured default. Implementations build clients lazily.
type Clients interface {
	Client(ctx context.Context, region string) (API, error)
}

// SelfRetrying is a Clients whose API calls retry on their own: the SDK
// with the retries the user configured (AWS_MAX_ATTEMPTS,
// AWS_RETRY_MODE). The resolver then makes one call a read; otherwise it
// retries throttled and transient failures itself, until the deadline.
type SelfRetrying interface {
	RetriesItself(ctx context.Context) bool
}

// DefaultRegioner is a Clients that can say which region "" stands for,
// so that names and ARNs of one region share batches and errors name the
// region that was searched.
type DefaultRegioner interface {
	DefaultRegion(ctx context.Context) string
}

// Secret is one fetched secret version, or one parameter version: then
// VersionID is the parameter's version number, Type its type (String,
// StringList or SecureString, decrypted) and String its value.
type Secret struct {
	ARN       string
	Name      string
	VersionID string
	Stages    []string
	Type      string
	// Exactly one of String and Binary holds the value.
	String *string
	Binary []byte
}

// Result is the outcome of fetching the secret one reference names.
type Result struct {
	Secret *Secret
	Err    error
}

// Resolver fetches secrets. Its zero value is not usable: Clients is
// required.
type Resolver struct {
	Clients Clients
	// Region is where references that are names are read; "" means the
	// configured region (see DefaultRegioner).
	Region string
	// Concurrency bounds the requests in flight; 0 means DefaultConcurrency.
	Concurrency int
	// NoBatch turns BatchGetSecretValue off, and reads one parameter a
	// GetParameters call.
	NoBatch bool
	// Log gets debug records about how secrets were fetched; nil discards.
	Log *slog.Logger

	// retry is how throttled and transient failures are retried when
	// Clients does not retry itself; nil means defaultPolicy.
	retry *policy
	// sdkRetries: this run's Clients retry themselves (SelfRetrying).
	sdkRetries bool
	stats      stats
	pacersMu   sync.Mutex
	pacers     map[pacerKey]*pacer

	fallbackOnce sync.Once
	throttleOnce sync.Once
}

func (r *Resolver) policy() *policy {
	if r.retry == nil {
		return &defaultPolicy
	}
	return r.retry
}

// retrying runs once under the retry policy until it succeeds, fails
// for good or runs out of time; when the SDK retries by the user's
// settings, once is called once.
func (r *Resolver) retrying(ctx context.Context, once func(context.Context) error) error {
	if r.sdkRetries {
		return once(ctx)
	}
	return r.policy().do(ctx, once)
}

func (r *Resolver) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// DefaultConcurrency is how many requests may be in flight at once unless
// told otherwise.
const DefaultConcurrency = 64

// key identifies one secret version to fetch: the same key is fetched once
// however many references share it.
type key struct {
	kind      ref.Kind
	region    string
	secretID  string
	versionID string
	stage     string
	selector  string // a parameter's version or label
}

// keyOf gives the fetch key of a reference; a name is read in nameRegion
// ("" leaves the choice to Clients).
func keyOf(r ref.Ref, nameRegion string) key {
	k := key{kind: r.Kind, region: r.Region, secretID: r.SecretID, versionID: r.VersionID, stage: r.VersionStage, selector: r.Selector}
	if k.region == "" {
		k.region = nameRegion
	}
	if r.Current() {
		k.stage = "" // "" and AWSCURRENT name the same version
	}
	return k
}

// fetch is one planned fetch and where its outcome goes.
type fetch struct {
	key    key
	result Result
}

// Fetch fetches every distinct secret version refs name, once each, and
// returns one Result per reference, in order.
func (r *Resolver) Fetch(ctx context.Context, refs []ref.Ref) []Result {
	if c, ok := r.Clients.(interface{ Connect() }); ok && len(refs) > 0 {
		c.Connect()
	}
	nameRegion := r.Region
	if nameRegion == "" && slices.ContainsFunc(refs, func(rf ref.Ref) bool { return !rf.IsARN() }) {
		if d, ok := r.Clients.(DefaultRegioner); ok {
			nameRegion = d.DefaultRegion(ctx)
		}
	}
	byKey := map[key]*fetch{}
	var fetches []*fetch
	for _, rf := range refs {
		k := keyOf(rf, nameRegion)
		if byKey[k] == nil {
			f := &fetch{key: k}
			byKey[k] = f
			fetches = append(fetches, f)
		}
	}

	if sr, ok := r.Clients.(SelfRetrying); ok && len(fetches) > 0 {
		r.sdkRetries = sr.RetriesItself(ctx)
	}
	start := time.Now()
	r.run(ctx, fetches)
	if len(fetches) > 0 {
		r.stats.log(r.log(), time.Since(start))
	}

	out := make([]Result, len(refs))
	for i, rf := range refs {
		out[i] = byKey[keyOf(rf, nameRegion)].result
	}
	return out
}

// run fills in every fetch's result: secrets read at AWSCURRENT in
// batches where a region has several, the rest one GetSecretValue each,
// parameters with GetParameters, all at once up to Concurrency requests
// in flight; then, one by one, whatever a batch could not settle (a
// denied batch call).
func (r *Resolver) run(ctx context.Context, fetches []*fetch) {
	limit := r.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	var secrets, params []*fetch
	for _, f := range fetches {
		if f.key.kind == ref.Parameter {
			params = append(params, f)
		} else {
			secrets = append(secrets, f)
		}
	}
	groups, singles := [][]*fetch(nil), secrets
	if !r.NoBatch {
		groups, singles = batches(secrets)
	}
	// NoBatch reads one name a GetParameters call too: what a source
	// that answers one value a call (a local file) needs.
	size := ParamBatchSize
	if r.NoBatch {
		size = 1
	}
	paramGroups := paramBatches(params, size)
	var mu sync.Mutex
	var rest, paramRest []*fetch
	parallel(limit, len(paramGroups)+len(groups)+len(singles), func(i int) {
		if i < len(paramGroups) {
			unsettled := r.getParams(ctx, paramGroups[i], false)
			mu.Lock()
			paramRest = append(paramRest, unsettled...)
			mu.Unlock()
			return
		}
		i -= len(paramGroups)
		if i >= len(groups) {
			f := singles[i-len(groups)]
			f.result = r.getOne(ctx, f.key)
			return
		}
		unsettled := r.getBatch(ctx, groups[i])
		mu.Lock()
		rest = append(rest, unsettled...)
		mu.Unlock()
	})
	parallel(limit, len(paramRest)+len(rest), func(i int) {
		if i < len(paramRest) {
			r.getParams(ctx, paramRest[i:i+1], true)
			return
		}
		i -= len(paramRest)
		rest[i].result = r.getOne(ctx, rest[i].key)
	})
}

// parallel calls fn(0) … fn(n-1) on at most limit goroutines. A worker
// pool rather than a goroutine per call: a run with hundreds of secrets
// keeps only limit stacks alive.
func parallel(limit, n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(limit, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// getOne reads one secret version with GetSecretValue, retrying what
// the policy retries unless the client retries itself.
func (r *Resolver) getOne(ctx context.Context, k key) Result {
	client, err := r.Clients.Client(ctx, k.region)
	if err != nil {
		return Result{Err: clientError(err, k)}
	}
	var out *sm.GetSecretValueOutput
	once := func(ctx context.Context) (err error) {
		out, err = r.callGet(ctx, client, k, false)
		return err
	}
	if err := r.retrying(ctx, once); err != nil {
		return Result{Err: classify(ctx, err, k)}
	}
	return r.checked(ctx, opGet, k, secretOf(out))
}

// callGet makes one GetSecretValue call (one attempt, or the SDK's
// attempts when it retries itself). Unless the SDK retries, the call
// waits for the region's pacer; a probe (see batchCall) does not: it is
// there to learn whether single reads are throttled now.
func (r *Resolver) callGet(ctx context.Context, client API, k key, probe bool) (*sm.GetSecretValueOutput, error) {
	in := &sm.GetSecretValueInput{SecretId: &k.secretID}
	if k.versionID != "" {
		in.VersionId = &k.versionID
	}
	if k.stage != "" {
		in.VersionStage = &k.stage
	}
	var done func(error)
	if !r.sdkRetries && !probe {
		var err error
		if done, err = r.pace(k.region, opGet).wait(ctx); err != nil {
			return nil, err
		}
	}
	var seen atomic.Int32
	var out *sm.GetSecretValueOutput
	var err error
	if g, ok := client.(attemptGetter); ok {
		out, err = g.getSecret(ctx, in, func(err error) {
			seen.Add(1)
			r.stats.add(opGet, err)
		})
	} else {
		out, err = client.GetSecretValue(ctx, in, r.stats.counting(opGet, &seen))
	}
	if seen.Load() == 0 {
		r.stats.add(opGet, err)
	}
	if done != nil {
		done(err)
	}
	return out, err
}

func secretOf(out *sm.GetSecretValueOutput) Result {
	return Result{Secret: &Secret{
		ARN:       aws.ToString(out.ARN),
		Name:      aws.ToString(out.Name),
		VersionID: aws.ToString(out.VersionId),
		Stages:    out.VersionStages,
		String:    out.SecretString,
		Binary:    out.SecretBinary,
	}}
}
