package rotate

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/target"
)

// With --on-change restart and no --mask, a rotation keeps the new values
// for the next restart; the ones they replace, and the fresh ones that
// changed nothing, are wiped, not left as garbage.
func TestARestartWipesTheValuesItNoLongerNeeds(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1) to supervise")
	}
	command := func([]Value) (launch.Command, error) {
		return launch.Command{Path: sleep, Argv: []string{"sleep", "60"}}, nil
	}
	a := target.Mapping{Kind: target.Env, Name: "A"}
	b := target.Mapping{Kind: target.Env, Name: "B"}
	oldA, oldB := []byte("first-value-a"), []byte("steady-value-b")
	r := New(Config{
		Every: time.Hour, OnChange: Action{Do: "restart", Name: "restart"}, Keep: true,
		Log: slog.New(slog.DiscardHandler), Command: command,
		Files: target.NewFiles(target.FileOptions{UID: -1, GID: -1}),
	}, []Value{{Mapping: a, Data: oldA}, {Mapping: b, Data: oldB}})
	cmd, _ := command(nil)
	sup, err := launch.Supervise(cmd, launch.Options{KillSignal: syscall.SIGTERM, KillTimeout: time.Second, OutputGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sup.Wait(); close(done) }()
	newA, freshB := []byte("second-value-a"), []byte("steady-value-b")
	err = r.apply(context.Background(), []Value{{Mapping: a, Data: newA}, {Mapping: b, Data: freshB}}, sup)
	sup.Exit()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	zero := func(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }
	if !zero(oldA) {
		t.Errorf("the replaced value was not wiped: %q", oldA)
	}
	if !zero(freshB) {
		t.Errorf("the fresh copy of an unchanged value was not wiped: %q", freshB)
	}
	if string(r.vals[0].Data) != "second-value-a" || string(r.vals[1].Data) != "steady-value-b" {
		t.Errorf("the values kept for the next restart are %q, %q", r.vals[0].Data, r.vals[1].Data)
	}
}

// A rotation that cannot be applied (here a file target whose folder has
// become a file) leaves the command with the values it runs with: the
// masker must be told that they are still current, and so are the new
// ones, which may be half written. A value rotated away and back while a
// rotation failed is the same case. (That the masker keeps its current
// values past the grace period is cli's TestMaskerGrace.)
func TestAFailedRotationKeepsTheRunningValuesMasked(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sub"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var current []string // what the masker was last told is current
	m := target.Mapping{Kind: target.File, Name: filepath.Join(dir, "sub", "f"), Source: "-f F"}
	r := New(Config{
		Every: time.Hour, OnChange: Action{Do: "signal", Signal: syscall.SIGHUP, Name: "signal:HUP"}, Keep: true,
		Log:   slog.New(slog.DiscardHandler),
		Files: target.NewFiles(target.FileOptions{UID: -1, GID: -1}),
		Mask: func(vals []Value) {
			current = current[:0]
			for _, v := range vals {
				current = append(current, string(v.Data))
			}
		},
	}, []Value{{Mapping: m, Data: []byte("running-value")}})

	for range 2 { // the next poll fails the same way
		fresh := []Value{{Mapping: m, Data: []byte("rotated-value")}}
		if err := r.apply(context.Background(), fresh, nil); err == nil {
			t.Fatal("the rotation was applied; want it to fail")
		}
		has := map[string]bool{}
		for _, v := range current {
			has[v] = true
		}
		if !has["running-value"] || !has["rotated-value"] {
			t.Fatalf("after a failed rotation the masker holds %q as current; want the running and the rotated value", current)
		}
	}
}
