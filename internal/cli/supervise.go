package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/rotate"
	"github.com/smexec/smexec/internal/target"
)

// SuperviseFlags choose supervise mode and shape it.
type SuperviseFlags struct {
	Supervise   bool          `help:"Stay as a small init above the command: forward signals, reap zombies, remove written files at exit. On by default as PID 1, and with --refresh or --mask."`
	NoSupervise bool          `help:"Replace smexec with the command even as PID 1."`
	SignalGroup bool          `help:"Forward signals to the command's whole process group (supervise mode)."`
	KeepFiles   bool          `help:"Leave written files in place when the command exits (supervise mode)."`
	Refresh     time.Duration `type:"refresh" placeholder:"DURATION" help:"Poll secrets not pinned to a version id about this often (jittered) and apply changed values (supervise mode)."`
	OnChange    onChange      `default:"signal:HUP" placeholder:"ACTION" help:"What a changed value does: signal:NAME (files are rewritten first), restart, exit or none. Default: signal:HUP."`
	KillSignal  signalName    `default:"TERM" placeholder:"SIGNAL" help:"Signal that stops the command for a restart or an exit. Default: TERM."`
	KillTimeout time.Duration `default:"10s" help:"Send SIGKILL when the command outlives --kill-signal by this long."`
	DeathSignal deathSignal   `name:"parent-death-signal" default:"KILL" placeholder:"SIGNAL" help:"Signal the command gets if smexec dies without stopping it (killed by SIGKILL, say), or none (supervise mode, Linux). Default: KILL."`
	Mask        bool          `help:"Replace injected values (and their base64 and JSON-escaped forms) in the command's stdout and stderr with *** (supervise mode)."`
}

// minRefresh keeps a typo such as --refresh 1ms from polling Secrets
// Manager in a tight loop.
const minRefresh = time.Second

// outputGrace bounds the wait for the command's output to drain after it
// exits, for orphans that keep the pipes open.
const outputGrace = 2 * time.Second

// enabled tells whether to supervise: asked for, implied by --refresh or
// --mask, or as PID 1, where exec would leave nobody to reap zombies or
// remove files.
// wanted reports whether the flags ask for supervise mode (or pid is 1),
// before enabled checks them.
func (f *SuperviseFlags) wanted(pid int) bool {
	return !f.NoSupervise && (f.Supervise || f.Refresh > 0 || f.Mask || pid == 1)
}

func (f *SuperviseFlags) enabled(pid int) (bool, error) {
	if f.Refresh != 0 && f.Refresh < minRefresh {
		return false, fail(fmt.Errorf("--refresh %v: want %v or more", f.Refresh, minRefresh))
	}
	if f.KillTimeout <= 0 {
		return false, fail(fmt.Errorf("--kill-timeout %v: want a positive duration", f.KillTimeout))
	}
	if f.NoSupervise {
		if f.Supervise || f.Refresh > 0 || f.Mask {
			return false, fail(errors.New("--no-supervise: cannot be used with --supervise, --refresh or --mask, which need supervise mode"))
		}
		return false, nil
	}
	return f.Supervise || f.Refresh > 0 || f.Mask || pid == 1, nil
}

// supervised is one supervised run: the command, what was injected into
// it, and what has to be kept current or cleaned up.
type supervised struct {
	deps  *Deps
	flags *ExecCmd
	path  string
	files *target.Files // the files written, removed at the end
	// private are the files of --env-path, in privateDir, removed at the
	// end whatever --keep-files says.
	private    *target.Files
	privateDir string
	// preserved are the env targets --preserve-env left as they are,
	// which --pristine keeps.
	preserved []target.Mapping
	out       *masker // nil without --mask
}

// keepValues tells whether the running features need the values after
// the command has started: --mask hides them, and --on-change restart
// starts the command again with all of them. Otherwise they are wiped as
// soon as the command runs.
func (s *supervised) keepValues() bool {
	return s.flags.Mask || (s.flags.Refresh > 0 && s.flags.OnChange.action == "restart")
}

func (s *supervised) run(vals []value, sigs chan os.Signal) error {
	opt := launch.Options{
		Signals:     sigs,
		SignalGroup: s.flags.SignalGroup,
		KillSignal:  syscall.Signal(s.flags.KillSignal),
		KillTimeout: s.flags.KillTimeout,
		OutputGrace: outputGrace,
		DeathSignal: syscall.Signal(s.flags.DeathSignal),
		Log:         s.deps.Log,
	}
	if s.flags.Mask {
		s.out = newMasker(s.deps, vals)
		opt.Stdout, opt.Stderr = s.out.stdout, s.out.stderr
	}
	var rot *rotate.Rotator
	if s.flags.Refresh > 0 {
		rot = rotate.New(s.rotation(), vals)
	}
	sup, err := launch.Supervise(s.command(vals), opt)
	if !s.keepValues() {
		rotate.Forget(vals)
	}
	if err != nil {
		s.removeFiles()
		return err
	}

	// What resolving needed is garbage now; hand it back to the system for
	// the long life of the supervisor, beside the wait: a forced
	// collection takes 1–2 ms, which a command that ends at once would
	// otherwise wait for.
	go debug.FreeOSMemory()

	stop := func() {}
	if rot != nil {
		stop = rot.Start(sup)
	}
	code, err := sup.Wait()
	stop() // no file is rewritten after this
	s.removeFiles()
	if err != nil {
		return err
	}
	if code != 0 {
		return launch.ExitStatus(code)
	}
	return nil
}

// rotation is how --refresh keeps this run's values current: resolving
// as at start, restarting the command as it was started.
func (s *supervised) rotation() rotate.Config {
	oc := s.flags.OnChange
	c := rotate.Config{
		Every:    s.flags.Refresh,
		OnChange: rotate.Action{Do: oc.action, Signal: oc.sig, Name: oc.String()},
		Keep:     s.keepValues(),
		Log:      s.deps.Log,
		Resolve: func(ctx context.Context, ms []target.Mapping) ([]value, error) {
			return resolveAll(ctx, s.deps, s.flags.AWSFlags, ms)
		},
		Problems: func(err error) [][]any {
			var f *Failure
			if !errors.As(err, &f) {
				f = fail(err)
			}
			out := make([][]any, len(f.Problems))
			for i, p := range f.Problems {
				out[i] = append([]any{"err", p.Msg}, p.fields()...)
			}
			return out
		},
		Command: func(vals []value) (launch.Command, error) {
			cmd := s.command(vals)
			return cmd, preflightExec(cmd, vals)
		},
		Files:   s.files,
		Private: s.private,
	}
	if s.out != nil {
		c.Mask = s.out.add
	}
	return c
}

// command is the child to start with vals.
func (s *supervised) command(vals []value) launch.Command {
	env := s.flags.PristineFlags.base(s.deps.Environ, s.flags.PassSmexecEnv, s.preserved)
	return launch.Command{Path: s.path, Argv: s.flags.Command, Env: childEnv(env, vals, &s.flags.FileFlags)}
}

// removeFiles removes the files written, unless --keep-files; a file
// that is no longer the one written (replaced, or its folder re-pointed)
// is left alone.
func (s *supervised) removeFiles() {
	s.removePrivate()
	if s.flags.KeepFiles {
		return
	}
	if err := s.files.Remove(); err != nil {
		s.deps.Log.Warn("cannot remove a written file", "err", err)
	}
}

// onChange is what a changed value does: signal:NAME, restart, exit or
// none.
type onChange struct {
	action string
	sig    syscall.Signal
}

func (o *onChange) UnmarshalText(b []byte) error {
	s := string(b)
	switch s {
	case "restart", "exit", "none":
		*o = onChange{action: s}
		return nil
	}
	if name, ok := strings.CutPrefix(s, "signal:"); ok {
		var sig signalName
		if err := sig.UnmarshalText([]byte(name)); err != nil {
			return err
		}
		*o = onChange{action: "signal", sig: syscall.Signal(sig)}
		return nil
	}
	return fmt.Errorf("on-change %q: want signal:NAME, restart, exit or none", s)
}

func (o onChange) String() string {
	if o.action == "signal" {
		return "signal:" + signalName(o.sig).String()
	}
	return o.action
}

// signalName is a signal given as HUP, SIGHUP or its number.
type signalName syscall.Signal

var signalNames = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"TERM": syscall.SIGTERM, "WINCH": syscall.SIGWINCH, "ALRM": syscall.SIGALRM,
	"CONT": syscall.SIGCONT, "STOP": syscall.SIGSTOP, "TSTP": syscall.SIGTSTP,
}

func (n *signalName) UnmarshalText(b []byte) error {
	s := strings.TrimPrefix(strings.ToUpper(string(b)), "SIG")
	if sig, ok := signalNames[s]; ok {
		*n = signalName(sig)
		return nil
	}
	if v, err := strconv.Atoi(s); err == nil && v > 0 && v < 65 {
		*n = signalName(v)
		return nil
	}
	return fmt.Errorf("signal %q: want a name such as HUP or TERM, or a number", b)
}

// deathSignal is --parent-death-signal: a signal, or none.
type deathSignal signalName

func (d *deathSignal) UnmarshalText(b []byte) error {
	if strings.EqualFold(string(b), "none") {
		*d = 0
		return nil
	}
	if err := (*signalName)(d).UnmarshalText(b); err != nil {
		return fmt.Errorf("signal %q: want a name such as KILL or TERM, a number, or none", b)
	}
	return nil
}

func (n signalName) String() string {
	for name, sig := range signalNames {
		if sig == syscall.Signal(n) {
			return name
		}
	}
	return strconv.Itoa(int(n))
}
