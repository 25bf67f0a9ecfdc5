package resolve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// instant is defaultPolicy without the waits: retries in unit tests run
// at once.
func instant() *policy {
	p := defaultPolicy
	p.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return &p
}

const otherAccountDB = "arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db-XyZ123"

// crossAccount is one region holding the caller's prod/db and another
// account's secret of the same name, which its ARN reaches.
func crossAccount() *fakeAPI {
	api := (&fakeAPI{region: "us-east-1"}).add("prod/db", "OURS").add("app/x", "value x")
	api.secrets = append(api.secrets, &fakeSecret{
		name: "prod/db", arn: otherAccountDB,
		versions: []version{{id: currentID, stages: []string{"AWSCURRENT"}, str: ptr("THEIRS")}},
	})
	return api
}

// A name and another account's ARN of the same name in one run: each
// mapping gets the secret it named, whatever order a batch answers in.
func TestFetchBatchNeverMixesUpAccounts(t *testing.T) {
	for _, order := range [][]string{
		{"prod/db", otherAccountDB, "app/x"},
		{otherAccountDB, "prod/db", "app/x"},
	} {
		api := crossAccount()
		r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"us-east-1": api}}, Region: "us-east-1", retry: instant()}
		got := r.Fetch(context.Background(), refs(t, order...))
		want := map[string]string{"prod/db": "OURS", otherAccountDB: "THEIRS", "app/x": "value x"}
		for i, id := range order {
			if v := value(got[i]); v != want[id] {
				t.Errorf("order %v: %s = %q, want %q", order, id, v, want[id])
			}
		}
	}
}

// The same, with a batch answer that lists both secrets for both ids
// (what a service that resolved names loosely could send): the ARN id
// takes the entry of its ARN, and the name, which cannot tell the two
// apart, is read on its own.
func TestFetchBatchReadsAmbiguousAnswersAlone(t *testing.T) {
	api := (&fakeAPI{region: "us-east-1"}).add("prod/db", "OURS").add("app/x", "value x").add("app/y", "value y")
	ours := api.secrets[0].arn
	api.entries = func(ids []string) []types.SecretValueEntry {
		// Both accounts' prod/db, whatever was asked, and app/x and app/y.
		return []types.SecretValueEntry{
			{Name: ptr("prod/db"), ARN: ptr(otherAccountDB), VersionId: ptr("v2"), SecretString: ptr("THEIRS")},
			{Name: ptr("prod/db"), ARN: ptr(ours), VersionId: ptr(currentID), SecretString: ptr("OURS")},
			{Name: ptr("app/x"), ARN: ptr(api.secrets[1].arn), VersionId: ptr(currentID), SecretString: ptr("value x")},
			{Name: ptr("app/y"), ARN: ptr(api.secrets[2].arn), VersionId: ptr(currentID), SecretString: ptr("value y")},
		}
	}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"us-east-1": api}}, Region: "us-east-1", retry: instant()}
	got := r.Fetch(context.Background(), refs(t, "prod/db", "app/x", "app/y"))
	for i, want := range []string{"OURS", "value x", "value y"} {
		if v := value(got[i]); v != want {
			t.Errorf("result %d = %q, want %q", i, v, want)
		}
	}
	if n := api.readCounts()[read{id: "prod/db"}]; n != 2 {
		t.Errorf("prod/db read %d times, want twice: in the batch, then alone", n)
	}
	if api.gets != 1 {
		t.Errorf("%d GetSecretValue calls, want 1 (prod/db)", api.gets)
	}
}

func TestAnswers(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"prod/db", true},
		{arn, true},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db", true},
		{"arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db", false},
		{"arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db-AbCdEf", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/d", false},
		{"prod", false},
	} {
		if got := answers(tt.id, "prod/db", arn); got != tt.want {
			t.Errorf("answers(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestBatchesKeepCollidingNamesOut(t *testing.T) {
	fs := func(ids ...string) []*fetch {
		var out []*fetch
		for _, id := range ids {
			out = append(out, &fetch{key: key{region: "us-east-1", secretID: id}})
		}
		return out
	}
	groups, singles := batches(fs("prod/db", "a", "b", otherAccountDB, "arn:aws:secretsmanager:us-east-1:999999999999:secret:a"))
	if len(groups) != 1 || len(groups[0]) != 3 {
		t.Fatalf("groups %v, want one of 3", groups)
	}
	var alone []string
	for _, f := range singles {
		alone = append(alone, f.key.secretID)
	}
	if strings.Join(alone, " ") != "prod/db a" {
		t.Errorf("read alone: %q, want prod/db and a (each shares its name with an ARN of the run)", alone)
	}
}

// A secret a batch answer says is denied or missing is read once more
// with GetSecretValue, which may read it (another account's secret); a
// secret that fails that too fails the run.
func TestFetchBatchRetriesDeniedAndMissingAlone(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("shared", "SHARED-VALUE").add("denied", "DENIED-s3cr3t")
	api.fail = map[string]error{"denied": denied}
	// In a batch, "shared" is denied too; alone it reads.
	api.batchFail = map[string]error{"shared": denied}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, retry: instant()}
	got := r.Fetch(context.Background(), refs(t, "a", "shared", "missing", "denied"))
	if v := value(got[0]); v != "value a" {
		t.Errorf("a = %q", v)
	}
	if v := value(got[1]); v != "SHARED-VALUE" {
		t.Errorf("shared = %q, want its value from GetSecretValue", v)
	}
	if got[2].Err == nil || !strings.Contains(got[2].Err.Error(), "not found") {
		t.Errorf("missing = %q, want not found", value(got[2]))
	}
	if got[3].Err == nil || !strings.Contains(got[3].Err.Error(), "access denied") {
		t.Errorf("denied = %q, want access denied", value(got[3]))
	}
	reads := api.readCounts()
	for _, id := range []string{"shared", "missing", "denied"} {
		if n := reads[read{id: id}]; n != 2 {
			t.Errorf("%s read %d times, want twice (batch, then alone once)", id, n)
		}
	}
	if api.batches != 1 || api.gets != 3 {
		t.Errorf("%d batch and %d single calls, want 1 and 3", api.batches, api.gets)
	}
}

// limiter is a token bucket on a fake clock: rate tokens a second, as
// many held at most, shared by the operations it is given to.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

// model answers for the endpoint the storms ran against: now is
// the fake clock, all limits every operation shares (or nil), per the
// operations' own limits.
func model(now func() time.Time, all *limiter, per map[string]*limiter) func(op string) error {
	take := func(l *limiter) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		t := now()
		l.tokens = min(l.rate, l.tokens+t.Sub(l.last).Seconds()*l.rate)
		l.last = t
		return l.tokens >= 1
	}
	spend := func(l *limiter) {
		l.mu.Lock()
		l.tokens--
		l.mu.Unlock()
	}
	return func(op string) error {
		ls := []*limiter{per[op]}
		if all != nil {
			ls = append(ls, all)
		}
		for _, l := range ls {
			if l != nil && !take(l) {
				return throttled
			}
		}
		for _, l := range ls {
			if l != nil {
				spend(l)
			}
		}
		return nil
	}
}

func tenSecrets() (*fakeAPI, []string) {
	api := &fakeAPI{}
	var ids []string
	for i := range 10 {
		id := "s" + string(rune('0'+i))
		api.add(id, "value "+id)
		ids = append(ids, id)
	}
	return api, ids
}

// Per-operation limits, BatchGetSecretValue's spent: a throttled batch
// call, a probe that reads, the batch call throttled again, then the
// other secrets alone.
func TestFetchBatchThrottledProbesAndFallsBack(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	api, ids := tenSecrets()
	api.before = model(clock.now, nil, map[string]*limiter{
		opBatch: {rate: 1, tokens: 0, last: clock.t},
		opGet:   {rate: 100, tokens: 100, last: clock.t},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, retry: testPolicy(clock, nil)}
	got := r.Fetch(ctx, refs(t, ids...))
	wantOwnValues(t, got, ids)
	// The batch call, the probe, the batch call again at once (still
	// throttled while the probe read: its own quota is spent), then the
	// other nine alone.
	if api.batches != 2 || api.gets != 10 {
		t.Errorf("%d batch and %d single calls (%v), want 2 and 10", api.batches, api.gets, api.calls)
	}
}

// One limit for every operation, spent: a probe is throttled too, and
// the batch call is retried until the quota frees, with few probes.
func TestFetchBatchThrottledSharedLimitKeepsBatching(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	api, ids := tenSecrets()
	// Nothing for the next 5 s, then a request a second.
	api.before = model(clock.now, &limiter{rate: 1, tokens: -4, last: clock.t}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, retry: testPolicy(clock, nil)}
	got := r.Fetch(ctx, refs(t, ids...))
	wantOwnValues(t, got, ids)
	if api.gets > 4 {
		t.Errorf("%d single reads (%v), want only a few probes: the batch call was the cheaper way", api.gets, api.calls)
	}
	if n := len(api.readCounts()); n != 10 {
		t.Errorf("%d secrets read", n)
	}
}

// Reads through the resolver retry throttling until it clears, however
// many attempts that takes; a denial is not retried.
func TestFetchRetriesThrottlingNotDenial(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a")
	api.fail = map[string]error{"denied": denied}
	n := 0
	api.before = func(string) error {
		n++
		if n <= 12 {
			return throttled
		}
		return nil
	}
	clock := &fakeClock{t: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, NoBatch: true, retry: testPolicy(clock, nil)}
	got := r.Fetch(ctx, refs(t, "a"))
	if v := value(got[0]); v != "value a" || n != 13 {
		t.Errorf("a = %q after %d calls, want its value after 13", v, n)
	}
	n = 100
	got = r.Fetch(ctx, refs(t, "denied"))
	if got[0].Err == nil || n != 101 {
		t.Errorf("denied: %q after %d calls, want the error after 1", value(got[0]), n-100)
	}
}

// A read throttled until --timeout fails with the throttle, the number
// of attempts, and a hint about --timeout, not AWS_MAX_ATTEMPTS.
func TestFetchThrottledUntilTheDeadline(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a")
	api.before = func(string) error { return throttled }
	clock := &fakeClock{t: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, retry: testPolicy(clock, nil)}
	got := r.Fetch(ctx, refs(t, "a"))
	err := got[0].Err
	if err == nil || !strings.Contains(err.Error(), "throttled by Secrets Manager (ThrottlingException) after ") {
		t.Fatalf("err = %v, want the throttle", err)
	}
	if h := Hint(err); !strings.Contains(h, "--timeout") || strings.Contains(h, "AWS_MAX_ATTEMPTS") {
		t.Errorf("hint %q, want --timeout and not AWS_MAX_ATTEMPTS", h)
	}
}

// At debug level a run says how many requests it made and how many were
// throttled.
func TestFetchLogsRequests(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("b", "value b")
	var mu sync.Mutex
	n := 0
	api.before = func(string) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n <= 2 {
			return throttled
		}
		return nil
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, NoBatch: true, retry: instant(), Log: log}
	r.Fetch(context.Background(), refs(t, "a", "b"))
	want := `msg="secrets fetched" requests=4 GetSecretValue=4 BatchGetSecretValue=0 GetParameters=0 throttled=2 failed=0`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("log:\n%s\nwant a record with %s", buf.String(), want)
	}
	if strings.Contains(buf.String(), "value a") {
		t.Error("the log holds a value")
	}
}

func TestProbeDue(t *testing.T) {
	var due []int
	for n := range 70 {
		if probeDue(n) {
			due = append(due, n)
		}
	}
	if fmt.Sprint(due) != "[1 4 16 64]" {
		t.Errorf("probes after throttled batch calls %v, want [1 4 16 64]", due)
	}
}

// While a process's reads are throttled, one request at a time goes out,
// not one a read; the first that is not throttled lets them all go.
func TestFetchPacesThrottledReads(t *testing.T) {
	api, ids := tenSecrets()
	var mu sync.Mutex
	calls, inflight, peakThrottled := 0, 0, 0
	api.before = func(string) error {
		mu.Lock()
		calls++
		inflight++
		throttledPhase := calls <= 30
		if calls > 20 && throttledPhase {
			peakThrottled = max(peakThrottled, inflight)
		}
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inflight--
		mu.Unlock()
		if throttledPhase {
			return throttled
		}
		return nil
	}
	p := defaultPolicy
	p.Base, p.Cap = time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, NoBatch: true, retry: &p}
	got := r.Fetch(ctx, refs(t, ids...))
	wantOwnValues(t, got, ids)
	// The first wave is all ten at once; well after it, one at a time.
	mu.Lock()
	defer mu.Unlock()
	if calls != 40 {
		t.Errorf("%d calls, want 30 throttled and 10 reads", calls)
	}
	if peakThrottled != 1 {
		t.Errorf("%d requests in flight at once while throttled, want 1", peakThrottled)
	}
}

func TestPacerOneScoutWhileThrottled(t *testing.T) {
	p := defaultPolicy
	p.Base, p.Cap = time.Millisecond, time.Millisecond
	pc := newPacer(&p)
	done, err := pc.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done(throttled)
	scout, err := pc.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// With the scout out, another waits until its answer.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var paced *pacedError
	if _, err := pc.wait(ctx); !errors.As(err, &paced) || !errors.Is(err, throttled) {
		t.Fatalf("a second request went out beside the scout (err %v)", err)
	}
	released := make(chan error, 1)
	go func() {
		d, err := pc.wait(context.Background())
		if err == nil {
			d(nil)
		}
		released <- err
	}()
	scout(nil)
	if err := <-released; err != nil {
		t.Fatalf("after the scout read, a waiting request got %v", err)
	}
	// Not throttled: requests go side by side.
	a, _ := pc.wait(context.Background())
	b, err := pc.wait(context.Background())
	if err != nil {
		t.Fatalf("unthrottled, a second request waited: %v", err)
	}
	a(nil)
	b(nil)
}

// One shared limit with room right after a throttle: the probe reads,
// and so does the batch call sent at once after it; no fallback.
func TestFetchBatchProbeThenBatchUnderASharedLimit(t *testing.T) {
	api, ids := tenSecrets()
	n := 0
	api.before = func(string) error {
		n++
		if n == 1 {
			return throttled
		}
		return nil
	}
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}, retry: instant()}
	got := r.Fetch(context.Background(), refs(t, ids...))
	wantOwnValues(t, got, ids)
	if api.batches != 2 || api.gets != 1 {
		t.Errorf("%d batch and %d single calls (%v), want 2 and 1", api.batches, api.gets, api.calls)
	}
}

// An endpoint that hands out page tokens forever, with nothing in the
// pages, gets a bounded number of batch calls; its secrets are read alone.
func TestFetchBatchEndlessPages(t *testing.T) {
	api := (&fakeAPI{}).add("a", "value a").add("b", "value b")
	endless := &endlessPages{fakeAPI: api}
	r := &Resolver{Clients: endless, retry: instant()}
	got := r.Fetch(context.Background(), refs(t, "a", "b"))
	for i, want := range []string{"value a", "value b"} {
		if v := value(got[i]); v != want {
			t.Errorf("result %d = %q, want %q", i, v, want)
		}
	}
	if endless.pages > 3 {
		t.Errorf("%d batch pages fetched for 2 ids", endless.pages)
	}
}

// endlessPages answers every BatchGetSecretValue with an empty page and
// a next token.
type endlessPages struct {
	*fakeAPI
	pages int
}

func (e *endlessPages) Client(context.Context, string) (API, error) { return e, nil }

func (e *endlessPages) BatchGetSecretValue(ctx context.Context, in *sm.BatchGetSecretValueInput, opts ...func(*sm.Options)) (*sm.BatchGetSecretValueOutput, error) {
	e.pages++
	return &sm.BatchGetSecretValueOutput{NextToken: ptr("more")}, nil
}

// wantOwnValues checks that each of ids read its own value, "value ID".
func wantOwnValues(t *testing.T, got []Result, ids []string) {
	t.Helper()
	for i, id := range ids {
		if v := value(got[i]); v != "value "+id {
			t.Errorf("%s = %q", id, v)
		}
	}
}
