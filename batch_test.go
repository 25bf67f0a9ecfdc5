package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestBatchScripts runs the scripts of testdata/batch, which also count
// the requests smexec makes, through a proxy in front of moto (the
// commands are proxyCmds' in faults_test.go):
//
//	proxy [-iam] [DELAY]          route smexec through a counting proxy
//	requests OP=N [OP=N...]       the proxy saw exactly these requests since the last check
func TestBatchScripts(t *testing.T) {
	e := startMoto(t)
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/batch",
		Setup: e.setup,
		Cmds:  proxyCmds(e),
	})
}
