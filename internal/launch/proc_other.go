//go:build !linux

package launch

import (
	"errors"
	"os"
	"syscall"
)

// Other systems' extra signals are not forwarded.
func platformForwarded() []os.Signal { return nil }

// Only Linux has child subreapers; elsewhere orphans are reaped by
// smexec only when it is PID 1.
func becomeSubreaper() error { return errors.New("not supported on this system") }

// Only Linux has a parent-death signal.
func setDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}

func forbidCoreDumps() (func() error, error) { return nil, errors.New("not supported on this system") }

func lowerCoreLimit() error { return nil }

// NonDumpable does nothing where there is no PR_SET_DUMPABLE.
func NonDumpable() {}

func ignoredNow(syscall.Signal) bool { return false }

// Handing the terminal to the child is done on Linux only.
func tcgetpgrp(int) (int, error) { return 0, errors.New("not supported on this system") }

func tcsetpgrp(int, int) error { return errors.New("not supported on this system") }
