package main

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"math"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	herdN     = flag.Int("herd", 30, "smexec processes TestHerd starts at once (make stress: 200)")
	herdRate  = flag.Int("herd.rate", 100, "requests a second the proxy lets through in TestHerd's variants without limits of their own; it throttles the rest")
	herdModes = flag.String("herd.modes", "batched,shared-limit,fleet-model,no-batch-attempts20", "comma-separated variants TestHerd runs (see herdVariants)")
)

// herdSecrets is how many secrets each process of the herd reads.
const herdSecrets = 10

// herdVariant is one way TestHerd runs the herd.
type herdVariant struct {
	args []string
	env  []string
	// limits gives the proxy's limits for a herd of n processes:
	// operation → requests a second, "" for all operations together. nil
	// means -herd.rate for all.
	limits  func(n int) map[string]int
	mayFail bool
}

// herdVariants are the ways TestHerd can run the herd. The two quota
// models run smexec with its defaults (no AWS_MAX_ATTEMPTS, no
// AWS_RETRY_MODE, --timeout 30s), and every process must start:
//
//   - shared-limit: one limit for every operation, at a fifth of the
//     herd a second, so the herd's batch calls alone need 5 s of quota
//     (the storm: 100 processes at 20 requests a second);
//   - fleet-model: each operation its own limit, in the ratio Secrets
//     Manager's quotas have (BatchGetSecretValue 100 a second a region,
//     GetSecretValue 10,000), scaled so that n processes make the demand
//     10,000 tasks would: 10,000 batch calls at 100/s are 100 s of quota,
//     as n at n/100 a second are; 100,000 single reads at 10,000/s are
//     10 s, as 10n at n a second are.
//
// The others are measurements of the knobs an operator has: every secret
// read on its own (--no-batch), the SDK's retries as the user sets them
// (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE), a longer --timeout. A variant whose
// runs may fail reports how many did and asserts only that they failed
// as documented and that the rest got their values.
var herdVariants = map[string]herdVariant{
	"batched": {},
	// Batched, with the limit below the herd's one batch call a process.
	"batched-tight":       {limits: all(20)},
	"shared-limit":        {limits: sharedLimit},
	"fleet-model":         {limits: fleetLimits},
	"no-batch-defaults":   {args: []string{"--no-batch"}},
	"no-batch-sdk3":       {args: []string{"--no-batch"}, env: []string{"AWS_MAX_ATTEMPTS=3"}, mayFail: true},
	"no-batch-adaptive":   {args: []string{"--no-batch"}, env: []string{"AWS_RETRY_MODE=adaptive"}, mayFail: true},
	"no-batch-attempts20": {args: []string{"--no-batch", "--timeout", "120s"}, env: []string{"AWS_MAX_ATTEMPTS=20"}},
	"no-batch-adaptive20": {args: []string{"--no-batch", "--timeout", "120s"}, env: []string{"AWS_MAX_ATTEMPTS=20", "AWS_RETRY_MODE=adaptive"}},
	"shared-limit-sdk3":   {env: []string{"AWS_MAX_ATTEMPTS=3"}, limits: sharedLimit, mayFail: true},
	"shared-limit-no-batch": {
		args: []string{"--no-batch"}, limits: sharedLimit, mayFail: true,
	},
	"fleet-model-sdk3":                {env: []string{"AWS_MAX_ATTEMPTS=3"}, limits: fleetLimits, mayFail: true},
	"fleet-model-no-batch":            {args: []string{"--no-batch"}, limits: fleetLimits},
	"fleet-model-adaptive20":          {args: []string{"--timeout", "120s"}, env: []string{"AWS_MAX_ATTEMPTS=20", "AWS_RETRY_MODE=adaptive"}, limits: fleetLimits},
	"fleet-model-no-batch-adaptive20": {args: []string{"--no-batch", "--timeout", "120s"}, env: []string{"AWS_MAX_ATTEMPTS=20", "AWS_RETRY_MODE=adaptive"}, limits: fleetLimits},
}

func all(rate int) func(int) map[string]int {
	return func(int) map[string]int { return map[string]int{"": rate} }
}

func sharedLimit(n int) map[string]int { return map[string]int{"": max(1, n/5)} }

func fleetLimits(n int) map[string]int {
	return map[string]int{"BatchGetSecretValue": max(1, n/100), "GetSecretValue": n}
}

// TestHerd starts -herd smexec processes at once (the built binary, not
// this race-instrumented test binary), each reading herdSecrets secrets
// through a proxy that lets the variant's rates through (-herd.rate for
// all operations unless the variant says) and answers the rest with
// ThrottlingException, as Secrets Manager does past its quota. Every
// process must start its child with the right values, unless the variant
// may fail. It logs the requests, the throttled answers, the requests
// per started process and the p50 and p99 time from start to the
// child's exit; `make stress` runs it with 200 processes and prints them.
func TestHerd(t *testing.T) {
	e := startMoto(t)
	bin := buildSmexec(t)

	// The secrets, with values each process checks.
	secrets := map[string]string{}
	var envArgs []string
	var want strings.Builder
	run := time.Now().UnixNano() // names and values of this run alone
	for i := range herdSecrets {
		name := fmt.Sprintf("herd-%x/secret-%d", run, i)
		value := fmt.Sprintf("herd-value-%d-%x", i, run)
		secrets[name] = value
		envArgs = append(envArgs, "-e", fmt.Sprintf("S%d=%s", i, name))
		fmt.Fprintf(&want, "%s\n", value)
	}
	seed(t, e.open.URL, secrets)
	// The child prints every injected value, one a line.
	var script strings.Builder
	for i := range herdSecrets {
		fmt.Fprintf(&script, `printf '%%s\n' "$S%d"; `, i)
	}

	for _, mode := range strings.Split(*herdModes, ",") {
		v, ok := herdVariants[mode]
		if !ok {
			t.Fatalf("-herd.modes: unknown variant %q", mode)
		}
		t.Run(mode, func(t *testing.T) {
			p := startProxy(t, e.open.URL)
			limits := map[string]int{"": *herdRate}
			if v.limits != nil {
				limits = v.limits(*herdN)
			}
			var said []string
			for _, op := range slices.Sorted(maps.Keys(limits)) {
				p.SetOpRate(op, limits[op])
				if op == "" {
					said = append(said, fmt.Sprintf("all operations %d/s", limits[op]))
				} else {
					said = append(said, fmt.Sprintf("%s %d/s", op, limits[op]))
				}
			}

			// The SDK's default attempts, unless the variant says.
			env := slices.DeleteFunc(processEnv(p.URL), func(kv string) bool { return strings.HasPrefix(kv, "AWS_MAX_ATTEMPTS=") })
			env = append(env, v.env...)
			args := append(append(slices.Clone(v.args), envArgs...), "--", "/bin/sh", "-c", script.String())

			type run struct {
				took           time.Duration
				err            error
				stdout, stderr bytes.Buffer
			}
			runs := make([]run, *herdN)
			var ready, done sync.WaitGroup
			start := make(chan struct{})
			for i := range runs {
				r := &runs[i]
				cmd := exec.Command(bin, args...)
				cmd.Env = env
				cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
				ready.Add(1)
				done.Go(func() {
					ready.Done()
					<-start
					t0 := time.Now()
					r.err = cmd.Run()
					r.took = time.Since(t0)
				})
			}
			ready.Wait()
			t0 := time.Now()
			close(start)
			done.Wait()
			wall := time.Since(t0)

			var failed int
			took := make([]time.Duration, 0, len(runs))
			for i, r := range runs {
				took = append(took, r.took)
				if r.err == nil && r.stdout.String() != want.String() {
					t.Errorf("process %d started its child with the wrong values: stdout %q, want %q", i, r.stdout.String(), want.String())
				}
				if r.err != nil {
					failed++
					if failed <= 3 && !v.mayFail {
						t.Errorf("process %d: %v, stdout %d bytes (want %d), stderr:\n%s", i, r.err, r.stdout.Len(), want.Len(), r.stderr.String())
					}
					// A run that may fail fails only the way the docs say:
					// throttled after its attempts, or out of --timeout.
					if v.mayFail && !herdFailure.MatchString(r.stderr.String()) {
						t.Errorf("process %d failed otherwise than throttled or timed out: %v, stderr:\n%s", i, r.err, r.stderr.String())
					}
				}
			}
			s := p.Stats()
			slices.Sort(took)
			perStart := "-"
			if started := *herdN - failed; started > 0 {
				perStart = fmt.Sprintf("%.1f", float64(s.Requests)/float64(started))
			}
			t.Logf("herd %s: %d processes x %d secrets, proxy limits %s: %d failed; "+
				"%d requests %v, %d throttled, %s requests per started process; start to child exit p50 %v, p99 %v, max %v; all done in %v",
				mode, *herdN, herdSecrets, strings.Join(said, ", "), failed, s.Requests, p.Counts(), s.Throttled, perStart,
				pct(took, 50), pct(took, 99), took[len(took)-1], wall.Round(time.Millisecond))
			if failed > 0 && !v.mayFail {
				t.Fatalf("%d of %d processes failed", failed, *herdN)
			}
			// At least this many requests arrive at once: one batch call a
			// process, or every secret read on its own.
			demand := *herdN
			if slices.Contains(v.args, "--no-batch") {
				demand *= herdSecrets
			}
			if rate, ok := limits[""]; ok && demand > rate && s.Throttled == 0 {
				t.Errorf("%d requests at once against a limit of %d a second, and nothing was throttled: the herd did not reach the limit", demand, rate)
			}
		})
	}
}

// herdFailure is how a herd process that may fail must fail.
var herdFailure = regexp.MustCompile(`(?m)^smexec: error: .*(throttled by Secrets Manager \(ThrottlingException\) after [0-9]+ attempts?|timed out waiting for Secrets Manager|no answer from \S+ within \S+ after [0-9]+ attempts?)$`)

// pct is the p-th percentile of sorted durations (nearest rank).
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)].Round(time.Millisecond)
}
