// Package launch owns starting the child: finding the command and
// replacing the launcher with it.
package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
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
