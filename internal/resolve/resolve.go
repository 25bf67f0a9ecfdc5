// Package resolve owns getting secret values: it plans the fetches a set of
// references needs (each distinct secret version once), runs them
// concurrently against Secrets Manager, and renders the value each
// reference asks for.
package resolve

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

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

// DefaultRegioner is a Clients that can say which region "" stands for,
// so that names and ARNs of one region share batches and errors name the
// region that was searched.
type DefaultRegioner interface {
	DefaultRegion(ctx context.Context) string
}

// Secret is one fetched secret version.
type Secret struct {
	ARN       string
	Name      string
	VersionID string
	Stages    []string
	// Exactly one of String and Binary holds the value.
	String *string
	Binary []byte
}

// Size is the length of the secret's value in bytes.
func (s *Secret) Size() int {
	if s.String != nil {
		return len(*s.String)
	}
	return len(s.Binary)
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
	// NoBatch turns BatchGetSecretValue off.
	NoBatch bool
	// Log gets debug records about how secrets were fetched; nil discards.
	Log *slog.Logger

	fallbackOnce sync.Once
	throttleOnce sync.Once
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
	region    string
	secretID  string
	versionID string
	stage     string
}

// keyOf gives the fetch key of a reference; a name is read in nameRegion
// ("" leaves the choice to Clients).
func keyOf(r ref.Ref, nameRegion string) key {
	k := key{region: r.Region, secretID: r.SecretID, versionID: r.VersionID, stage: r.VersionStage}
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

	r.run(ctx, fetches)

	out := make([]Result, len(refs))
	for i, rf := range refs {
		out[i] = byKey[keyOf(rf, nameRegion)].result
	}
	return out
}

// run fills in every fetch's result: secrets read at AWSCURRENT in
// batches where a region has several, the rest one GetSecretValue each,
// all at once up to Concurrency requests in flight; then, one by one,
// whatever a batch could not settle (a denied batch call).
func (r *Resolver) run(ctx context.Context, fetches []*fetch) {
	limit := r.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	groups, singles := [][]*fetch(nil), fetches
	if !r.NoBatch {
		groups, singles = batches(fetches)
	}
	var mu sync.Mutex
	var rest []*fetch
	parallel(limit, len(groups)+len(singles), func(i int) {
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
	parallel(limit, len(rest), func(i int) {
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

// getOne reads one secret version with GetSecretValue.
func (r *Resolver) getOne(ctx context.Context, k key) Result {
	client, err := r.Clients.Client(ctx, k.region)
	if err != nil {
		return Result{Err: clientError(err, k)}
	}
	in := &sm.GetSecretValueInput{SecretId: &k.secretID}
	if k.versionID != "" {
		in.VersionId = &k.versionID
	}
	if k.stage != "" {
		in.VersionStage = &k.stage
	}
	out, err := client.GetSecretValue(ctx, in)
	if err != nil {
		return Result{Err: classify(ctx, err, k)}
	}
	return Result{Secret: &Secret{
		ARN:       deref(out.ARN),
		Name:      deref(out.Name),
		VersionID: deref(out.VersionId),
		Stages:    out.VersionStages,
		String:    out.SecretString,
		Binary:    out.SecretBinary,
	}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
