package launch

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// main calls NonDumpable first, so that smexec is non-dumpable from its
// start, not only once a supervisor runs: resolving already holds values
// (in exec mode too), and a crash or a debugger of the same user must
// not read them.
func TestNonDumpableFromTheStart(t *testing.T) {
	if os.Getenv("SMEXEC_TEST_DUMPABLE") == "1" {
		NonDumpable()
		const prGetDumpable = 3
		d, _, _ := syscall.RawSyscall(syscall.SYS_PRCTL, prGetDumpable, 0, 0)
		os.Stdout.WriteString("dumpable=" + string(rune('0'+d)) + "\n")
		return
	}
	// A process of its own, so that no supervisor in this test binary
	// has made it non-dumpable first.
	cmd := exec.Command(os.Args[0], "-test.run=^TestNonDumpableFromTheStart$")
	cmd.Env = append(os.Environ(), "SMEXEC_TEST_DUMPABLE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "dumpable=0\n") {
		t.Errorf("a process is dumpable after NonDumpable: %q", out)
	}
}
