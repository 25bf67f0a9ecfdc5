package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/smexec/smexec/internal/target"
)

func maskVals(vs ...string) []value {
	out := make([]value, len(vs))
	for i, v := range vs {
		out[i] = value{Mapping: target.Mapping{Source: "--env V" + v}, Data: []byte(v)}
	}
	return out
}

// A replaced value stays masked for maskGrace, then is dropped; the
// current values stay masked however long.
func TestMaskerGrace(t *testing.T) {
	var out bytes.Buffer
	deps := &Deps{Stdout: &out, Stderr: io.Discard, Log: slog.New(slog.DiscardHandler)}
	m := newMasker(deps, maskVals("first-value", "steady-value"))
	clock := time.Unix(1e9, 0)
	m.now = func() time.Time { return clock }
	print := func(s string) string {
		t.Helper()
		out.Reset()
		m.stdout.Write([]byte(s))
		m.stdout.Flush()
		return out.String()
	}

	m.add(maskVals("second-value", "steady-value"))
	if got, want := print("first-value second-value steady-value\n"), "*** *** ***\n"; got != want {
		t.Fatalf("within the grace period: got %q, want %q", got, want)
	}
	clock = clock.Add(maskGrace - time.Second)
	m.add(maskVals("third-value", "steady-value"))
	if got, want := print("first-value second-value third-value\n"), "*** *** ***\n"; got != want {
		t.Fatalf("within both grace periods: got %q, want %q", got, want)
	}
	clock = clock.Add(time.Second)
	m.mu.Lock()
	m.rebuild(clock) // what the timer does
	m.mu.Unlock()
	if got, want := print("first-value second-value third-value steady-value\n"), "first-value *** *** ***\n"; got != want {
		t.Fatalf("after the first grace period: got %q, want %q", got, want)
	}
	if len(m.old) != 1 {
		t.Fatalf("%d replaced values held, want 1", len(m.old))
	}
	m.mu.Lock()
	m.timer.Stop()
	m.mu.Unlock()
}

// A rotation that cannot be applied (here a file target whose folder has
// become a file) leaves the command with the values it runs with: they
// must stay masked past maskGrace, and so must the new ones, which may be
// half written. A value rotated away and back while a rotation failed is
// the same case.
func TestMaskerKeepsTheRunningValuesWhenARotationFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sub"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	deps := &Deps{Stdout: &out, Stderr: io.Discard, Log: slog.New(slog.DiscardHandler)}
	cmd := &ExecCmd{SuperviseFlags: SuperviseFlags{Mask: true, Refresh: time.Hour, OnChange: onChange{"signal", syscall.SIGHUP}}}
	s := &supervised{deps: deps, flags: cmd, files: target.NewFiles(target.FileOptions{UID: -1, GID: -1}), key: []byte("k")}
	m := target.Mapping{Kind: target.File, Name: filepath.Join(dir, "sub", "f"), Source: "-f F"}
	s.vals = []value{{Mapping: m, Data: []byte("running-value")}}
	s.sums = [][sha256.Size]byte{s.sum(s.vals[0].Data)}
	s.out = newMasker(deps, s.vals)
	clock := time.Unix(1e9, 0)
	s.out.now = func() time.Time { return clock }
	defer func() {
		s.out.mu.Lock()
		if s.out.timer != nil {
			s.out.timer.Stop()
		}
		s.out.mu.Unlock()
	}()

	for range 2 { // the next poll fails the same way
		fresh := []value{{Mapping: m, Data: []byte("rotated-value")}}
		if err := s.apply(context.Background(), fresh, nil); err == nil {
			t.Fatal("the rotation was applied; want it to fail")
		}
		clock = clock.Add(maskGrace)
		s.out.mu.Lock()
		s.out.rebuild(clock) // what the timer does
		s.out.mu.Unlock()
	}
	out.Reset()
	s.out.stdout.Write([]byte("running-value rotated-value\n"))
	s.out.stdout.Flush()
	if got, want := out.String(), "*** ***\n"; got != want {
		t.Fatalf("after a failed rotation and the grace period: got %q, want %q", got, want)
	}
}

// A value that a rotation makes too short to mask is named, as one too
// short at start is.
func TestMaskerWarnsOfAShortValueAfterARotation(t *testing.T) {
	var log bytes.Buffer
	deps := &Deps{Stdout: io.Discard, Stderr: io.Discard, Log: slog.New(slog.NewTextHandler(&log, nil))}
	m := newMasker(deps, maskVals("long-enough"))
	m.add(maskVals("abc"))
	m.mu.Lock()
	if m.timer != nil {
		m.timer.Stop()
	}
	m.mu.Unlock()
	if !bytes.Contains(log.Bytes(), []byte(`msg="--mask: a value shorter than 4 bytes is not masked" mapping="--env Vabc"`)) {
		t.Errorf("no warning for the short value: %q", log.String())
	}
}
