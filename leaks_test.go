package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/smexec/smexec/internal/testenv/faultproxy"
)

// canary is in every value the leak tests seed: no output may hold it.
const canary = "LEAK-CANARY"

// leakSecrets are the secrets the leak tests read, each value holding the
// canary; binary values are base64.
var leakSecrets = []struct {
	name, region, value string
	binary, deleted     bool
}{
	{name: "leak/str", value: canary + "-STR"},
	{name: "leak/json", value: `{"user":"` + canary + `-USER","pw":"` + canary + `-PW","nothing":null}`},
	{name: "leak/west", region: "us-west-2", value: canary + "-WEST"},
	{name: "leak/gone", value: canary + "-GONE", deleted: true},
	{name: "leak/big", value: canary + "-BIG-" + strings.Repeat("x", 128*1024)},
	{name: "leak/nul", value: base64.StdEncoding.EncodeToString([]byte(canary + "-NUL\x00tail")), binary: true},
}

// leakCases are the failures of docs/errors.md's table (and the network
// faults of testdata/faults/persistent.txtar), each as a command line
// that fails with code.
var leakCases = []struct {
	name  string
	fault *faultproxy.Fault
	env   []string // added to the environment
	args  []string // before "--"
	cmd   []string // the command; "echo CHILD-RAN" if nil
	code  int
	want  string // a regexp the "smexec: error: " line must match
	// writes: the failure is in writing a file, which only exec does.
	writes bool
}{
	{name: "malformed REF", args: []string{"-e", "A=arn:aws:secretsmanager:us-east-1:12:secret:x", "-e", "B=leak/str"}, want: `--env A=arn:aws:secretsmanager:us-east-1:12:secret:x: ARN account "12" is not 12 digits`, code: 125},
	{name: "bad env name", args: []string{"-e", "1BAD=leak/str", "-e", "B=leak/json:pw"}, want: `--env 1BAD=leak/str: env name "1BAD" is not a valid name`, code: 125},
	{name: "duplicate target", args: []string{"-e", "A=leak/str", "-e", "A=leak/json:pw"}, want: `--env A=leak/json:pw: target A is already set by --env A=leak/str`, code: 125},
	{name: "file path is a directory", args: []string{"-f", "{dir}=leak/str", "-e", "B=leak/json:pw"}, want: `--file .*/dir=leak/str: write .*/dir: the path is a directory`, code: 125},
	{name: "unwritable folder", args: []string{"-f", "{regular}/x=leak/str", "-e", "B=leak/json:pw"}, want: `--file .*/regular/x=leak/str: write .*/regular/x: create folder: not a directory`, code: 125},
	{name: "no command", args: []string{"-e", "A=leak/str"}, cmd: []string{}, want: `expected "<command> \.\.\."`, code: 125},
	{name: "nothing after --", args: []string{"-e", "A=leak/str", "--"}, cmd: []string{}, want: `no command given: smexec \[flags\] -- COMMAND \[ARG\.\.\.\]`, code: 125},
	{name: "empty command name", args: []string{"-e", "A=leak/str"}, cmd: []string{""}, want: `command not found: the command name is empty`, code: 127},
	{name: "command not found", args: []string{"-e", "A=leak/str"}, cmd: []string{"no-such-command-smexec"}, want: `command not found: no-such-command-smexec`, code: 127},
	{name: "unknown flag", args: []string{"--no-such-flag", "-e", "A=leak/str"}, want: `unknown flag --no-such-flag`, code: 125},
	{name: "missing credentials", env: []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="}, args: []string{"-e", "A=leak/str"}, want: `--env A=leak/str: secret leak/str in us-east-1: no AWS credentials found`, code: 125},
	{name: "credentials not accepted", fault: &faultproxy.Fault{Kind: faultproxy.AWSError, Code: "UnrecognizedClientException"}, args: []string{"-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: the AWS credentials were not accepted \(UnrecognizedClientException\)`, code: 125},
	{name: "expired token", fault: &faultproxy.Fault{Kind: faultproxy.AWSError, Code: "ExpiredTokenException"}, args: []string{"-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: the AWS session token has expired \(ExpiredTokenException\)`, code: 125},
	{name: "KMS decryption failure", fault: &faultproxy.Fault{Kind: faultproxy.AWSError, Code: "DecryptionFailure"}, args: []string{"-e", "A=leak/str"}, want: `secret leak/str in us-east-1: Secrets Manager could not decrypt the secret \(DecryptionFailure\)`, code: 125},
	{name: "KMS error code", fault: &faultproxy.Fault{Kind: faultproxy.AWSError, Code: "KMSDisabledException"}, args: []string{"-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: KMS refused to decrypt the secret \(KMSDisabledException\)`, code: 125},
	{name: "nothing listening", env: []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:1", "AWS_MAX_ATTEMPTS=1"}, args: []string{"-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: could not connect to http://127\.0\.0\.1:1 \(connection refused\)`, code: 125},
	{name: "wrong region", args: []string{"-e", "A=leak/west", "-e", "B=leak/json:pw"}, want: `--env A=leak/west: secret leak/west in us-east-1: not found \(ResourceNotFoundException\)`, code: 125},
	{name: "deleted secret", args: []string{"-e", "A=leak/gone", "-e", "B=leak/json:pw"}, want: `--env A=leak/gone: secret leak/gone in us-east-1: the secret is scheduled for deletion`, code: 125},
	{name: "value too large for an env var", args: []string{"-e", "A=leak/big", "-e", "B=leak/json:pw"}, want: `--env A=leak/big: secret leak/big: the value is 131088 bytes, too large for an env var`, code: 125},
	{name: "NUL byte in an env var", args: []string{"-e", "A=leak/nul", "-e", "B=leak/json:pw"}, want: `--env A=leak/nul: secret leak/nul: the value holds a NUL byte`, code: 125},
	{name: "JSON key not found", args: []string{"-e", "A=leak/json:nope", "-e", "B=leak/json:pw"}, want: `--env A=leak/json:nope: secret leak/json: JSON key "nope" not found in the secret`, code: 125},
	{name: "JSON key is null", args: []string{"-e", "A=leak/json:nothing"}, want: `--env A=leak/json:nothing: secret leak/json: JSON key "nothing" is null`, code: 125},
	{name: "JSON key on a value that is not JSON", args: []string{"-e", "A=leak/str:key", "-e", "B=leak/json:pw"}, want: `--env A=leak/str:key: secret leak/str: JSON key "key" given but the secret value is not valid JSON`, code: 125},
	{name: "JSON key on a binary secret", args: []string{"-e", "A=leak/nul:key"}, want: `--env A=leak/nul:key: secret leak/nul: binary secrets have no JSON fields`, code: 125},
	{name: "HTTP 503", env: []string{"AWS_MAX_ATTEMPTS=1"}, fault: &faultproxy.Fault{Kind: faultproxy.Status, Status: 503}, args: []string{"-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: Secrets Manager answered HTTP 503 Service Unavailable after 1 attempt`, code: 125},
	{name: "throttled", env: []string{"AWS_MAX_ATTEMPTS=1"}, fault: &faultproxy.Fault{Kind: faultproxy.AWSError, Code: "ThrottlingException"}, args: []string{"-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: throttled by Secrets Manager \(ThrottlingException\) after 1 attempt`, code: 125},
	{name: "connection reset", env: []string{"AWS_MAX_ATTEMPTS=1"}, fault: &faultproxy.Fault{Kind: faultproxy.Reset}, args: []string{"-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: the connection to http://127\.0\.0\.1:[0-9]+ was reset before an answer`, code: 125},
	{name: "stall past --timeout", fault: &faultproxy.Fault{Kind: faultproxy.Stall}, args: []string{"--timeout", "500ms", "-e", "A=leak/str", "-e", "B=leak/json:pw"}, want: `secret leak/str in us-east-1: timed out waiting for Secrets Manager`, code: 125},
}

// seedLeakSecrets creates leakSecrets on the open moto, once per process.
func seedLeakSecrets(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range leakSecrets {
		region := s.region
		if region == "" {
			region = testRegion
		}
		c := sm.NewFromConfig(awsConfig(url, region))
		in := &sm.CreateSecretInput{Name: aws.String(s.name)}
		if s.binary {
			b, err := base64.StdEncoding.DecodeString(s.value)
			if err != nil {
				t.Fatal(err)
			}
			in.SecretBinary = b
		} else {
			in.SecretString = aws.String(s.value)
		}
		if _, err := c.CreateSecret(ctx, in); err != nil {
			if strings.Contains(err.Error(), "ResourceExistsException") || s.deleted && strings.Contains(err.Error(), "InvalidRequestException") {
				continue // seeded by an earlier test of this process
			}
			t.Fatal(err)
		}
		if s.deleted {
			if _, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String(s.name)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// leakSetup seeds the leak secrets on moto and returns the built smexec
// and a fault proxy in front of moto, closed when the test ends.
func leakSetup(t *testing.T) (bin string, p *faultproxy.Proxy) {
	t.Helper()
	e := startMoto(t)
	seedLeakSecrets(t, e.open.URL)
	return buildSmexec(t), startProxy(t, e.open.URL)
}

// TestNoLeaks runs every failure case at every log level, as exec, check
// and export, and asserts that no seeded value appears on stdout or
// stderr, that the exit code is the documented one and that the child
// never runs.
func TestNoLeaks(t *testing.T) {
	bin, p := leakSetup(t)

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "regular"), []byte("a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The control: a run that succeeds prints a value where it should,
	// and this harness sees it.
	control := exec.Command(bin, "get", "leak/str")
	control.Env = processEnv(p.URL)
	out, err := control.Output()
	if err != nil || !strings.Contains(string(out), canary) {
		t.Fatalf("smexec get leak/str = %q, %v; want the value", out, err)
	}

	paths := strings.NewReplacer("{dir}", filepath.Join(dir, "dir"), "{regular}", filepath.Join(dir, "regular"))

	for _, c := range leakCases {
		t.Run(c.name, func(t *testing.T) {
			if c.fault != nil {
				p.SetFault(*c.fault)
				defer p.SetFault(faultproxy.Fault{})
			}
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = paths.Replace(a)
			}
			command := c.cmd
			if command == nil {
				command = []string{"echo", "CHILD-RAN"}
			}
			// exec as given at every log level; where the case is about
			// its mappings or fetching, also check and export with the same
			// mappings, at the most verbose level.
			execArgs := append(append(slices.Clone(args), "--"), command...)
			if len(command) == 0 {
				execArgs = args // nothing after the flags, not even --
			}
			var runs [][]string
			for _, level := range []string{"debug", "info", "warn", "error"} {
				runs = append(runs, append([]string{"--log-level", level}, execArgs...))
			}
			runs = append(runs, append([]string{"--log-level", "debug", "--log-format", "json"}, execArgs...))
			if c.cmd == nil && !c.writes {
				runs = append(runs, append([]string{"--log-level", "debug", "check"}, args...))
				if !hasFileMapping(args) {
					runs = append(runs, append([]string{"--log-level", "debug", "export"}, args...))
				}
			}
			for _, argv := range runs {
				cmd := exec.Command(bin, argv...)
				cmd.Env = processEnv(p.URL, c.env...)
				cmd.Dir = dir
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				json := slices.Contains(argv, "--log-format")
				want := c.code
				if argv[2] == "check" || argv[2] == "export" {
					want = 125 // a bad command line or a failed fetch; never 127
				}
				if code != want {
					t.Errorf("smexec %q: exit %d, want %d; stderr:\n%s", argv, code, want, stderr.String())
				}
				if strings.Contains(stdout.String(), "CHILD-RAN") {
					t.Errorf("smexec %q: the child ran", argv)
				}
				for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
					for _, form := range leakForms() {
						if strings.Contains(out, form) {
							t.Errorf("smexec %q: %s holds a secret value (as %q):\n%s", argv, name, form, out)
						}
					}
				}
				if stderr.Len() == 0 {
					t.Errorf("smexec %q: failed with nothing on stderr", argv)
				}
				// The run failed the way the case means it to, not earlier
				// for a reason that never reached the value.
				errs := stderr.String()
				if json {
					errs = jsonErrors(t, argv, errs)
				}
				if !regexp.MustCompile(`(?m)^smexec: error: .*` + c.want).MatchString(errs) {
					t.Errorf("smexec %q: stderr does not say %q:\n%s", argv, c.want, stderr.String())
				}
			}
		})
	}
}

// leakForms are the seeded values as they could leak: the canary every
// value holds, and the start of each value's base64 and hex.
func leakForms() []string {
	forms := []string{canary}
	for _, s := range leakSecrets {
		b := []byte(s.value)
		if s.binary {
			b, _ = base64.StdEncoding.DecodeString(s.value)
		}
		forms = append(forms, base64.StdEncoding.EncodeToString(b)[:16], hex.EncodeToString(b)[:16])
	}
	return forms
}

// jsonErrors reads stderr of a --log-format json run, which must be JSON
// records only, and returns its ERROR records as "smexec: error: MSG"
// lines, for the same checks as the text runs.
func jsonErrors(t *testing.T, argv []string, stderr string) string {
	t.Helper()
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("smexec %q: a stderr line is not JSON: %q", argv, line)
			continue
		}
		if rec.Level == "ERROR" {
			lines = append(lines, "smexec: error: "+rec.Msg)
		}
	}
	return strings.Join(lines, "\n")
}

func hasFileMapping(args []string) bool {
	for _, a := range args {
		if a == "-f" {
			return true
		}
	}
	return false
}

// TestCmdlineHoldsNoValue reads /proc/PID/cmdline of a running smexec
// while it waits for Secrets Manager (through a slow proxy), and again
// once it has become the child: neither holds a value. The child's
// environment does, which shows the reads can see one.
func TestCmdlineHoldsNoValue(t *testing.T) {
	bin, p := leakSetup(t)
	p.SetLatency(time.Second)

	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-e", "A=leak/str", "-f", filepath.Join(t.TempDir(), "pw")+"=leak/json:pw", "--", sleep, "30")
	cmd.Env = processEnv(p.URL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	proc := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid))
	var whileResolving int
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("smexec did not become the child within 20s")
		}
		raw, err := os.ReadFile(proc + "/cmdline")
		if err != nil {
			t.Fatalf("read cmdline: %v", err)
		}
		argv := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
		if strings.Contains(string(raw), canary) {
			t.Fatalf("cmdline %q holds a secret value", argv)
		}
		if len(raw) == 0 {
			continue // read in the middle of the exec
		}
		if argv[0] == bin {
			whileResolving++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if len(argv) != 2 || argv[0] != sleep || argv[1] != "30" {
			t.Fatalf("the child's cmdline is %q, want its own argv", argv)
		}
		break
	}
	if whileResolving < 10 {
		t.Fatalf("read smexec's cmdline only %d times while it resolved; the test did not watch it", whileResolving)
	}
	environ, err := os.ReadFile(proc + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(environ), "\x00"), "A="+canary+"-STR") {
		t.Fatalf("the child's environment lacks A: the reads of /proc saw the wrong process")
	}
}
