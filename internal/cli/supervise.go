package cli

import (
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smexec/smexec/internal/launch"
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

	// vals are the current mappings, in mapping order: set before the
	// command starts, then changed only by the poller. Their values are
	// kept only while a feature needs them (see keepValues).
	vals []value
	// sums are keyed digests of the current values, with --refresh: they
	// tell a changed value without keeping the old one.
	sums [][sha256.Size]byte
	key  []byte
	out  *masker // nil without --mask
}

// keepValues tells whether the running features need the values after
// the command has started: --mask hides them, and --on-change restart
// starts the command again with all of them. Otherwise they are wiped as
// soon as the command runs.
func (s *supervised) keepValues() bool {
	return s.flags.Mask || (s.flags.Refresh > 0 && s.flags.OnChange.action == "restart")
}

// sum is the digest of a value under this run's random key, so that the
// digests kept in memory cannot be checked against guessed values.
func (s *supervised) sum(data []byte) [sha256.Size]byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(data)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// forget wipes the values of vals and drops the secrets they came from,
// so that smexec holds no value it does not need.
func forget(vals []value) {
	for i := range vals {
		clear(vals[i].Data)
		for _, p := range vals[i].Parts {
			clear(p)
		}
		vals[i].Data, vals[i].Secret, vals[i].Secrets, vals[i].Parts = nil, nil, nil, nil
	}
}

// forgetUnheld wipes the values of the lists that s.vals does not hold.
// Two mappings share bytes only when they render the same secret the same
// way, so they are current or replaced together.
func (s *supervised) forgetUnheld(lists ...[]value) {
	held := map[*byte]bool{}
	for _, v := range s.vals {
		if len(v.Data) > 0 {
			held[&v.Data[0]] = true
		}
	}
	for _, vals := range lists {
		for i := range vals {
			if len(vals[i].Data) > 0 && !held[&vals[i].Data[0]] {
				forget(vals[i : i+1])
			}
		}
	}
}

func (s *supervised) run(vals []value, sigs chan os.Signal) error {
	s.vals = vals
	if s.flags.Refresh > 0 {
		s.key = make([]byte, 32)
		crand.Read(s.key)
		for _, v := range vals {
			s.sums = append(s.sums, s.sum(v.Data))
		}
	}
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
	sup, err := launch.Supervise(s.command(vals), opt)
	if !s.keepValues() {
		forget(s.vals)
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

	ctx, cancel := context.WithCancel(context.Background())
	var polling sync.WaitGroup
	if s.flags.Refresh > 0 {
		s.warnUndeliverable()
		polling.Add(1)
		go func() {
			defer polling.Done()
			s.poll(ctx, sup)
		}()
	}
	code, err := sup.Wait()
	cancel()
	polling.Wait() // no file is rewritten after this
	s.removeFiles()
	if err != nil {
		return err
	}
	if code != 0 {
		return launch.ExitStatus(code)
	}
	return nil
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

// watched are the mappings whose value can change: a pinned version id
// or parameter version never does.
func (s *supervised) watched() []target.Mapping {
	var ms []target.Mapping
	seen := map[string]bool{} // the --env-from mappings, one value a key
	for _, v := range s.vals {
		if v.Ref.Pinned() {
			continue
		}
		if v.Kind == target.EnvFrom {
			if seen[v.Source] {
				continue
			}
			seen[v.Source] = true
		}
		ms = append(ms, v.Mapping)
	}
	return ms
}

// warnUndeliverable says at start which env targets a refresh cannot
// reach: the environment of a running process cannot be changed.
func (s *supervised) warnUndeliverable() {
	if s.flags.OnChange.action == "restart" {
		return
	}
	var names []string
	for _, v := range s.vals {
		if v.Ref.VersionID == "" && (v.Kind == target.Env || v.Kind == target.EnvFrom) {
			names = append(names, v.Name)
		}
	}
	if len(names) > 0 {
		s.deps.Log.Warn("--refresh: new values of env targets reach the command only with --on-change restart", "env", strings.Join(names, ","), "on-change", s.flags.OnChange.String())
	}
}

// poll re-resolves the watched mappings until ctx ends. A failure is
// logged and retried at the next poll; it never touches the command.
func (s *supervised) poll(ctx context.Context, sup *launch.Supervisor) {
	ms := s.watched()
	if len(ms) == 0 {
		s.deps.Log.Warn("--refresh: every secret is pinned to a version id, nothing can change")
		return
	}
	for {
		// Jitter each wait by ±20% so that a fleet started together
		// drifts apart instead of polling in lockstep.
		wait := time.Duration(float64(s.flags.Refresh) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		release := sup.HoldReaping()
		fresh, err := resolveAll(ctx, s.deps, s.flags.AWSFlags, ms)
		release()
		if ctx.Err() != nil {
			forget(fresh)
			return
		}
		if err != nil {
			forget(fresh)
			var f *Failure
			if !errors.As(err, &f) {
				f = fail(err)
			}
			for _, p := range f.Problems {
				s.deps.Log.Warn("refresh failed; keeping the current values and retrying", append([]any{"err", p.Msg}, p.fields()...)...)
			}
			continue
		}
		if err := s.apply(ctx, fresh, sup); err != nil {
			s.deps.Log.Warn("refresh failed; keeping the current values and retrying", "err", err)
		}
	}
}

// apply takes the freshly resolved values: rewrites the files whose value
// changed, then acts as --on-change says.
func (s *supervised) apply(ctx context.Context, fresh []value, sup *launch.Supervisor) error {
	old := s.vals
	defer func() {
		switch {
		case !s.keepValues():
			forget(fresh)
			forget(s.vals)
		case s.out == nil:
			// Only the current values are needed, for the next
			// restart; the masker would hold every value it hides.
			s.forgetUnheld(old, fresh)
		}
	}()
	type key struct {
		kind target.Kind
		name string
	}
	index := map[key]int{}
	for i, v := range s.vals {
		index[key{v.Kind, v.Name}] = i
	}
	var writes []value
	var changedEnv, changedFiles []string
	next := append([]value(nil), s.vals...)
	sums := append([][sha256.Size]byte(nil), s.sums...)
	for _, v := range fresh {
		i, ok := index[key{v.Kind, v.Name}]
		if !ok {
			// A key an --env-from secret gained, or one an explicit
			// mapping overrides: refresh follows the names set at start.
			continue
		}
		sum := s.sum(v.Data)
		if sum == sums[i] {
			continue
		}
		next[i], sums[i] = v, sum
		switch v.Kind {
		case target.Env, target.EnvFrom:
			changedEnv = append(changedEnv, v.Name)
		case target.File:
			changedFiles = append(changedFiles, v.Name)
			writes = append(writes, v)
		}
	}
	if len(changedEnv)+len(changedFiles) == 0 {
		return nil
	}
	// Mask the new values before anything can print them; the old ones
	// stay masked too, as the command may still hold them.
	if s.out != nil {
		s.out.add(next)
	}
	// A rotation that fails leaves the command with the values it runs
	// with, and maybe some of the new ones written: both stay current for
	// the masker, not replaced ones that a grace period ends.
	failed := func(err error) error {
		if s.out != nil {
			s.out.add(slices.Concat(s.vals, next))
		}
		return err
	}
	// A restart must be able to start the command with the new values.
	if s.flags.OnChange.action == "restart" {
		if err := preflightExec(s.command(next), next); err != nil {
			return failed(err)
		}
	}
	private, files := fileWrites(writes)
	if len(private) > 0 {
		if err := s.private.Write(ctx, private); err != nil {
			return failed(err)
		}
	}
	if err := s.files.Write(ctx, files); err != nil {
		return failed(err)
	}
	s.vals, s.sums = next, sums
	s.deps.Log.Info("secret values changed", "env", strings.Join(changedEnv, ","), "files", strings.Join(changedFiles, ","), "on-change", s.flags.OnChange.String())

	switch oc := s.flags.OnChange; oc.action {
	case "signal":
		if len(changedFiles) > 0 {
			sup.Signal(oc.sig)
		} else {
			s.deps.Log.Warn("--refresh: only env targets changed, which reach the command only with --on-change restart; not signalling", "env", strings.Join(changedEnv, ","))
		}
	case "restart":
		sup.Restart(s.command(next))
	case "exit":
		sup.Exit()
	}
	return nil
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
