// Command spawn runs a command, waits for it, and prints its wall time
// (ns), its peak RSS (KB) and its exit status on stdout; the command's
// own stdout goes to spawn's stderr. startbench starts every measured run
// through it.
//
// It exists because the peak RSS that wait4 reports for a child counts
// the memory of the process that started it: Go starts a child with
// vfork (CLONE_VM), and at the child's exec Linux folds the shared
// address space's high-water mark into the child's peak (a fork copies
// the parent's resident anonymous pages into the child's count the same
// way). Started from a benchmark harness of tens of MB, /bin/true
// "peaks" at the harness's size. This program imports only syscall and
// strconv, so its own share is about 1 MB, and startbench prints what it
// reports for /bin/true as the floor of every figure.
package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: spawn CMD [ARG...]\n")
		os.Exit(2)
	}
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 2, 2}}
	start := time.Now()
	pid, err := syscall.ForkExec(os.Args[1], os.Args[1:], attr)
	if err != nil {
		os.Stderr.WriteString("spawn: " + err.Error() + "\n")
		os.Exit(1)
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		os.Stderr.WriteString("spawn: wait4: " + err.Error() + "\n")
		os.Exit(1)
	}
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	os.Stdout.WriteString(strconv.FormatInt(wall.Nanoseconds(), 10) + " " +
		strconv.FormatInt(ru.Maxrss, 10) + " " + strconv.Itoa(code) + "\n")
}
