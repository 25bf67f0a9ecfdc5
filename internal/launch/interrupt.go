package launch

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
)

// Interrupting are the signals that end a run before its command starts.
var Interrupting = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

// Interrupts catches the interrupting signals from the start of a run
// until the command starts, so that a run stopped early can take back
// what it wrote; a run that will supervise also holds the other
// forwarded signals for its supervisor (see HoldForwarded). A signal the
// caller left ignored stays ignored.
type Interrupts struct {
	c    chan os.Signal
	sigs []os.Signal
	// held are the forwarded signals caught that do not interrupt, in
	// the order they came.
	held   []os.Signal
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	// handed is set once the channel belongs to the supervisor.
	handed bool

	during string

	mu  sync.Mutex
	got syscall.Signal
}

// CatchInterrupts starts catching. Its context ends, with an
// *Interrupted cause, at the first signal. during, when not empty, says
// what the signal interrupted, such as "before the command started".
func CatchInterrupts(during string) *Interrupts {
	i := &Interrupts{
		during: during,
		c:      make(chan os.Signal, 64),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	i.notify(Interrupting)
	i.ctx, i.cancel = context.WithCancelCause(context.Background())
	go func() {
		defer close(i.done)
		for {
			select {
			case s := <-i.c:
				if interrupting(s) {
					i.record(s.(syscall.Signal))
				} else if len(i.held) < cap(i.c) {
					// No more than the channel they go back to
					// can carry; a storm keeps its first ones.
					i.held = append(i.held, s)
				}
			case <-i.stop:
				return
			}
		}
	}()
	return i
}

// notify catches sigs, but for those the caller left ignored.
func (i *Interrupts) notify(sigs []os.Signal) {
	var add []os.Signal
	for _, s := range sigs {
		if !IgnoredAtStart(s.(syscall.Signal)) && !slices.Contains(i.sigs, s) {
			add = append(add, s)
		}
	}
	i.sigs = append(i.sigs, add...)
	signal.Notify(i.c, add...)
}

// HoldForwarded also catches the other signals a supervisor forwards
// (SIGUSR1, SIGWINCH, …), for a run that will supervise: those that
// arrive before the command starts are kept, in order, and Handover
// gives them to the supervisor. A run that execs does not call it: Go
// drops those signals when nothing is notified of them, and each one
// notified costs a start a round trip to the runtime's signal thread
// (42 of them, Notify and Stop, took 2 ms of a 11 ms start).
func (i *Interrupts) HoldForwarded() {
	i.notify(Forwarded)
}

func interrupting(s os.Signal) bool {
	for _, t := range Interrupting {
		if s == t {
			return true
		}
	}
	return false
}

func (i *Interrupts) record(s syscall.Signal) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.got == 0 {
		i.got = s
		i.cancel(&Interrupted{s, i.during})
	}
}

// Context ends at the first signal.
func (i *Interrupts) Context() context.Context { return i.ctx }

// Caught is the first signal caught, or nil.
func (i *Interrupts) Caught() *Interrupted {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.got == 0 {
		return nil
	}
	return &Interrupted{i.got, i.during}
}

// halt stops watching the channel; signals that arrive from here on stay
// in it.
func (i *Interrupts) halt() {
	i.once.Do(func() {
		close(i.stop)
		<-i.done
	})
}

// Handover stops catching for the supervisor: it returns the first signal
// caught so far, if any, and otherwise the channel, still notified, that
// the supervisor reads from here on, so that no signal that arrives in
// between is lost. The forwarded signals caught before are put back in
// it first, in order, for the supervisor to forward once the command
// runs.
func (i *Interrupts) Handover() (*Interrupted, chan os.Signal) {
	i.halt()
	if s := i.Caught(); s != nil {
		return s, nil
	}
	i.handed = true
	for len(i.c) > 0 {
		i.held = append(i.held, <-i.c)
	}
	for _, s := range i.held {
		select {
		case i.c <- s:
		default: // full, as signal.Notify would have found it
		}
	}
	i.held = nil
	return nil, i.c
}

// Release stops catching before execve: the signals get their default
// action back (one that arrives from here on ends smexec as it would
// end the command), and the first signal caught so far, if any, is
// returned.
func (i *Interrupts) Release() *Interrupted {
	i.halt()
	signal.Stop(i.c)
	for {
		select {
		case s := <-i.c:
			if interrupting(s) {
				i.record(s.(syscall.Signal))
			}
			continue
		default:
		}
		return i.Caught()
	}
}

// Stop stops catching, if Handover or Release has not.
func (i *Interrupts) Stop() {
	i.halt()
	if !i.handed {
		signal.Stop(i.c)
	}
	i.cancel(nil)
}

// Interrupted is a run ended by a signal.
type Interrupted struct {
	Signal syscall.Signal
	During string // what was interrupted, or ""
}

func (e *Interrupted) Error() string {
	if e.During == "" {
		return "interrupted by " + signalName(e.Signal)
	}
	return fmt.Sprintf("interrupted by %s %s", signalName(e.Signal), e.During)
}

// ExitCode is 128+N, as a shell reports a command killed by signal N.
func (e *Interrupted) ExitCode() int { return 128 + int(e.Signal) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return fmt.Sprintf("signal %d", int(s))
}
