package launch

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// A command that leaves orphans exiting around the time it exits itself
// races the reaper's two waits: the exit must be seen whichever wait
// collects it. Once in a few hundred runs it fell to the orphan loop, and
// Wait never returned.
func TestWaitKeepsTheExitOfAChildThatRacesItsOrphans(t *testing.T) {
	const runs = 200
	cmd := Command{Path: "/bin/sh", Argv: []string{"sh", "-c", "for i in 1 2 3 4 5 6 7 8; do (true &); done; exit 3"}}
	for i := range runs {
		s, err := Supervise(cmd, Options{KillTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan int)
		go func() {
			code, err := s.Wait()
			if err != nil {
				t.Error(err)
			}
			done <- code
		}()
		select {
		case code := <-done:
			if code != 3 {
				t.Fatalf("run %d: exit code %d, want 3", i, code)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: Wait did not return: the child's exit was lost", i)
		}
	}
}

func TestWaitReportsKilledBySignalAs128PlusN(t *testing.T) {
	s, err := Supervise(Command{Path: "/bin/sh", Argv: []string{"sh", "-c", "kill -USR1 $$"}}, Options{KillTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := s.Wait(); code != 128+10 || err != nil {
		t.Fatalf("got %d, %v; want 138", code, err)
	}
}

func TestSuperviseReportsAMissingCommandAs127(t *testing.T) {
	_, err := Supervise(Command{Path: "/nonexistent/cmd", Argv: []string{"cmd"}}, Options{})
	le, ok := err.(*Error)
	if !ok || le.Code != CodeNotFound {
		t.Fatalf("got %v, want a launch.Error with code 127", err)
	}
}

// Once the child has ended, the supervisor's caller removes the files it
// wrote: a SIGTERM then must not end the process at its default action
// half way through. (Were the signals given back, this test's own
// process would die of it.)
func TestSignalAfterTheChildEndedDoesNotEndTheCleanup(t *testing.T) {
	s, err := Supervise(Command{Path: "/bin/sh", Argv: []string{"sh", "-c", "exit 4"}}, Options{KillTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := s.Wait(); code != 4 || err != nil {
		t.Fatalf("got %d, %v; want 4", code, err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
}
