package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoLeakWhenInterrupted stops runs that write 400 file targets of a
// 64 KB value (from --local, whose values Secrets Manager's 65,536 bytes
// bound) with SIGTERM at several moments: before
// anything is written, while the files are staged, while they are
// renamed, and after. After every run no file in the target folders
// holds the value (docs/reference.md#files), unless the command ran with
// them in exec mode, where they stay by design, or write finished (exit
// 0, or the signal after it was done); then all are whole and no temp
// file is left.
func TestNoLeakWhenInterrupted(t *testing.T) {
	bin := buildSmexec(t)
	const targets = 400
	value := strings.Repeat(canary+"-INTERRUPTED-", 65536/len(canary+"-INTERRUPTED-"))
	dev := filepath.Join(t.TempDir(), "dev.json")
	b, _ := json.Marshal(map[string]string{"big": value})
	if err := os.WriteFile(dev, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	// Moments to signal at: a delay after start, or the first sight of a
	// temp file or of a target in the folders.
	moments := []string{"at once", "5ms", "30ms", "100ms", "first temp file", "first target", "300ms"}
	for _, mode := range []string{"exec", "supervise", "write"} {
		for _, moment := range moments {
			t.Run(mode+"/"+moment, func(t *testing.T) {
				dir := t.TempDir()
				folders := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b", "new", "deep")}
				os.Mkdir(folders[0], 0o700)
				args := []string{"--local", dev, "--local-force"}
				switch mode {
				case "supervise":
					args = append(args, "--supervise")
				case "write":
					args = append([]string{"write"}, args...)
				}
				for i := range targets {
					args = append(args, "-f", filepath.Join(folders[i%2], "f"+strconv.Itoa(i))+"=big")
				}
				if mode != "write" {
					args = append(args, "--", sleep, "30")
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				ws := interruptAt(t, cmd, moment, dir)
				files, temps := scanValues(t, dir, canary)
				if len(temps) > 0 {
					t.Errorf("temp files left: %v", temps)
				}
				during := " before the command started"
				if mode == "write" {
					during = " before the files were written"
				}
				switch {
				case mode == "write" && ws.Exited() && ws.ExitStatus() == 0:
					// Done before the signal: every file, whole.
					if len(files) != targets {
						t.Errorf("write exited 0 with %d of %d files in place", len(files), targets)
					}
				case ws.Exited() && ws.ExitStatus() == 143:
					// smexec caught it: before the command ran, or (in
					// supervise mode) forwarded to the command.
					if len(files) > 0 {
						t.Errorf("files holding the value after exit 143: %v", files)
					}
					if s := stderr.String(); s != "" && s != "smexec: error: interrupted by SIGTERM"+during+"\n" {
						t.Errorf("stderr: %q", s)
					}
				case ws.Signaled() && ws.Signal() == syscall.SIGTERM:
					// Before smexec caught signals (nothing written), or,
					// exec'd, the command (sleep) got it, or write was done
					// and had stopped catching: the files stay, whole.
					if len(files) != 0 && (mode == "supervise" || len(files) != targets) {
						t.Errorf("killed by SIGTERM with %d of %d files in place", len(files), targets)
					}
				default:
					t.Errorf("smexec ended with %v; stderr:\n%s", ws, stderr.String())
				}
				if strings.Contains(stderr.String(), canary) {
					t.Errorf("stderr holds the value")
				}
			})
		}
	}
}

// interruptAt starts cmd, sends it SIGTERM at moment (see waitMoment) and
// returns how it ended; it fails the test if cmd has not ended 60 seconds
// after the signal.
func interruptAt(t *testing.T, cmd *exec.Cmd, moment, dir string) syscall.WaitStatus {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitMoment(t, moment, dir)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("smexec did not end within 60s of SIGTERM; stderr:\n%v", cmd.Stderr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// waitMoment waits for a moment of TestNoLeakWhenInterrupted: a delay,
// or the first temp file or target under dir (at most 10 seconds, then
// it goes on, so that a fast machine only makes the moment later).
func waitMoment(t *testing.T, moment, dir string) {
	t.Helper()
	if d, err := time.ParseDuration(moment); err == nil {
		time.Sleep(d)
		return
	}
	if moment == "at once" {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		found := false
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			temp := strings.Contains(d.Name(), ".smexec-")
			if temp == (moment == "first temp file") {
				found = true
				return fs.SkipAll
			}
			return nil
		})
		if found {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// scanValues lists the files under dir that hold want, and the temp
// files of the writer.
func scanValues(t *testing.T, dir, want string) (files, temps []string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if strings.Contains(d.Name(), ".smexec-") {
			temps = append(temps, path)
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(want)) {
			files = append(files, path)
		}
		return nil
	})
	return files, temps
}

// TestInterruptedWhileResolvingAsPID1 sends SIGTERM to smexec as PID 1
// of a PID namespace while it waits for Secrets Manager, in exec and in
// check: it ends with 143 and one line, writing nothing.
func TestInterruptedWhileResolvingAsPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a PID namespace (unshare --pid)")
	}
	bin, p := leakSetup(t)
	p.SetLatency(5 * time.Second)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"exec", []string{"-f", "{dir}/f=leak/str", "--", "echo", "CHILD-RAN"}, "smexec: error: interrupted by SIGTERM before the command started\n"},
		{"check", []string{"check", "-f", "{dir}/f=leak/str"}, "smexec: error: interrupted by SIGTERM\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--pid", "--fork", "--mount-proc", bin}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "{dir}", dir))
			}
			cmd := exec.Command("unshare", args...)
			cmd.Env = processEnv(p.URL)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// smexec is unshare's child, PID 1 inside; give it time to
			// start resolving.
			var pid int
			deadline := time.Now().Add(20 * time.Second)
			for pid == 0 && time.Now().Before(deadline) {
				b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + strconv.Itoa(cmd.Process.Pid) + "/children")
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				time.Sleep(10 * time.Millisecond)
			}
			if pid == 0 {
				t.Fatal("no smexec under unshare")
			}
			time.Sleep(time.Second)
			syscall.Kill(pid, syscall.SIGTERM)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 143 {
				t.Errorf("exit %v, want 143; stderr:\n%s", err, stderr.String())
			}
			if got := stderr.String(); got != tc.want {
				t.Errorf("stderr = %q, want %q", got, tc.want)
			}
			if strings.Contains(stdout.String(), "CHILD-RAN") {
				t.Errorf("the command ran")
			}
			if files, temps := scanValues(t, dir, canary); len(files)+len(temps) > 0 {
				t.Errorf("left behind: %v %v", files, temps)
			}
		})
	}
}

// TestInterruptsKeepInheritedIgnores starts smexec with SIGHUP and
// SIGINT ignored (as nohup and a shell's background job do) and sends
// both while it resolves: it goes on, and the command inherits the
// ignores.
func TestInterruptsKeepInheritedIgnores(t *testing.T) {
	bin, p := leakSetup(t)
	p.SetLatency(2 * time.Second)
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", `trap "" HUP INT; exec "$0" -f "$1/f=leak/str" -- sh -c 'echo child-ran; kill -HUP $$; kill -INT $$; echo survived'`, bin, dir)
	cmd.Env = processEnv(p.URL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGHUP)
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("%v; stderr:\n%s", err, stderr.String())
	}
	if got := stdout.String(); got != "child-ran\nsurvived\n" {
		t.Errorf("stdout = %q, want the command to run and survive SIGHUP and SIGINT", got)
	}
}

// TestInstallInterrupted stops smexec install with SIGTERM while it copies
// itself: no temp file is left in DIR, and DIR/smexec is either the whole
// binary (the install was done) or absent.
func TestInstallInterrupted(t *testing.T) {
	bin := buildSmexec(t)
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, moment := range []string{"at once", "first temp file", "2ms", "10ms"} {
		t.Run(moment, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(bin, "install", filepath.Join(dir, "bin"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			ws := interruptAt(t, cmd, moment, dir)
			_, temps := scanValues(t, dir, "")
			if len(temps) > 0 {
				t.Errorf("temp files left after %v: %v", ws, temps)
			}
			got, err := os.ReadFile(filepath.Join(dir, "bin", "smexec"))
			switch {
			case err == nil && !bytes.Equal(got, want):
				t.Errorf("DIR/smexec is %d bytes, not the whole binary (%d)", len(got), len(want))
			case err == nil && ws.Exited() && ws.ExitStatus() == 143:
				t.Errorf("DIR/smexec left after exit 143")
			case err != nil && ws.Exited() && ws.ExitStatus() == 0:
				t.Errorf("exit 0 without DIR/smexec")
			}
			if ws.Exited() && ws.ExitStatus() != 0 && ws.ExitStatus() != 143 {
				t.Errorf("smexec ended with %v; stderr:\n%s", ws, stderr.String())
			}
		})
	}
}
