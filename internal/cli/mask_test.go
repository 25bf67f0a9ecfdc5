package cli

import (
	"bytes"
	"io"
	"log/slog"
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

// A rotation that fails after the masker was given the new values gives
// it the running ones again (rotate's TestAFailedRotationKeepsTheRunningValuesMasked):
// a value replaced and then made current again stays masked past
// maskGrace, with the new one.
func TestMaskerKeepsAValueMadeCurrentAgain(t *testing.T) {
	var out bytes.Buffer
	deps := &Deps{Stdout: &out, Stderr: io.Discard, Log: slog.New(slog.DiscardHandler)}
	m := newMasker(deps, maskVals("running-value"))
	clock := time.Unix(1e9, 0)
	m.now = func() time.Time { return clock }
	defer func() {
		m.mu.Lock()
		if m.timer != nil {
			m.timer.Stop()
		}
		m.mu.Unlock()
	}()
	for range 2 { // the next poll fails the same way
		m.add(maskVals("rotated-value"))
		m.add(maskVals("running-value", "rotated-value"))
		clock = clock.Add(maskGrace)
		m.mu.Lock()
		m.rebuild(clock) // what the timer does
		m.mu.Unlock()
	}
	out.Reset()
	m.stdout.Write([]byte("running-value rotated-value\n"))
	m.stdout.Flush()
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
