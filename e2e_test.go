package main

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/smexec/smexec/internal/testenv/fakeagent"
	"github.com/smexec/smexec/internal/testenv/faultproxy"
	"github.com/smexec/smexec/internal/testenv/moto"
)

// The end-to-end suites. Each folder of testdata/ holds testscript
// scripts that run the real smexec (this test binary, as the smexec
// command: see TestMain) as a separate process against moto_server on
// loopback, and assert what it prints, exits with and writes. runSuite
// gives every suite the same environment and commands; a suite adds
// only what is its own.

// TestScripts: the command line, mappings, targets, the commands and
// supervision.
func TestScripts(t *testing.T) { runSuite(t, "script") }

// TestBatchScripts: the requests smexec makes, counted by the proxy.
func TestBatchScripts(t *testing.T) { runSuite(t, "batch") }

// TestFaultScripts: network and service faults the proxy injects.
func TestFaultScripts(t *testing.T) { runSuite(t, "faults") }

// TestIntegrationScripts: the other sources of secrets (the Secrets
// Manager Agent, a local file), logs and audit records, and check's JSON.
func TestIntegrationScripts(t *testing.T) { runSuite(t, "integrations") }

// TestExportScripts reads smexec export's output back with the real
// readers: python-dotenv, with the python in $DOTENV_PYTHON (default
// python3), and Node's dotenv, from $DOTENV_NODE_MODULES (default
// .node/node_modules). make test installs both where they are missing;
// without them the scripts fail, never skip.
func TestExportScripts(t *testing.T) {
	python := cmp.Or(os.Getenv("DOTENV_PYTHON"), "python3")
	modules, err := filepath.Abs(cmp.Or(os.Getenv("DOTENV_NODE_MODULES"), ".node/node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	runSuite(t, "export", withEnv("DOTENV_PYTHON", python, "NODE_PATH", modules))
}

// TestDecodeScripts runs smexec against a loopback endpoint that answers
// every request with one canned answer (the answer command), as a broken
// or hostile endpoint, or a proxy in front of one, might.
func TestDecodeScripts(t *testing.T) {
	runSuite(t, "decode", offline(), withCmds(map[string]scriptCmd{"answer": answerCmd}))
}

// TestDemoScripts runs examples/demo/run.sh as make demo does: with
// smexec on PATH, the repository at $REPO and moto_server at $MOTO_SERVER
// (run.sh starts its own).
func TestDemoScripts(t *testing.T) {
	server, err := moto.Binary()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"REPO", repo, "MOTO_SERVER", server}
	if p := os.Getenv("PYENV_ROOT"); p != "" {
		env = append(env, "PYENV_ROOT", p)
	}
	runSuite(t, "demo", offline(), withEnv(env...), withSetup(func(env *testscript.Env) error {
		env.Setenv("TMPDIR", env.WorkDir)
		return nil
	}))
}

// scriptCmd is a testscript command.
type scriptCmd = func(ts *testscript.TestScript, neg bool, args []string)

// suite is what a suite adds to the shared harness.
type suite struct {
	offline bool
	cmds    map[string]scriptCmd
	setup   []func(*testscript.Env) error
}

// A suiteOption adds one of a suite's own needs.
type suiteOption func(*suite)

// offline is for a suite that brings its own endpoint: no moto_server
// is started, and the SDK's endpoint is a loopback port where nothing
// listens until a script says otherwise.
func offline() suiteOption { return func(s *suite) { s.offline = true } }

// withCmds adds commands to the shared ones.
func withCmds(cmds map[string]scriptCmd) suiteOption {
	return func(s *suite) {
		if s.cmds == nil {
			s.cmds = map[string]scriptCmd{}
		}
		maps.Copy(s.cmds, cmds)
	}
}

// withSetup runs f after the shared setup of each script.
func withSetup(f func(*testscript.Env) error) suiteOption {
	return func(s *suite) { s.setup = append(s.setup, f) }
}

// withEnv sets variables (name, value, name, value, …) in each script.
func withEnv(kv ...string) suiteOption {
	return withSetup(func(env *testscript.Env) error {
		for i := 0; i+1 < len(kv); i += 2 {
			env.Setenv(kv[i], kv[i+1])
		}
		return nil
	})
}

// runSuite runs the scripts of testdata/dir. Every script gets the
// environment of the open moto endpoint and the IAM one (endpoints.setup)
// and these commands:
//
//	sm create|put|delete ...      seed Secrets Manager (smCmd, main_test.go)
//	ssm put|label ...             seed Parameter Store (ssmCmd, ssm_test.go)
//	tlsfront                      an HTTPS endpoint in front of moto (tlsfrontCmd, tls_test.go)
//	proxy, requests, fault, proxied
//	                              smexec through a counting, fault-injecting proxy (proxyCmds, faults_test.go)
//	agent start|requests ...      a fake Secrets Manager Agent (agentCmd, integrations_test.go)
//	json lines|array FILE ...     assert JSON records (jsonCmd, integrations_test.go)
//	waitfor FILE [REGEXP]         wait for a background run (waitforCmd, proc_test.go)
//	signal NAME PIDFILE           signal a background run (signalCmd, proc_test.go)
//
// and the conditions [root] and [serviceaccount] (condition). An offline
// suite has no moto, so none of the commands that seed or front it.
func runSuite(t *testing.T, dir string, opts ...suiteOption) {
	var s suite
	for _, o := range opts {
		o(&s)
	}
	cmds := map[string]scriptCmd{"json": jsonCmd, "waitfor": waitforCmd, "signal": signalCmd}
	setup := offlineSetup
	if !s.offline {
		e := startMoto(t)
		maps.Copy(cmds, e.cmds())
		setup = e.setup
	}
	maps.Copy(cmds, s.cmds)
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", dir),
		UpdateScripts: *update,
		Condition:     condition,
		Cmds:          cmds,
		Setup: func(env *testscript.Env) error {
			env.Values[scriptKey{}] = &script{}
			if err := setup(env); err != nil {
				return err
			}
			for _, f := range s.setup {
				if err := f(env); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// cmds are the commands that seed or front the moto endpoints.
func (e *endpoints) cmds() map[string]scriptCmd {
	cmds := map[string]scriptCmd{
		"sm":       func(ts *testscript.TestScript, neg bool, args []string) { smCmd(ts, neg, args, e.open.URL) },
		"ssm":      func(ts *testscript.TestScript, neg bool, args []string) { ssmCmd(ts, neg, args, e.open.URL) },
		"tlsfront": func(ts *testscript.TestScript, neg bool, args []string) { tlsfrontCmd(ts, neg, args, e.open.URL) },
		"agent":    func(ts *testscript.TestScript, neg bool, args []string) { agentCmd(ts, neg, args, e.open.URL) },
	}
	maps.Copy(cmds, proxyCmds(e))
	return cmds
}

// script is what one script's commands started, for its later commands.
type script struct {
	proxy *faultproxy.Proxy
	agent *fakeagent.Server
}

type scriptKey struct{}

func scriptOf(ts *testscript.TestScript) *script { return ts.Value(scriptKey{}).(*script) }

// condition is the scripts' conditions:
//
//	[root]            the test runs as root, as a script that makes device
//	                  nodes or gives files other owners needs
//	[serviceaccount]  a Kubernetes service account is mounted, as on a CI
//	                  runner in a pod, where --local refuses to run
func condition(cond string) (bool, error) {
	switch cond {
	case "root":
		return os.Geteuid() == 0, nil
	case "serviceaccount":
		_, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount")
		return err == nil, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}
