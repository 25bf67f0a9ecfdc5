package launch

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A hold taken while the supervisor is reaping a storm of orphans stops
// the reaping at once: smexec's own helper (a credential_process) may
// exit a moment later, and its exit is its caller's. Before, a pass that
// had begun went on reaping whatever exited until none was left.
func TestHoldReapingStopsAReapInProgress(t *testing.T) {
	s := &Supervisor{opt: Options{Log: slog.New(slog.DiscardHandler)}}
	var pids []int
	for range 3 {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{})
		if err != nil {
			t.Skip("cannot start true(1):", err)
		}
		pids = append(pids, pid)
	}
	defer func() {
		for _, pid := range pids {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
	}()
	for _, pid := range pids {
		waitZombie(t, pid)
	}
	var release func()
	afterReap = func() {
		if release == nil {
			release = s.HoldReaping() // the poller, at that very moment
		}
	}
	defer func() { afterReap = nil }()
	s.reap()
	release()
	left := 0
	for _, pid := range pids {
		var ws syscall.WaitStatus
		if p, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); p == pid {
			left++
		}
	}
	if left != len(pids)-1 {
		t.Errorf("%d of %d exits left to their parent after a hold taken during the first reap, want %d", left, len(pids), len(pids)-1)
	}
}

func waitZombie(t *testing.T, pid int) {
	t.Helper()
	for range 2000 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err == nil {
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
			if len(f) > 0 && f[0] == "Z" {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d did not exit", pid)
}
