package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/smexec/smexec/internal/testenv/moto"
)

// TestDemoScripts runs examples/demo/run.sh, as make demo does, from the
// scripts of testdata/demo: with smexec on PATH, the repository at $REPO
// and moto_server at $MOTO_SERVER (run.sh starts its own).
func TestDemoScripts(t *testing.T) {
	server, err := moto.Binary()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/demo",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("MOTO_SERVER", server)
			env.Setenv("TMPDIR", env.WorkDir)
			if p := os.Getenv("PYENV_ROOT"); p != "" {
				env.Setenv("PYENV_ROOT", p)
			}
			return nil
		},
	})
}
