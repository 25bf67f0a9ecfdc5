package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// spawner is the path of the spawn helper (./spawn), built by
// buildSpawner. Every measured run is started, timed and measured by it,
// never by startbench itself: see spawn/main.go for why a small parent is
// needed for a true peak RSS.
var spawner string

// buildSpawner builds the spawn helper into dir, static and stripped.
func buildSpawner(dir string) error {
	out := filepath.Join(dir, "spawn")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "github.com/smexec/smexec/internal/testenv/startbench/spawn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the spawn helper: %v: %s", err, b)
	}
	spawner = out
	return nil
}

// spawned runs argv (argv[0] an absolute path) through the spawner with
// env and returns its wall time, from fork to the end of wait4, and its
// peak RSS in KB; a non-zero exit is an error that carries its stderr.
func spawned(env []string, argv ...string) (time.Duration, int64, error) {
	cmd := exec.Command(spawner, argv...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, stderr.String())
	}
	var ns, rss int64
	var code int
	if _, err := fmt.Sscan(string(out), &ns, &rss, &code); err != nil {
		return 0, 0, fmt.Errorf("spawner said %q: %v", out, err)
	}
	if code != 0 {
		return 0, 0, fmt.Errorf("%s: exit %d: %s", filepath.Base(argv[0]), code, stderr.String())
	}
	return time.Duration(ns), rss, nil
}

// spawnFloor is the peak RSS the spawner reports for /bin/true: below it,
// a figure says nothing of the child.
func spawnFloor() (int64, error) {
	_, rss, err := spawned(os.Environ(), "/bin/true")
	return rss, err
}
