package launch

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Forwarded are the signals the supervisor passes on to the child.
var Forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

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
	// HoldReaping).
	holds atomic.Int32

	pid int  // the running child, 0 when there is none
	tty bool // stdin is our terminal and we are its foreground: hand it on

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
		opt:  opt,
		sigs: sigs,
		reqs: make(chan request),
		done: make(chan struct{}),
		tty:  foregroundTTY(),
	}
	if err := becomeSubreaper(); err != nil {
		opt.Log.Debug("cannot become a child subreaper; orphans of the command are reaped only as PID 1", "err", err)
	}
	signal.Notify(s.sigs, append(Forwarded, syscall.SIGCHLD, syscall.SIGPIPE)...)
	if err := s.pipes(); err != nil {
		signal.Stop(s.sigs)
		return nil, err
	}
	if err := s.start(cmd); err != nil {
		s.finish()
		return nil, err
	}
	return s, nil
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

func (s *Supervisor) start(c Command) error {
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
	if s.tty {
		sys.Foreground, sys.Ctty = true, 0
	}
	pid, err := syscall.ForkExec(c.Path, c.Argv, &syscall.ProcAttr{Env: c.Env, Files: files, Sys: sys})
	if err != nil {
		code := CodeCannotExec
		if errors.Is(err, syscall.ENOENT) {
			code = CodeNotFound
		}
		return &Error{code, fmt.Errorf("cannot run %s: %w", c.Path, err)}
	}
	s.pid = pid
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
	s.holds.Add(1)
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
			default:
				s.send(sig.(syscall.Signal))
				if sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT {
					terminating, next = true, nil
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
			if err := s.start(cmd); err != nil {
				s.reclaimTerminal()
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
			s.childStopped()
		case err == nil && pid == s.pid:
			code, exited, s.pid = exitCode(ws), true, 0
		case errors.Is(err, syscall.ECHILD):
			// Someone else reaped it; its code is lost.
			s.opt.Log.Warn("the command's exit status was lost", "pid", s.pid)
			code, exited, s.pid = CodeFailed, true, 0
		}
	}
	if s.holds.Load() > 0 {
		return code, exited
	}
	for {
		var ws syscall.WaitStatus
		pid, err := wait4(-1, &ws, 0)
		if err != nil || pid <= 0 {
			return code, exited
		}
		if pid == s.pid {
			code, exited, s.pid = exitCode(ws), true, 0
			continue
		}
		s.opt.Log.Debug("reaped an orphan", "pid", pid)
	}
}

// childStopped does for a child stopped at the terminal (^Z) what the
// terminal would have done to smexec: takes the terminal back and stops
// smexec's own group, so the shell sees its job stop. When continued
// (fg or bg) it continues the child, with the terminal again if smexec
// has it. Without a terminal a stopped child is someone's SIGSTOP, and is
// left alone.
func (s *Supervisor) childStopped() {
	if !s.tty {
		return
	}
	s.reclaimTerminal()
	// The stop takes effect asynchronously for a threaded process: wait
	// for the SIGCONT of fg or bg rather than for kill to return.
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	defer signal.Stop(cont)
	syscall.Kill(-syscall.Getpgrp(), syscall.SIGSTOP)
	<-cont
	if fg, err := tcgetpgrp(0); err == nil && fg == syscall.Getpgrp() {
		s.giveTerminal(s.pid)
	}
	syscall.Kill(-s.pid, syscall.SIGCONT)
}

// reclaimTerminal gives the terminal back to smexec's own group, where
// the caller expects it, once the child is stopped or gone.
func (s *Supervisor) reclaimTerminal() {
	if s.tty {
		s.giveTerminal(syscall.Getpgrp())
	}
}

// giveTerminal makes pgrp the terminal's foreground. smexec may be in the
// background at that moment, so SIGTTOU is ignored for the call.
func (s *Supervisor) giveTerminal(pgrp int) {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
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

// finish stops listening for signals and lets the output drain: the pipes
// close when the last writer does, which may be an orphan that outlives
// the child, so the wait is bounded.
func (s *Supervisor) finish() {
	close(s.done)
	signal.Stop(s.sigs)
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

// foregroundTTY tells whether stdin is a terminal whose foreground is
// smexec's own process group: only then is it ours to hand to the child.
func foregroundTTY() bool {
	fg, err := tcgetpgrp(0)
	return err == nil && fg == syscall.Getpgrp()
}
