package launch

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Forwarded are the signals the supervisor passes on to the child: every
// one that is not synchronous, for job control, or the Go runtime's own
// (SIGURG, SIGPROF, 32 and 33), as tini does. A Go program drops the
// signals it does not catch among SIGALRM, SIGPWR, SIGIO, SIGVTALRM and
// the real-time ones (systemd's SIGRTMIN+3, say), so a signal left out
// here would be lost.
var Forwarded = append([]os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
	syscall.SIGALRM, syscall.SIGVTALRM, syscall.SIGIO,
}, platformForwarded()...)

// Command is what the supervisor starts, and starts again on a restart.
type Command struct {
	Path string
	Argv []string
	Env  []string
}

// Options shape how the supervisor runs the child.
type Options struct {
	// SignalGroup forwards signals to the child's whole process group
	// rather than to the child alone.
	SignalGroup bool
	// KillSignal stops the child for a restart or an exit; SIGKILL follows
	// after KillTimeout.
	KillSignal  syscall.Signal
	KillTimeout time.Duration
	// Stdout and Stderr, when set, receive the child's output through
	// pipes (a writer with a Flush method is flushed at the end of the
	// stream). When nil the child writes to smexec's own, so a TTY stays
	// a TTY.
	Stdout, Stderr io.Writer
	// OutputGrace is how long to wait for the output pipes to drain after
	// the child has exited, for orphans that still hold them.
	OutputGrace time.Duration
	// DeathSignal is what the kernel sends the child when smexec dies
	// without the chance to stop it (SIGKILL, a crash); 0 sends nothing.
	DeathSignal syscall.Signal
	Log         *slog.Logger
	// Signals, when set, is a channel the caller has already registered
	// with signal.Notify (see Interrupts.Handover): the supervisor reads
	// it, so that a signal that arrived before it started is not lost.
	Signals chan os.Signal
}

// ExitStatus is the supervised child's exit code, carried out as an error
// so that the command line exits with it without printing anything.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("the command exited with %d", int(e)) }

// ExitCode is the code the process exits with.
func (e ExitStatus) ExitCode() int { return int(e) }

// Supervisor keeps smexec alive as a small init above the child: it
// forwards signals, reaps every zombie, and stops, restarts or signals the
// child on request.
type Supervisor struct {
	opt  Options
	sigs chan os.Signal
	reqs chan request
	done chan struct{}
	// holds counts callers that need their own children left alone (see
	// HoldReaping). reaping is held for each wait for any child, so that
	// a hold, once taken, has no such wait in flight.
	holds   atomic.Int32
	reaping sync.Mutex

	pid  int  // the running child, 0 when there is none; also its group
	tty  bool // stdin is a terminal: its foreground is handed on
	init bool // smexec is PID 1: no shell above it to hand a stop to
	// group is the last child's process group, kept after it is reaped
	// to know whether the terminal is still with it.
	group int

	// forks runs every fork on one locked OS thread: the kernel sends the
	// parent-death signal when the thread that forked the child exits,
	// and a locked thread lives as long as the supervisor.
	forks chan func()
	// coreLimit gives the core size limit back for a fork, so that the
	// child does not inherit smexec's 0; nil when smexec could not set it.
	coreLimit func() error

	outW, errW *os.File // the parent's write ends of the output pipes
	copying    sync.WaitGroup
}

type request struct {
	kind reqKind
	sig  syscall.Signal
	cmd  Command
}

type reqKind int

const (
	reqSignal reqKind = iota
	reqRestart
	reqExit
	reqReap
)

// Supervise starts the child and returns the supervisor that watches it;
// Wait runs it to the end.
func Supervise(cmd Command, opt Options) (*Supervisor, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	sigs := opt.Signals
	if sigs == nil {
		sigs = make(chan os.Signal, 64)
	}
	s := &Supervisor{
		opt:   opt,
		sigs:  sigs,
		reqs:  make(chan request),
		done:  make(chan struct{}),
		tty:   isTerminal(0),
		init:  os.Getpid() == 1,
		forks: make(chan func()),
	}
	go s.forkThread()
	if err := becomeSubreaper(); err != nil {
		opt.Log.Debug("cannot become a child subreaper; orphans of the command are reaped only as PID 1", "err", err)
	}
	restore, err := forbidCoreDumps()
	if err != nil {
		opt.Log.Debug("cannot make smexec non-dumpable; a crash may leave a core file holding values", "err", err)
	}
	s.coreLimit = restore
	signal.Notify(s.sigs, s.caught()...)
	if err := s.pipes(); err != nil {
		// The signals stay caught, as after a child's end (see finish):
		// the caller removes what it wrote next.
		close(s.forks)
		return nil, err
	}
	if err := s.start(cmd, foregroundTTY()); err != nil {
		s.finish()
		return nil, err
	}
	return s, nil
}

// startIgnored are the signals of interest that were ignored when smexec
// started. They are read as the package is initialised, before any code
// can notify them: os/signal forgets an inherited ignore once the signal
// is notified, and a handler set up early in a run would hide it.
var startIgnored = func() map[syscall.Signal]bool {
	m := map[syscall.Signal]bool{}
	for _, sig := range append([]os.Signal{syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU}, Forwarded...) {
		if signal.Ignored(sig) || ignoredNow(sig.(syscall.Signal)) {
			m[sig.(syscall.Signal)] = true
		}
	}
	return m
}()

// IgnoredAtStart tells whether sig was ignored when smexec started, so
// that whoever catches signals leaves it ignored, for smexec and for the
// command. The Go runtime keeps an inherited ignore only for SIGHUP and
// SIGINT and the job-control signals; for the others this is false.
func IgnoredAtStart(sig syscall.Signal) bool { return startIgnored[sig] }

// caught are the signals the supervisor catches. A signal that smexec's
// caller ignored stays ignored, for smexec and, through exec, for the
// child: catching it would reset it to the default in the child. The Go
// runtime itself keeps an inherited ignore only for SIGHUP and SIGINT
// (os/signal.Ignored) and for the job-control signals, which it leaves
// alone until they are notified.
func (s *Supervisor) caught() []os.Signal {
	sigs := []os.Signal{syscall.SIGCHLD, syscall.SIGPIPE}
	want := append([]os.Signal{syscall.SIGCONT}, Forwarded...)
	if s.init {
		// As PID 1 a stop signal at its default is dropped by the
		// kernel, so it is passed on, as tini does. Outside, a
		// SIGTSTP for smexec's job stops smexec at its default, which
		// the kernel skips for an orphaned job; SIGTTIN and SIGTTOU
		// are never caught: a caught one makes a background write to
		// the terminal retry forever.
		want = append(want, syscall.SIGTSTP)
	}
	for _, sig := range want {
		if IgnoredAtStart(sig.(syscall.Signal)) {
			s.opt.Log.Debug("the signal was ignored when smexec started: it stays ignored, for the command too", "signal", sig)
			continue
		}
		sigs = append(sigs, sig)
	}
	return sigs
}

// forkThread runs the forks on a thread of their own until finish. The
// thread is unlocked, not ended, at the end, so that no late fork's child
// gets its death signal from it.
func (s *Supervisor) forkThread() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for f := range s.forks {
		f()
	}
}

// pipes sets up the output pipes when the output is filtered. The parent
// keeps the write ends for the whole run, so that one pair serves every
// restart, and closes them at the end.
func (s *Supervisor) pipes() error {
	for _, p := range []struct {
		w   io.Writer
		dst **os.File
	}{{s.opt.Stdout, &s.outW}, {s.opt.Stderr, &s.errW}} {
		if p.w == nil {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("cannot make an output pipe: %w", err)
		}
		*p.dst = w
		s.copying.Add(1)
		go func(out io.Writer) {
			defer s.copying.Done()
			defer r.Close()
			if _, err := io.Copy(out, r); err != nil {
				s.opt.Log.Warn("copying the command's output failed", "err", err)
			}
			if f, ok := out.(interface{ Flush() error }); ok {
				f.Flush()
			}
		}(p.w)
	}
	return nil
}

// start forks the command; with foreground it gets the terminal.
func (s *Supervisor) start(c Command, foreground bool) error {
	files := []uintptr{0, 1, 2}
	if s.outW != nil {
		files[1] = s.outW.Fd()
	}
	if s.errW != nil {
		files[2] = s.errW.Fd()
	}
	// Its own process group, so that a signal for the child's group does
	// not reach smexec; on a terminal that group becomes the foreground,
	// so the child reads the terminal and gets its ^C directly.
	sys := &syscall.SysProcAttr{Setpgid: true}
	if foreground {
		sys.Foreground, sys.Ctty = true, 0
	}
	setDeathSignal(sys, s.opt.DeathSignal)
	var (
		pid  int
		err  error
		done = make(chan struct{})
	)
	s.forks <- func() {
		defer close(done)
		if s.coreLimit != nil {
			// The core limit is the process's: give it back for the
			// fork only, so that the child inherits the caller's.
			if err := s.coreLimit(); err != nil {
				s.opt.Log.Debug("cannot give the command the caller's core size limit", "err", err)
			}
			defer lowerCoreLimit()
		}
		pid, err = syscall.ForkExec(c.Path, c.Argv, &syscall.ProcAttr{Env: c.Env, Files: files, Sys: sys})
	}
	<-done
	if err != nil {
		code := CodeCannotExec
		if errors.Is(err, syscall.ENOENT) {
			code = CodeNotFound
		}
		return &Error{code, fmt.Errorf("cannot run %s: %w", c.Path, err)}
	}
	s.pid, s.group = pid, pid
	s.opt.Log.Debug("started the command", "pid", pid)
	return nil
}

// Signal sends sig to the child (or its group, with SignalGroup).
func (s *Supervisor) Signal(sig syscall.Signal) { s.ask(request{kind: reqSignal, sig: sig}) }

// Restart stops the child with the kill signal and starts cmd in its place.
func (s *Supervisor) Restart(cmd Command) { s.ask(request{kind: reqRestart, cmd: cmd}) }

// Exit stops the child with the kill signal; Wait then returns its code.
func (s *Supervisor) Exit() { s.ask(request{kind: reqExit}) }

// HoldReaping keeps the supervisor from reaping processes other than the
// child until release is called. smexec's own helpers (the AWS SDK's
// credential_process, say) wait for their children themselves, and a
// reaper that took those exits would break them.
func (s *Supervisor) HoldReaping() (release func()) {
	s.reaping.Lock()
	s.holds.Add(1)
	s.reaping.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.holds.Add(-1)
			select { // reap what waited, without blocking the caller
			case s.reqs <- request{kind: reqReap}:
			default:
			}
		})
	}
}

func (s *Supervisor) ask(r request) {
	select {
	case s.reqs <- r:
	case <-s.done:
	}
}

// Wait runs the supervisor until the child has exited for good and
// returns its exit code: its own, or 128+N when signal N killed it. The
// error is set when a restart could not start the command again.
func (s *Supervisor) Wait() (int, error) {
	defer s.finish()
	var (
		next        *Command // start this once the child has stopped
		stopping    bool
		terminating bool // told to end: no restart from here on
		kill        <-chan time.Time
	)
	stop := func() {
		if !stopping && s.pid != 0 {
			stopping = true
			s.send(s.opt.KillSignal)
			s.wake()
			kill = time.After(s.opt.KillTimeout)
		}
	}
	// A safety net: SIGCHLDs coalesce, and a reap held back while
	// resolving is done here at the latest.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case sig := <-s.sigs:
			switch sig {
			case syscall.SIGCHLD:
			case syscall.SIGPIPE:
				// Caught so that a closed stdout fails the masked copy
				// (which then closes the child's pipe) instead of
				// killing smexec before it cleans up.
			case syscall.SIGCONT:
				s.continued()
			case syscall.SIGHUP:
				if !s.hangup() {
					s.send(syscall.SIGHUP)
				}
			default:
				s.send(sig.(syscall.Signal))
				if sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT {
					terminating, next = true, nil
					s.wake()
				}
			}
		case r := <-s.reqs:
			switch r.kind {
			case reqSignal:
				s.send(r.sig)
			case reqRestart:
				// Once told to end, the child has its signal already:
				// a change that lands now starts nothing.
				if !terminating {
					next = &r.cmd
					stop()
				}
			case reqExit:
				next = nil
				stop()
			}
		case <-kill:
			s.opt.Log.Warn("the command outlived --kill-timeout: sending SIGKILL", "pid", s.pid, "timeout", s.opt.KillTimeout)
			s.send(syscall.SIGKILL)
			kill = nil
		case <-tick.C:
		}
		code, exited := s.reap()
		if !exited {
			continue
		}
		stopping, kill = false, nil
		if next != nil {
			cmd := *next
			next = nil
			s.reclaimTerminal()
			if err := s.start(cmd, s.ownsTerminal()); err != nil {
				return CodeFailed, fmt.Errorf("restart: %w", err)
			}
			s.opt.Log.Info("restarted the command", "pid", s.pid)
			continue
		}
		s.reclaimTerminal()
		return code, nil
	}
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// send delivers sig to the child or its group; a child that is gone
// already is no error.
func (s *Supervisor) send(sig syscall.Signal) {
	if s.pid == 0 {
		return
	}
	target := s.pid
	if s.opt.SignalGroup {
		target = -s.pid
	}
	if err := syscall.Kill(target, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		s.opt.Log.Warn("cannot signal the command", "signal", sig, "err", err)
	}
}

// reap collects the child if it has exited, and, unless held, every
// other zombie: orphans reparented to smexec as PID 1 or subreaper. The
// child may exit between the two waits, so the second one watches for it
// too.
func (s *Supervisor) reap() (code int, exited bool) {
	if s.pid != 0 {
		var ws syscall.WaitStatus
		pid, err := wait4(s.pid, &ws, syscall.WUNTRACED)
		switch {
		case err == nil && pid == s.pid && ws.Stopped():
			s.childStopped(ws.StopSignal())
		case err == nil && pid == s.pid:
			code, exited, s.pid = exitCode(ws), true, 0
		case errors.Is(err, syscall.ECHILD):
			// Someone else reaped it; its code is lost.
			s.opt.Log.Warn("the command's exit status was lost", "pid", s.pid)
			code, exited, s.pid = CodeFailed, true, 0
		}
	}
	for {
		pid, ws, err := s.reapAny()
		if err != nil || pid <= 0 {
			return code, exited
		}
		if pid == s.pid {
			code, exited, s.pid = exitCode(ws), true, 0
			continue
		}
		s.opt.Log.Debug("reaped an orphan", "pid", pid)
		if afterReap != nil {
			afterReap()
		}
	}
}

// reapAny reaps one child that has exited, any, unless reaping is held:
// the hold is looked at for each child, as a pass over a storm of
// orphans may last long enough for smexec's own helper to start and exit.
func (s *Supervisor) reapAny() (int, syscall.WaitStatus, error) {
	s.reaping.Lock()
	defer s.reaping.Unlock()
	var ws syscall.WaitStatus
	if s.holds.Load() > 0 {
		return 0, ws, nil
	}
	pid, err := wait4(-1, &ws, 0)
	return pid, ws, err
}

// afterReap, when set (by a test), runs after each orphan reaped.
var afterReap func()

// childStopped does for a child stopped from the terminal (^Z, or a
// background read or write) what the terminal would have done to smexec
// had the child been in its group: takes the terminal back and stops
// smexec's job with the same signal, so the caller's shell sees the job
// stop. The SIGCONT of fg or bg continues the child (see continued); the
// loop never waits for it.
//
// The stop goes to smexec's own group only, with a terminal (without
// one there is no job control, and no shell to continue the job), and
// never as PID 1 or to group 0 or 1 (kill(-1) would stop every process
// smexec can signal).
// smexec's job-control signals are at their default outside PID 1, so the
// kernel drops the stop when no shell is left to continue the job (an
// orphaned group). Any other stop (someone's SIGSTOP), and every stop as
// PID 1, where there is no shell to hand a stop to, is left as it is, as
// tini leaves it: a SIGCONT to smexec continues the child.
func (s *Supervisor) childStopped(sig syscall.Signal) {
	job := syscall.Getpgrp()
	if !s.tty || !ownJob(s.init, job) || !terminalStop(sig) {
		s.opt.Log.Debug("the command is stopped; a SIGCONT to smexec continues it", "signal", sig)
		return
	}
	s.reclaimTerminal()
	if err := syscall.Kill(-job, sig); err != nil {
		s.opt.Log.Debug("cannot stop smexec's job", "signal", sig, "err", err)
	}
}

// ownJob tells whether smexec may stop its process group job: not as PID
// 1, and not a group that is none (0, outside smexec's PID namespace) or
// 1 (init's, which kill reads as every process).
func ownJob(init bool, pgrp int) bool { return !init && pgrp > 1 }

func terminalStop(sig syscall.Signal) bool {
	return sig == syscall.SIGTSTP || sig == syscall.SIGTTIN || sig == syscall.SIGTTOU
}

// continued passes a SIGCONT for smexec on to the child's group, as the
// whole group was stopped: after fg, with the terminal if smexec's group
// now has it; after bg, without it.
func (s *Supervisor) continued() {
	if s.pid == 0 {
		return
	}
	if s.ownsTerminal() {
		s.giveTerminal(s.pid)
	}
	if err := syscall.Kill(-s.pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
		s.opt.Log.Warn("cannot continue the command", "err", err)
	}
}

// hangup acts on a SIGHUP that came with the terminal's hangup as a
// shell acts for its jobs: the child's whole group gets SIGHUP, and
// SIGCONT so that a stopped job sees it. smexec then exits with the
// child, or stays with one that outlives the hangup, as a job would. It
// tells whether it was a hangup; any other SIGHUP is forwarded as usual.
func (s *Supervisor) hangup() bool {
	if !s.tty || s.pid == 0 {
		return false
	}
	if _, err := tcgetpgrp(0); !errors.Is(err, syscall.EIO) {
		return false // the terminal is still there: someone's SIGHUP
	}
	s.opt.Log.Debug("the terminal hung up: SIGHUP and SIGCONT to the command's group")
	syscall.Kill(-s.pid, syscall.SIGHUP)
	syscall.Kill(-s.pid, syscall.SIGCONT)
	return true
}

// wake continues the child's group after a signal that tells it to end,
// as a shell's kill does for a stopped job: a stopped process acts on no
// signal but SIGKILL until continued. The child may have stopped a moment
// ago, its report not yet read, so the SIGCONT goes whether or not it was
// seen stopped; a running process ignores it by default.
func (s *Supervisor) wake() {
	if s.pid != 0 {
		syscall.Kill(-s.pid, syscall.SIGCONT)
	}
}

// ownsTerminal tells whether smexec's group is the terminal's foreground,
// which is then the child's to have.
func (s *Supervisor) ownsTerminal() bool { return s.tty && foregroundTTY() }

// reclaimTerminal gives the terminal back to smexec's own group, where
// the caller expects it, when the child's group has it and the child is
// stopped or gone; never a terminal someone else has taken since.
func (s *Supervisor) reclaimTerminal() {
	if !s.tty {
		return
	}
	if fg, err := tcgetpgrp(0); err == nil && s.group != 0 && fg == s.group {
		s.giveTerminal(syscall.Getpgrp())
	}
}

func (s *Supervisor) giveTerminal(pgrp int) {
	if err := tcsetpgrp(0, pgrp); err != nil {
		s.opt.Log.Debug("cannot hand over the terminal", "pgrp", pgrp, "err", err)
	}
}

func wait4(pid int, ws *syscall.WaitStatus, options int) (int, error) {
	for {
		p, err := syscall.Wait4(pid, ws, syscall.WNOHANG|options, nil)
		if !errors.Is(err, syscall.EINTR) {
			return p, err
		}
	}
}

// finish stops forwarding and lets the output drain: the pipes close
// when the last writer does, which may be an orphan that outlives the
// child, so the wait is bounded. The signals stay caught, and unread:
// one that comes while the caller removes what it wrote (a SIGTERM at
// its default action would end smexec half way, leaving values on disk)
// is dropped, and the process ends next with the child's status.
// Stopping them would also cost every run a round trip to the runtime's
// signal thread for each of the 45 signals.
func (s *Supervisor) finish() {
	close(s.done)
	close(s.forks)
	for _, w := range []*os.File{s.outW, s.errW} {
		if w != nil {
			w.Close()
		}
	}
	drained := make(chan struct{})
	go func() { s.copying.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(s.opt.OutputGrace):
		s.opt.Log.Warn("the command's output is still open after it exited; not waiting for it", "grace", s.opt.OutputGrace)
	}
}

// isTerminal tells whether fd is smexec's controlling terminal.
func isTerminal(fd int) bool {
	_, err := tcgetpgrp(fd)
	return err == nil
}

// foregroundTTY tells whether stdin is a terminal whose foreground is
// smexec's own process group: only then is it ours to hand to the child.
func foregroundTTY() bool {
	fg, err := tcgetpgrp(0)
	return err == nil && fg == syscall.Getpgrp()
}
