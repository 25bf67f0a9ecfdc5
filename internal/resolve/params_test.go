package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func plain(v string) fakeParam { return fakeParam{value: v, typ: "String"} }

// Every distinct parameter is read once, ten names a call, beside the
// secrets of the same run, and each mapping gets its own value.
func TestFetchParametersOnceInCallsOfTen(t *testing.T) {
	params := &fakeSSM{}
	var in, want []string
	for i := range 23 {
		name := fmt.Sprintf("/app/p%02d", i)
		params.put(name, plain("value "+name))
		in = append(in, "ssm:"+name, "ssm:"+name) // each twice
		want = append(want, "value "+name, "value "+name)
	}
	params.put("list", fakeParam{value: "a,b,c", typ: "StringList"})
	params.put("/app/secure", fakeParam{value: "decrypted", typ: "SecureString"})
	in = append(in, "ssm:list", "ssm:/app/secure", "db:password")
	want = append(want, "a,b,c", "decrypted", `{"password":"s3cret"}`)
	api := (&fakeAPI{}).add("db", `{"password":"s3cret"}`)
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}, params: map[string]*fakeSSM{"": params}}}
	got := r.Fetch(context.Background(), refs(t, in...))
	for i := range in {
		if v := value(got[i]); v != want[i] {
			t.Errorf("%s = %q, want %q", in[i], v, want[i])
		}
	}
	calls := params.callNames()
	if len(calls) != 3 {
		t.Errorf("%d GetParameters calls for 25 parameters, want 3: %q", len(calls), calls)
	}
	seen := map[string]int{}
	for _, c := range calls {
		if len(c) > ParamBatchSize {
			t.Errorf("a call asked for %d names", len(c))
		}
		for _, n := range c {
			seen[n]++
		}
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("%s asked for %d times", n, k)
		}
	}
	if len(seen) != 25 {
		t.Errorf("%d names asked for, want 25", len(seen))
	}
	if api.gets != 1 {
		t.Errorf("%d GetSecretValue calls, want 1", api.gets)
	}
	sec := got[len(got)-2].Secret
	if sec.Type != "SecureString" || sec.VersionID != "1" || sec.ARN != "arn:aws:ssm:us-east-1:123456789012:parameter/app/secure" {
		t.Errorf("SecureString read as %+v", *sec)
	}
}

// Versions and labels are read as SSM reads NAME:SELECTOR; one parameter
// at several selectors never shares a call, so each answer is
// unambiguous.
func TestFetchParameterSelectors(t *testing.T) {
	params := (&fakeSSM{}).put("/db/pw", plain("one"), fakeParam{value: "two", typ: "String", labels: []string{"blue"}}, plain("three"))
	r := &Resolver{Clients: &fakeClients{params: map[string]*fakeSSM{"": params}}}
	in := []string{"ssm:/db/pw", "ssm:/db/pw:1", "ssm:/db/pw:blue", "ssm:/db/pw:2", "ssm:/db/pw:"}
	got := r.Fetch(context.Background(), refs(t, in...))
	for i, want := range []string{"three", "one", "two", "two", "three"} {
		if v := value(got[i]); v != want {
			t.Errorf("%s = %q, want %q", in[i], v, want)
		}
	}
	if got[1].Secret.VersionID != "1" || got[2].Secret.VersionID != "2" {
		t.Errorf("versions read: %q and %q, want 1 and 2", got[1].Secret.VersionID, got[2].Secret.VersionID)
	}
	for _, c := range params.callNames() {
		if len(c) != 1 {
			t.Errorf("one call asked for %q: one parameter at several selectors shares a call", c)
		}
	}
}

// An ARN's region picks the client; a name reads the configured region.
func TestFetchParameterRegions(t *testing.T) {
	home := (&fakeSSM{}).put("/db/pw", plain("home"))
	eu := (&fakeSSM{region: "eu-west-1"}).put("/db/pw", plain("eu"))
	clients := &fakeClients{params: map[string]*fakeSSM{"": home, "eu-west-1": eu}}
	r := &Resolver{Clients: clients}
	got := r.Fetch(context.Background(), refs(t, "ssm:/db/pw", "arn:aws:ssm:eu-west-1:123456789012:parameter/db/pw"))
	if value(got[0]) != "home" || value(got[1]) != "eu" {
		t.Errorf("got %q and %q, want home and eu", value(got[0]), value(got[1]))
	}
	if c := eu.callNames(); len(c) != 1 || c[0][0] != "arn:aws:ssm:eu-west-1:123456789012:parameter/db/pw" {
		t.Errorf("eu-west-1 was asked %q, want the ARN as given", c)
	}
}

// A name GetParameters lists as invalid fails its own mapping, with a
// hint, and the rest of the call still resolves.
func TestFetchParameterInvalid(t *testing.T) {
	params := (&fakeSSM{}).put("/db/pw", plain("ok"))
	r := &Resolver{Clients: &fakeClients{params: map[string]*fakeSSM{"us-east-1": params}}, Region: "us-east-1"}
	got := r.Fetch(context.Background(), refs(t, "ssm:/db/pw", "ssm:/db/nope", "ssm:/db/pw:7",
		"arn:aws:ssm:us-east-1:999999999999:parameter/db/pw"))
	if value(got[0]) != "ok" {
		t.Errorf("/db/pw = %q", value(got[0]))
	}
	for i, want := range []string{
		"parameter /db/nope in us-east-1: not found (InvalidParameters)",
		"parameter /db/pw in us-east-1: no such parameter or version 7 (InvalidParameters)",
		"parameter arn:aws:ssm:us-east-1:999999999999:parameter/db/pw in us-east-1: not found (InvalidParameters)",
	} {
		if got[i+1].Err == nil || got[i+1].Err.Error() != want {
			t.Errorf("result %d = %v, want %q", i+1, got[i+1].Err, want)
		}
		if Hint(got[i+1].Err) == "" {
			t.Errorf("result %d has no hint", i+1)
		}
	}
	if h := Hint(got[1].Err); !strings.Contains(h, "us-east-1") || !strings.Contains(h, "ARN") {
		t.Errorf("hint %q names neither the region nor the ARN form", h)
	}
}

// GetParameters fails whole when one name is denied: each name is then
// read alone, so only the denied mapping fails, with the permission it
// needs.
func TestFetchParameterDenied(t *testing.T) {
	params := (&fakeSSM{}).put("/a", plain("A")).put("/b", plain("B")).put("/k", fakeParam{value: "K", typ: "SecureString"})
	params.deny = map[string]error{
		"/b": &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: ssm:GetParameters"},
		"/k": &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "The ciphertext refers to a customer master key that does not exist (Service: AWSKMS)"},
	}
	r := &Resolver{Clients: &fakeClients{params: map[string]*fakeSSM{"eu-west-1": params}}, Region: "eu-west-1"}
	got := r.Fetch(context.Background(), refs(t, "ssm:/a", "ssm:/b", "ssm:/k"))
	if value(got[0]) != "A" {
		t.Errorf("/a = %q", value(got[0]))
	}
	if err := got[1].Err; err == nil || !strings.Contains(err.Error(), "access denied") ||
		!strings.Contains(Hint(err), "ssm:GetParameters") || !strings.Contains(Hint(err), "eu-west-1") {
		t.Errorf("/b: %v (hint %q)", err, Hint(err))
	}
	if err := got[2].Err; err == nil || !strings.Contains(err.Error(), "KMS refused") || !strings.Contains(Hint(err), "kms:Decrypt") {
		t.Errorf("/k: %v (hint %q)", err, Hint(err))
	}
	if n := len(params.callNames()); n != 4 {
		t.Errorf("%d calls, want 4 (the denied batch, then one a name)", n)
	}
}

// A throttled GetParameters is retried as secret reads are, and the
// throttle shows in the count.
func TestFetchParameterThrottledRetries(t *testing.T) {
	n := 0
	params := (&fakeSSM{}).put("/a", plain("A"))
	params.before = func() error {
		if n++; n <= 3 {
			return throttled
		}
		return nil
	}
	r := &Resolver{Clients: &fakeClients{params: map[string]*fakeSSM{"": params}}, retry: instant()}
	ctx, cancel := context.WithTimeout(context.Background(), 60e9)
	defer cancel()
	got := r.Fetch(ctx, refs(t, "ssm:/a"))
	if value(got[0]) != "A" {
		t.Errorf("/a = %q after throttles", value(got[0]))
	}
	if r.stats.params.Load() != 4 || r.stats.throttled.Load() != 3 {
		t.Errorf("%d GetParameters, %d throttled; want 4 and 3", r.stats.params.Load(), r.stats.throttled.Load())
	}
}

// The same with the SDK retrying: one call a read, whose error says
// Parameter Store.
func TestFetchParameterThrottleError(t *testing.T) {
	params := (&fakeSSM{}).put("/a", plain("A"))
	params.before = func() error { return throttled }
	r := &Resolver{Clients: &fakeClients{params: map[string]*fakeSSM{"": params}, selfRetrying: true}}
	got := r.Fetch(context.Background(), refs(t, "ssm:/a"))
	if err := got[0].Err; err == nil || !strings.Contains(err.Error(), "throttled by Parameter Store") {
		t.Errorf("got %v, want a throttle by Parameter Store", err)
	}
}

// Parameters that reference Secrets Manager are answered under the
// reference's name by AWS, and under the secret's by moto: both match.
func TestFetchParameterReference(t *testing.T) {
	for _, refName := range []bool{false, true} {
		params := (&fakeSSM{refName: refName}).put("/aws/reference/secretsmanager/prod/db", fakeParam{value: `{"pw":"x"}`, typ: "SecureString"})
		params.put("/a", plain("A"))
		r := &Resolver{Clients: &fakeClients{params: map[string]*fakeSSM{"": params}}}
		got := r.Fetch(context.Background(), refs(t, "ssm:/aws/reference/secretsmanager/prod/db", "ssm:/a"))
		if value(got[0]) != `{"pw":"x"}` || value(got[1]) != "A" {
			t.Errorf("refName=%v: got %q, %q", refName, value(got[0]), value(got[1]))
		}
	}
}

// An answer that does not hold what was asked (another version, two
// parameters of one name) is never taken for it.
func TestFetchParameterWrongAnswer(t *testing.T) {
	params := (&fakeSSM{}).put("/a", plain("A"), plain("A2"))
	params.answer = func(names []string) []Parameter {
		return []Parameter{
			{Name: "/a", Value: ptr("WRONG"), Version: 2},
			{Name: "/b", Value: ptr("B1"), Version: 1, ARN: "arn:1"},
			{Name: "/b", Value: ptr("B2"), Version: 2, ARN: "arn:2"},
		}
	}
	r := &Resolver{Clients: &fakeClients{params: map[string]*fakeSSM{"": params}}}
	got := r.Fetch(context.Background(), refs(t, "ssm:/a:1", "ssm:/b"))
	if err := got[0].Err; err == nil || !strings.Contains(err.Error(), "did not mention") {
		t.Errorf("/a:1 = %q, want an error", value(got[0]))
	}
	if err := got[1].Err; err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("/b = %q, want an error", value(got[1]))
	}
	for _, res := range got {
		if res.Err != nil && (strings.Contains(res.Err.Error(), "WRONG") || strings.Contains(res.Err.Error(), "B1")) {
			t.Errorf("an error quotes a value: %v", res.Err)
		}
	}
}

// A source of secrets only fails each parameter mapping and still reads
// the secrets.
func TestFetchParameterFromSecretsOnlySource(t *testing.T) {
	api := (&fakeAPI{}).add("db", "v")
	r := &Resolver{Clients: &fakeClients{apis: map[string]*fakeAPI{"": api}}}
	got := r.Fetch(context.Background(), refs(t, "db", "ssm:/a"))
	if value(got[0]) != "v" {
		t.Errorf("db = %q", value(got[0]))
	}
	if !errors.Is(got[1].Err, ErrNoParameters) || !strings.HasPrefix(got[1].Err.Error(), "parameter /a: ") {
		t.Errorf("ssm:/a: %v", got[1].Err)
	}
}

func TestParamBatchesKeepRegionsAndNamesApart(t *testing.T) {
	var fs []*fetch
	for _, s := range []string{"/a", "/a:1", "/b", "/aws/reference/secretsmanager/c", "c"} {
		fs = append(fs, &fetch{key: keyOf(refs(t, "ssm:"+s)[0], "us-east-1")})
	}
	fs = append(fs, &fetch{key: keyOf(refs(t, "arn:aws:ssm:eu-west-1:123456789012:parameter/a")[0], "us-east-1")})
	var got [][]string
	for _, g := range paramBatches(fs, ParamBatchSize) {
		var names []string
		for _, f := range g {
			names = append(names, f.key.region+" "+paramName(f.key))
		}
		got = append(got, names)
	}
	want := [][]string{
		{"us-east-1 /a", "us-east-1 /b", "us-east-1 /aws/reference/secretsmanager/c"},
		{"us-east-1 /a:1", "us-east-1 c"},
		{"eu-west-1 arn:aws:ssm:eu-west-1:123456789012:parameter/a"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %q, want %q", got, want)
	}
}
