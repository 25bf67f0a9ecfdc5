package launch

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// platformForwarded are the signals Linux adds to Forwarded: SIGPWR and
// the real-time signals from SIGRTMIN, 34 as the C library counts it (it
// keeps 32 and 33 for itself), to 64.
func platformForwarded() []os.Signal {
	sigs := []os.Signal{syscall.SIGPWR}
	for n := 34; n <= 64; n++ {
		sigs = append(sigs, syscall.Signal(n))
	}
	return sigs
}

// becomeSubreaper makes orphans of the command reparent to smexec rather
// than to PID 1, so that a supervisor that is not PID 1 still reaps them.
func becomeSubreaper() error {
	const prSetChildSubreaper = 36
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// setDeathSignal asks the kernel to send sig to the child when smexec
// dies (the thread that forked it, to be exact: see starter).
func setDeathSignal(sys *syscall.SysProcAttr, sig syscall.Signal) { sys.Pdeathsig = sig }

// NonDumpable makes smexec non-dumpable: no core file, and no ptrace or
// /proc/PID/mem for other processes of its user. main calls it first,
// since smexec holds values from its first moments (resolving, in exec
// mode too). execve makes the command dumpable again, as the kernel does
// for every new program. The core size limit, which the command would
// inherit, is lowered only by the supervisor (forbidCoreDumps).
func NonDumpable() {
	const prSetDumpable = 4
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0)
}

// forbidCoreDumps makes smexec non-dumpable, which also keeps other
// processes of its user from reading its memory, and sets its core size
// limit to 0 for the kernels and core handlers that dump anyway
// (fs.suid_dumpable=2). It returns the limit the command must get back.
func forbidCoreDumps() (restore func() error, err error) {
	const prSetDumpable = 4
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); errno != 0 {
		return nil, errno
	}
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &orig); err != nil {
		return nil, err
	}
	zero := syscall.Rlimit{Cur: 0, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &zero); err != nil {
		return nil, err
	}
	return func() error { return syscall.Setrlimit(syscall.RLIMIT_CORE, &orig) }, nil
}

// lowerCoreLimit sets the core size limit back to 0 after a fork.
func lowerCoreLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &l); err != nil {
		return err
	}
	l.Cur = 0
	return syscall.Setrlimit(syscall.RLIMIT_CORE, &l)
}

// ignoredNow tells whether sig's disposition is SIG_IGN. The Go runtime
// leaves the job-control signals as it found them until they are
// notified, so for those this is the disposition smexec started with.
func ignoredNow(sig syscall.Signal) bool {
	// struct sigaction starts with the handler on every Linux port Go
	// supports but mips, whose flags come first; the rest is room.
	var act [8]uintptr
	first := 0
	switch runtime.GOARCH {
	case "mips", "mipsle", "mips64", "mips64le":
		first = 1
	}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&act)), 8, 0, 0)
	return errno == 0 && act[first] == 1 // SIG_IGN
}

func tcgetpgrp(fd int) (int, error) {
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
	if errno != 0 {
		return 0, errno
	}
	return int(pgrp), nil
}

// tcsetpgrp makes pgrp the terminal's foreground. smexec may be in the
// background at that moment, which would stop it with SIGTTOU: the signal
// is blocked on this thread for the call rather than ignored for the
// process, because an ignored SIGTTOU would stay ignored (os/signal cannot
// undo it) and every command started later would inherit it.
func tcsetpgrp(fd, pgrp int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const sigBlock, sigSetmask = 0, 2
	set := uint64(1) << (syscall.SIGTTOU - 1)
	var old uint64
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigBlock, uintptr(unsafe.Pointer(&set)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); errno != 0 {
		return errno
	}
	defer syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	p := int32(pgrp)
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p)))
	if errno != 0 {
		return errno
	}
	return nil
}
