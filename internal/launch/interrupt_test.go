package launch

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

func TestInterruptsCatchAndHandOver(t *testing.T) {
	if signal.Ignored(syscall.SIGHUP) {
		t.Skip("SIGHUP is ignored in this test process (nohup?): Interrupts rightly leaves it alone")
	}
	i := CatchInterrupts("before the command started")
	defer i.Stop()
	if i.Caught() != nil {
		t.Fatal("caught a signal before any was sent")
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	select {
	case <-i.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the context did not end after SIGHUP")
	}
	var in *Interrupted
	if !errors.As(context.Cause(i.Context()), &in) || in.Signal != syscall.SIGHUP || in.ExitCode() != 129 {
		t.Fatalf("cause %v, want SIGHUP and 129", context.Cause(i.Context()))
	}
	if got, sigs := i.Handover(); got == nil || sigs != nil {
		t.Errorf("Handover after a signal = %v, %v; want the signal and no channel", got, sigs)
	}
	if got := in.Error(); got != "interrupted by SIGHUP before the command started" {
		t.Errorf("message %q", got)
	}
}

// Signals that arrive after the handover wait in the channel for the
// supervisor.
func TestInterruptsHandOverKeepsLaterSignals(t *testing.T) {
	if signal.Ignored(syscall.SIGHUP) {
		t.Skip("SIGHUP is ignored in this test process (nohup?)")
	}
	i := CatchInterrupts("before the command started")
	got, sigs := i.Handover()
	if got != nil || sigs == nil {
		t.Fatalf("Handover = %v, %v; want no signal and the channel", got, sigs)
	}
	defer signal.Stop(sigs)
	defer i.Stop()
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	select {
	case s := <-sigs:
		if s != syscall.SIGHUP {
			t.Errorf("got %v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGHUP after the handover did not reach the channel")
	}
	if i.Caught() != nil {
		t.Error("a signal after the handover ended the run")
	}
}

// A forwarded signal that is not an interrupt (SIGUSR1, say) and arrives
// before the command starts is kept for the supervisor, which forwards it
// once the command runs: the Go runtime would drop it otherwise.
func TestInterruptsKeepForwardedSignalsForTheSupervisor(t *testing.T) {
	i := CatchInterrupts("before the command started")
	defer i.Stop()
	i.HoldForwarded()
	// One at a time, with some time for the catcher to take each: two
	// signals pending at once have no order, neither in the kernel nor
	// in Go's signal loop, and the order kept is what is asserted.
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	time.Sleep(50 * time.Millisecond)
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	time.Sleep(50 * time.Millisecond)
	if i.Caught() != nil {
		t.Fatalf("SIGUSR1 ended the run: %v", i.Caught())
	}
	got, sigs := i.Handover()
	if got != nil || sigs == nil {
		t.Fatalf("Handover = %v, %v; want no signal and the channel", got, sigs)
	}
	defer signal.Stop(sigs)
	var seen []os.Signal
	for len(seen) < 2 {
		select {
		case s := <-sigs:
			seen = append(seen, s)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %v after the handover, want SIGUSR1 and SIGUSR2", seen)
		}
	}
	if seen[0] != syscall.SIGUSR1 || seen[1] != syscall.SIGUSR2 {
		t.Errorf("got %v, want SIGUSR1 then SIGUSR2", seen)
	}
}

// A run that execs holds no forwarded signal: it catches the four
// interrupting ones only (each signal caught costs the start a round
// trip to the runtime's signal thread), and SIGUSR1 is dropped, as Go
// drops it, without ending the run.
func TestInterruptsOfARunThatExecsCatchOnlyInterrupts(t *testing.T) {
	i := CatchInterrupts("before the command started")
	defer i.Stop()
	for _, s := range i.sigs {
		if !interrupting(s) {
			t.Errorf("%v caught by a run that execs", s)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	time.Sleep(50 * time.Millisecond)
	if i.Caught() != nil {
		t.Fatalf("SIGUSR1 ended the run: %v", i.Caught())
	}
	_, sigs := i.Handover()
	defer signal.Stop(sigs)
	select {
	case s := <-sigs:
		t.Errorf("%v held for a supervisor that was never asked for", s)
	case <-time.After(100 * time.Millisecond):
	}
}
