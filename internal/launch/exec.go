// Package launch owns the child process: finding the command, replacing
// the launcher with it (execve), or starting and supervising it (signal
// forwarding, PID 1 reaping, exit codes), and catching interrupts
// before it starts.
package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strconv"
	"syscall"
)

// Exit codes of env(1), which the launcher follows.
const (
	CodeFailed     = 125 // the launcher itself failed
	CodeCannotExec = 126 // the command was found but cannot be run
	CodeNotFound   = 127 // the command was not found
)

// Error is a failure to start the command, with the exit code env(1)
// gives it.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode lets kong and main exit with the right code.
func (e *Error) ExitCode() int { return e.Code }

// Find resolves the command the way a shell would, so that a missing or
// unrunnable command is caught before any secret is fetched or written.
func Find(name string) (string, error) {
	if name == "" {
		return "", &Error{CodeNotFound, errors.New("command not found: the command name is empty")}
	}
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return "", &Error{CodeNotFound, fmt.Errorf("command not found: %s", name)}
	case errors.Is(err, fs.ErrPermission):
		return "", &Error{CodeCannotExec, fmt.Errorf("command is not executable: %s", name)}
	}
	return "", &Error{CodeCannotExec, fmt.Errorf("cannot run %s: %w", name, err)}
}

// Exec replaces the launcher with the command: signals, the exit code and
// the process tree belong to the child from here on. It returns only on
// failure.
func Exec(path string, argv, env []string) error {
	err := syscall.Exec(path, argv, env)
	code := CodeCannotExec
	if errors.Is(err, syscall.ENOENT) {
		code = CodeNotFound // e.g. a script whose interpreter is missing
	}
	return &Error{code, fmt.Errorf("cannot run %s: %w", path, err)}
}

// MaxArgString is Linux's MAX_ARG_STRLEN: the longest string, its NUL
// included, that execve accepts in argv or the environment.
const MaxArgString = 32 * 4096

// ptrSize is the size of one argv or envp pointer.
const ptrSize = strconv.IntSize / 8

// ArgSpace is how many bytes Linux's execve accepts for the strings of
// the path, argv and the environment, with their pointers: a quarter of
// the stack size limit (which the command inherits), at most 6 MiB
// (three quarters of _STK_LIM) and at least 128 KiB (ARG_MAX).
func ArgSpace() int {
	limit := uint64(6 << 20)
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_STACK, &rl); err == nil && rl.Cur/4 < limit {
		limit = rl.Cur / 4
	}
	return int(max(limit, 128<<10))
}

// ArgSize is what starting c takes of ArgSpace: each string with its NUL,
// the path's too, and a pointer for each string of argv and the
// environment.
func ArgSize(c Command) int {
	n := len(c.Path) + 1
	for _, s := range c.Argv {
		n += len(s) + 1 + ptrSize
	}
	if len(c.Argv) == 0 {
		n += ptrSize // the kernel adds an empty argv[0]
	}
	for _, s := range c.Env {
		n += len(s) + 1 + ptrSize
	}
	return n
}
