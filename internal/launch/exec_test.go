package launch

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// ArgSize against the kernel: an environment that ArgSize says fills
// ArgSpace exactly starts; one byte more fails with E2BIG.
func TestArgSpaceIsWhatExecveAccepts(t *testing.T) {
	path, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to start")
	}
	space := ArgSpace()
	start := func(extra int) error {
		c := Command{Path: path, Argv: []string{"true"}}
		for ArgSize(c)+100_000+ptrSize < space+extra {
			c.Env = append(c.Env, "F="+strings.Repeat("x", 100_000-3))
		}
		// One last string to land exactly on space+extra.
		last := space + extra - ArgSize(c) - ptrSize - 1
		c.Env = append(c.Env, strings.Repeat("y", last))
		if got := ArgSize(c); got != space+extra {
			t.Fatalf("built %d bytes, want %d", got, space+extra)
		}
		pid, err := syscall.ForkExec(c.Path, c.Argv, &syscall.ProcAttr{Env: c.Env})
		if err != nil {
			return err
		}
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		return nil
	}
	if err := start(0); err != nil {
		t.Errorf("ArgSize == ArgSpace: %v, want a start", err)
	}
	if err := start(1); !errors.Is(err, syscall.E2BIG) {
		t.Errorf("ArgSize == ArgSpace+1: %v, want E2BIG", err)
	}
}
