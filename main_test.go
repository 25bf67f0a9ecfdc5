package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/smexec/smexec/internal/testenv/faultproxy"
	"github.com/smexec/smexec/internal/testenv/moto"
)

// The end-to-end tests run the real smexec main, as a separate process,
// against moto_server on loopback: the testscript suites (e2e_test.go)
// and the tests that start the built binary themselves (herd, leaks,
// interrupts, the image).

func TestMain(m *testing.M) {
	testscript.Main(stopMoto{m}, map[string]func(){"smexec": main})
}

// stopMoto stops the moto servers once every test has run.
type stopMoto struct{ m *testing.M }

func (s stopMoto) Run() int {
	code := s.m.Run()
	if motoEnv != nil {
		motoEnv.open.Stop()
		motoEnv.iam.Stop()
	}
	return code
}

var update = flag.Bool("update", false, "update testscript golden output")

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

// endpoints are the moto servers the scripts talk to, started once for the
// whole test binary.
type endpoints struct {
	open *moto.Server // no IAM checks
	iam  *moto.Server // IAM enforced after setup
	// Keys of a user allowed only secretsmanager:GetSecretValue (moto checks
	// actions, not resources), and of one allowed nothing.
	readerKey, readerSecret string
	nobodyKey, nobodySecret string
}

var (
	motoOnce sync.Once
	motoEnv  *endpoints
	motoErr  error
)

func startMoto(t *testing.T) *endpoints {
	motoOnce.Do(func() { motoEnv, motoErr = newEndpoints() })
	if motoErr != nil {
		t.Fatal(motoErr)
	}
	return motoEnv
}

// setup gives a script the environment of the open endpoint, and the
// IAM endpoint's address and keys for the scripts that switch to it.
func (e *endpoints) setup(env *testscript.Env) error {
	scriptEnv(env, e.open.URL)
	env.Setenv("AWS_ENDPOINT_URL_SSM", ssmShim(e.open.URL))
	env.Setenv("IAM_ENDPOINT", e.iam.URL)
	env.Setenv("READER_KEY", e.readerKey)
	env.Setenv("READER_SECRET", e.readerSecret)
	env.Setenv("NOBODY_KEY", e.nobodyKey)
	env.Setenv("NOBODY_SECRET", e.nobodySecret)
	env.Setenv("ACCOUNT", testAccount)
	return nil
}

// offlineSetup is the setup of a suite without moto: the SDK's endpoint is
// a loopback port where nothing listens.
func offlineSetup(env *testscript.Env) error {
	scriptEnv(env, "http://127.0.0.1:1")
	return nil
}

// scriptEnv is what every script's environment holds: awsEnv(url), and
// no wait at exit.
func scriptEnv(env *testscript.Env, url string) {
	for k, v := range awsEnv(url) {
		env.Setenv(k, v)
	}
	// The race detector waits a second at every exit otherwise.
	env.Setenv("GORACE", "atexit_sleep_ms=0")
}

// awsConfig is the SDK's configuration for seeding the loopback endpoint
// at url in region.
func awsConfig(url, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(url),
	}
}

// awsEnv is the environment that points the SDK, and nothing else, at a
// loopback endpoint with dummy credentials.
func awsEnv(url string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
		"AWS_ACCESS_KEY_ID":                "testing",
		"AWS_SECRET_ACCESS_KEY":            "testing",
		"AWS_REGION":                       testRegion,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE":      "/dev/null",
		"AWS_MAX_ATTEMPTS":                 "2",
	}
}

func newEndpoints() (*endpoints, error) {
	logDir, err := os.MkdirTemp("", "smexec-moto-")
	if err != nil {
		return nil, err
	}
	open, err := moto.Start(filepath.Join(logDir, "moto.log"))
	if err != nil {
		return nil, err
	}
	// moto answers the first iamSetupCalls requests without checking IAM,
	// and checks every one after.
	locked, err := moto.Start(filepath.Join(logDir, "moto-iam.log"), fmt.Sprintf("INITIAL_NO_AUTH_ACTION_COUNT=%d", iamSetupCalls))
	if err != nil {
		open.Stop()
		return nil, err
	}
	e := &endpoints{open: open, iam: locked}
	if err := e.setupIAM(); err != nil {
		open.Stop()
		locked.Stop()
		return nil, fmt.Errorf("set up IAM on moto: %w", err)
	}
	return e, nil
}

// iamSetupCalls is how many requests setupIAM makes.
const iamSetupCalls = 7

func (e *endpoints) setupIAM() error {
	ctx := context.Background()
	cfg := awsConfig(e.iam.URL, testRegion)
	s := sm.NewFromConfig(cfg)
	for name, value := range map[string]string{"iam/allowed": "allowed-value-1", "iam/denied": "denied-value-2"} {
		if _, err := s.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			return err
		}
	}
	im := iam.NewFromConfig(cfg)
	user := func(name, policy string) (key, secret string, err error) {
		if _, err := im.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			return "", "", err
		}
		if policy != "" {
			_, err := im.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(name), PolicyDocument: aws.String(policy)})
			if err != nil {
				return "", "", err
			}
		}
		k, err := im.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			return "", "", err
		}
		return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, nil
	}
	var err error
	getOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	if e.readerKey, e.readerSecret, err = user("reader", getOnly); err != nil {
		return err
	}
	e.nobodyKey, e.nobodySecret, err = user("nobody", "")
	return err
}

// smCmd seeds moto for a script:
//
//	sm create [-region R] [-binary] [-file] [-arn VAR] NAME VALUE
//	sm put [-region R] [-binary] [-file] [-token ID] NAME VALUE [STAGE...]
//	sm delete [-region R] NAME
//
// With -binary, VALUE is base64. With -file, VALUE is a file (relative to
// $WORK) whose bytes are the value, so a script can seed exact bytes such
// as a trailing newline that a script line cannot hold. -arn VAR sets
// $VAR to the new secret's ARN; -token ID makes ID the new version's id.
func smCmd(ts *testscript.TestScript, neg bool, args []string, url string) {
	fs := flag.NewFlagSet("sm", flag.ContinueOnError)
	binary := fs.Bool("binary", false, "VALUE is base64 of a binary secret")
	arnVar := fs.String("arn", "", "env var to set to the ARN")
	token := fs.String("token", "", "version id of the new version")
	fromFile := fs.Bool("file", false, "VALUE is a file holding the value")
	verb, region, rest := seedArgs(ts, neg, args, fs, 2, "sm create|put|delete [flags] NAME [VALUE [STAGE...]]")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := sm.NewFromConfig(awsConfig(url, region))
	var str *string
	var bin []byte
	if len(rest) > 1 {
		switch {
		case *fromFile && *binary:
			b, err := os.ReadFile(ts.MkAbs(rest[1]))
			ts.Check(err)
			bin = b
		case *fromFile:
			b, err := os.ReadFile(ts.MkAbs(rest[1]))
			ts.Check(err)
			str = aws.String(string(b))
		case *binary:
			b, err := base64.StdEncoding.DecodeString(rest[1])
			ts.Check(err)
			bin = b
		default:
			str = aws.String(rest[1])
		}
	}
	switch verb {
	case "create":
		out, err := client.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(rest[0]), SecretString: str, SecretBinary: bin})
		ts.Check(err)
		if *arnVar != "" {
			ts.Setenv(*arnVar, *out.ARN)
		}
	case "put":
		in := &sm.PutSecretValueInput{SecretId: aws.String(rest[0]), SecretString: str, SecretBinary: bin}
		if len(rest) > 2 {
			in.VersionStages = rest[2:]
		}
		if *token != "" {
			in.ClientRequestToken = token
		}
		_, err := client.PutSecretValue(ctx, in)
		ts.Check(err)
	case "delete":
		_, err := client.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String(rest[0])})
		ts.Check(err)
	default:
		ts.Fatalf("sm: unknown verb %q", verb)
	}
}

// seedArgs reads the arguments of a seeding command (sm, ssm): VERB,
// -region R (default testRegion) and the flags fs holds, then the rest;
// at least atLeast arguments in all.
func seedArgs(ts *testscript.TestScript, neg bool, args []string, fs *flag.FlagSet, atLeast int, usage string) (verb, region string, rest []string) {
	if neg {
		ts.Fatalf("%s does not take !", fs.Name())
	}
	if len(args) < atLeast {
		ts.Fatalf("usage: %s", usage)
	}
	r := fs.String("region", testRegion, "region")
	ts.Check(fs.Parse(args[1:]))
	return args[0], *r, fs.Args()
}

// The tests that start the built binary themselves (herd, leaks,
// interrupts, the image) share the helpers below.

// buildStatic builds smexec as the Dockerfile does: static, without the
// race detector (a herd of race-instrumented processes would measure the
// instrumentation), stripped, at version chroot-test.
func buildStatic(t *testing.T, out string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the static binary: %v", err)
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w -X main.version=chroot-test", "-o", out, ".")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "CGO_ENABLED=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

// buildSmexec builds smexec as buildStatic does, into a temp folder, and
// returns its path.
func buildSmexec(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smexec")
	buildStatic(t, bin)
	return bin
}

// processEnv is the whole environment of a run of the built binary
// against endpoint: PATH, awsEnv(endpoint) and then extra.
func processEnv(endpoint string, extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range awsEnv(endpoint) {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// startProxy starts a fault proxy in front of upstream, closed when the
// test ends.
func startProxy(t *testing.T, upstream string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// seed creates the secrets (name → value) in testRegion and returns their
// ARNs.
func seed(t *testing.T, endpoint string, secrets map[string]string) map[string]string {
	t.Helper()
	c := sm.NewFromConfig(awsConfig(endpoint, testRegion))
	arns := map[string]string{}
	for name, v := range secrets {
		out, err := c.CreateSecret(context.Background(), &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)})
		if err != nil {
			t.Fatal(err)
		}
		arns[name] = aws.ToString(out.ARN)
	}
	return arns
}
