package cli

import (
	"bytes"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/smexec/smexec/internal/target"
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

// Once the command runs, smexec keeps a value only when a feature needs
// it: --mask hides it and --on-change restart starts the command with it
// again. Otherwise the values are wiped, not just dropped.
func TestSupervisedRunWipesTheValuesNoFeatureNeeds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags SuperviseFlags
		keep  bool
	}{
		{"plain", SuperviseFlags{}, false},
		{"--refresh with signal", SuperviseFlags{Refresh: time.Hour, OnChange: onChange{"signal", syscall.SIGHUP}}, false},
		{"--refresh with restart", SuperviseFlags{Refresh: time.Hour, OnChange: onChange{action: "restart"}}, true},
		{"--mask", SuperviseFlags{Mask: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.flags
			f.KillSignal, f.KillTimeout = signalName(syscall.SIGTERM), time.Second
			// Refresh would poll; the run is over long before it does.
			cmd := &ExecCmd{SuperviseFlags: f, Command: []string{"true"}}
			deps := &Deps{Log: slog.New(slog.DiscardHandler), Stdout: io.Discard, Stderr: io.Discard}
			data := []byte("value-of-a-secret")
			vals := []value{{Mapping: target.Mapping{Kind: target.Env, Name: "A"}, Data: data}}
			s := &supervised{deps: deps, flags: cmd, path: "/bin/true", files: target.NewFiles(target.FileOptions{UID: -1, GID: -1})}
			if err := s.run(vals, nil); err != nil {
				t.Fatal(err)
			}
			wiped := bytes.Count(data, []byte{0}) == len(data)
			if kept := !wiped && vals[0].Data != nil; kept != tc.keep {
				t.Errorf("value kept = %v (%q), want %v", kept, data, tc.keep)
			}
			if !tc.keep && !wiped {
				t.Errorf("the value was dropped but not wiped: %q", data)
			}
		})
	}
}

func TestParentDeathSignalTakesASignalOrNone(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"KILL": syscall.SIGKILL, "SIGTERM": syscall.SIGTERM, "1": syscall.SIGHUP, "none": 0, "NONE": 0} {
		var got deathSignal
		if err := got.UnmarshalText([]byte(in)); err != nil || syscall.Signal(got) != want {
			t.Errorf("%q: got %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "nope", "0", "65"} {
		var got deathSignal
		if err := got.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q: accepted as %d", bad, got)
		}
	}
}
