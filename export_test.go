package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestExportScripts runs the scripts of testdata/export, which read
// smexec export's output back with the real readers: python-dotenv, with
// the python in $DOTENV_PYTHON (default python3), and Node's dotenv, from
// $DOTENV_NODE_MODULES (default .node/node_modules). make test installs
// both where they are missing; without them the scripts fail, never skip.
func TestExportScripts(t *testing.T) {
	e := startMoto(t)
	python := os.Getenv("DOTENV_PYTHON")
	if python == "" {
		python = "python3"
	}
	modules := os.Getenv("DOTENV_NODE_MODULES")
	if modules == "" {
		modules = ".node/node_modules"
	}
	modules, err := filepath.Abs(modules)
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/export",
		Setup: func(env *testscript.Env) error {
			if err := e.setup(env); err != nil {
				return err
			}
			env.Setenv("DOTENV_PYTHON", python)
			env.Setenv("NODE_PATH", modules)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sm": func(ts *testscript.TestScript, neg bool, args []string) { smCmd(ts, neg, args, e.open.URL) },
		},
	})
}
