package cli

import (
	"syscall"
	"testing"
	"time"
)

func TestOnChangeParsesEveryForm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want onChange
	}{
		{"signal:HUP", onChange{"signal", syscall.SIGHUP}},
		{"signal:SIGUSR1", onChange{"signal", syscall.SIGUSR1}},
		{"signal:usr2", onChange{"signal", syscall.SIGUSR2}},
		{"signal:15", onChange{"signal", syscall.SIGTERM}},
		{"restart", onChange{action: "restart"}},
		{"exit", onChange{action: "exit"}},
		{"none", onChange{action: "none"}},
	} {
		var got onChange
		if err := got.UnmarshalText([]byte(tc.in)); err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "signal:", "signal:NOPE", "signal:0", "signal:99", "Restart", "hup"} {
		var got onChange
		if err := got.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q: accepted as %+v", bad, got)
		}
	}
}

func TestSignalNameStringRoundTrips(t *testing.T) {
	for name := range signalNames {
		var n signalName
		if err := n.UnmarshalText([]byte("SIG" + name)); err != nil || n.String() != name {
			t.Errorf("SIG%s: got %v, %v", name, n, err)
		}
	}
}

func TestSuperviseIsOnWhenAskedImpliedOrPID1(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags SuperviseFlags
		pid   int
		want  bool
		fails bool
	}{
		{"plain run execs", SuperviseFlags{}, 42, false, false},
		{"PID 1 supervises", SuperviseFlags{}, 1, true, false},
		{"--no-supervise as PID 1 execs", SuperviseFlags{NoSupervise: true}, 1, false, false},
		{"--supervise", SuperviseFlags{Supervise: true}, 42, true, false},
		{"--refresh implies it", SuperviseFlags{Refresh: time.Minute}, 42, true, false},
		{"--mask implies it", SuperviseFlags{Mask: true}, 42, true, false},
		{"--no-supervise with --mask", SuperviseFlags{NoSupervise: true, Mask: true}, 42, false, true},
		{"--no-supervise with --refresh", SuperviseFlags{NoSupervise: true, Refresh: time.Minute}, 1, false, true},
		{"--refresh under a second", SuperviseFlags{Refresh: time.Millisecond}, 42, false, true},
		{"--kill-timeout zero", SuperviseFlags{Supervise: true, KillTimeout: -1}, 42, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.flags
			if f.KillTimeout == 0 {
				f.KillTimeout = 10 * time.Second
			}
			got, err := f.enabled(tc.pid)
			if (err != nil) != tc.fails || got != tc.want {
				t.Errorf("got %v, %v; want %v, fails=%v", got, err, tc.want, tc.fails)
			}
		})
	}
}
