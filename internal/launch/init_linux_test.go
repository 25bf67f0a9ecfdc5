package launch

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run supervises a shell command and returns its output.
func run(t *testing.T, script string, opt Options) string {
	t.Helper()
	var out bytes.Buffer
	opt.Stdout, opt.KillTimeout, opt.OutputGrace = &out, time.Second, time.Second
	s, err := Supervise(Command{Path: "/bin/sh", Argv: []string{"sh", "-c", script}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := s.Wait(); code != 0 || err != nil {
		t.Fatalf("got %d, %v; output %q", code, err, out.String())
	}
	return out.String()
}

// status reads a hex mask such as SigIgn from what the command starts
// (awk's own status: a caught signal is reset by exec, an ignored one is
// not).
const status = `awk '/^SigIgn/ {print $2}' /proc/self/status`

func TestOwnJobIsNeverGroupZeroOrOneNorAsPID1(t *testing.T) {
	for _, tc := range []struct {
		init bool
		pgrp int
		want bool
	}{
		{false, 4242, true},
		{true, 4242, false}, // PID 1 has no shell to hand a stop to
		{false, 1, false},   // kill(-1) is every process
		{false, 0, false},   // a group outside the PID namespace
		{true, 1, false},
	} {
		if got := ownJob(tc.init, tc.pgrp); got != tc.want {
			t.Errorf("ownJob(init=%v, %d) = %v, want %v", tc.init, tc.pgrp, got, tc.want)
		}
	}
}

// A SIGHUP ignored when smexec started (nohup) stays ignored for the
// command: catching it would reset it to the default in the child. The
// test runs itself again with SIGHUP ignored from the start.
func TestAnIgnoredSIGHUPStaysIgnoredForTheCommand(t *testing.T) {
	if os.Getenv("SMEXEC_TEST_HUP_IGNORED") == "1" {
		fmt.Println("mask", strings.TrimSpace(run(t, status, Options{})))
		return
	}
	cmd := exec.Command("/bin/sh", "-c", `trap "" HUP; exec "$0" -test.run '^TestAnIgnoredSIGHUPStaysIgnoredForTheCommand$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "SMEXEC_TEST_HUP_IGNORED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var hex string
	for _, line := range strings.Split(string(out), "\n") {
		if m, ok := strings.CutPrefix(line, "mask "); ok {
			hex = m
		}
	}
	mask, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		t.Fatalf("no mask in %s", out)
	}
	if mask&(1<<(syscall.SIGHUP-1)) == 0 {
		t.Errorf("SigIgn %x: SIGHUP is not ignored for the command", mask)
	}
}

func TestTheCommandGetsTheParentDeathSignal(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 reads the command's parent-death signal:", err)
	}
	get := `exec python3 -c 'import ctypes; c = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(c)); print(c.value)'`
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, 0} {
		if got := strings.TrimSpace(run(t, get, Options{DeathSignal: sig})); got != strconv.Itoa(int(sig)) {
			t.Errorf("DeathSignal %d: the command has %s", sig, got)
		}
	}
}

// The supervisor is non-dumpable with a core limit of 0; the command
// keeps the limit smexec was started with.
func TestNoCoreDumpForTheSupervisorOnlyForIt(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &orig); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_CORE, &orig)
	want := syscall.Rlimit{Cur: 1 << 20, Max: orig.Max}
	if orig.Max < want.Cur {
		want.Cur = orig.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &want); err != nil {
		t.Fatal(err)
	}
	// A restart forks again, and must give the limit back again.
	var out bytes.Buffer
	sh := func(script string) Command { return Command{Path: "/bin/sh", Argv: []string{"sh", "-c", script}} }
	s, err := Supervise(sh("exec sleep 60"), Options{Stdout: &out, KillSignal: syscall.SIGTERM, KillTimeout: 10 * time.Second, OutputGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go s.Restart(sh(`grep "Max core" /proc/self/limits`))
	if code, err := s.Wait(); code != 0 || err != nil {
		t.Fatalf("got %d, %v", code, err)
	}
	if f := strings.Fields(out.String()); len(f) < 5 || f[4] != strconv.FormatUint(want.Cur, 10) {
		t.Errorf("the restarted command has %q, want a soft limit of %d", out.String(), want.Cur)
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &now); err != nil || now.Cur != 0 {
		t.Errorf("smexec's own core limit is %d (%v), want 0", now.Cur, err)
	}
	const prGetDumpable = 3
	if d, _, _ := syscall.RawSyscall(syscall.SYS_PRCTL, prGetDumpable, 0, 0); d != 0 {
		t.Errorf("smexec is dumpable (%d)", d)
	}
}

// A stopped command acts on no signal but SIGKILL: told to end, it is
// continued too, as a shell's kill does for a stopped job, rather than
// left until --kill-timeout.
func TestAStoppedCommandToldToEndIsContinued(t *testing.T) {
	s, err := Supervise(Command{Path: "/bin/sh", Argv: []string{"sh", "-c", "kill -STOP $$; sleep 60"}}, Options{KillSignal: syscall.SIGTERM, KillTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	stat := "/proc/" + strconv.Itoa(s.pid) + "/stat"
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(stat); strings.HasPrefix(strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[0], "T") {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the command did not stop")
		}
	}
	done := make(chan int)
	go func() {
		code, _ := s.Wait()
		done <- code
	}()
	s.Exit()
	select {
	case code := <-done:
		if code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit code %d, want 143", code)
		}
	case <-time.After(10 * time.Second):
		s.send(syscall.SIGKILL)
		t.Fatal("the stopped command was not continued to act on SIGTERM")
	}
}
