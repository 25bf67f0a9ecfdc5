// Package rotate owns --refresh: the loop that, beside a supervised
// command, polls the secrets it was started with, tells a changed value
// from a digest, rewrites the files whose value changed, and then
// signals, restarts or stops the command as --on-change says. It also
// owns the resolved values a run injects (Value) and their wiping.
package rotate

import (
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/resolve"
	"github.com/smexec/smexec/internal/target"
)

// Value is a mapping with its resolved value.
type Value struct {
	target.Mapping
	Secret *resolve.Secret
	// Secrets are every secret a template read, Secret the first.
	Secrets []*resolve.Secret
	Data    []byte
	// Parts are a template's values, one for each placeholder, as the
	// secrets hold them: --mask hides each of them too.
	Parts [][]byte
}

// Forget wipes the values of vals and drops the secrets they came from,
// so that smexec holds no value it does not need.
func Forget(vals []Value) {
	for i := range vals {
		clear(vals[i].Data)
		for _, p := range vals[i].Parts {
			clear(p)
		}
		vals[i].Data, vals[i].Secret, vals[i].Secrets, vals[i].Parts = nil, nil, nil, nil
	}
}

// FileWrites are the files of vals to write: the private files of
// --env-path, and the file targets.
func FileWrites(vals []Value) (private, files []target.Write) {
	for _, v := range vals {
		if v.Kind != target.File {
			continue
		}
		w := target.Write{Path: v.Name, Data: v.Data, Source: v.Source}
		if v.PathEnv != "" {
			private = append(private, w)
		} else {
			files = append(files, w)
		}
	}
	return private, files
}

// Action is what a changed value does (--on-change).
type Action struct {
	Do     string         // "signal", "restart", "exit" or "none"
	Signal syscall.Signal // with "signal"
	Name   string         // as --on-change says it, for the log
}

// Config is how a Rotator polls and what it changes.
type Config struct {
	Every    time.Duration // --refresh: the mean wait between polls
	OnChange Action
	// Keep tells that the values are needed after the command started
	// (by --mask, or to restart it); without it each poll's values are
	// wiped once applied.
	Keep bool
	Log  *slog.Logger

	// Resolve fetches and renders ms again.
	Resolve func(ctx context.Context, ms []target.Mapping) ([]Value, error)
	// Problems splits a failure of Resolve into the log fields of each
	// problem, "err" first: one warning a problem.
	Problems func(error) [][]any
	// Command is the command to start with vals, or why it cannot be
	// (execve would refuse its environment), for a restart.
	Command func(vals []Value) (launch.Command, error)
	// Mask, with --mask, is given every value the command may hold
	// before it can print one; nil without --mask.
	Mask func(vals []Value)
	// Files and Private are where the file targets and the --env-path
	// files were written; a changed value is rewritten there.
	Files, Private *target.Files
}

// A Rotator keeps the values a supervised command runs with current.
type Rotator struct {
	Config
	// vals are the current mappings, in mapping order: changed only by
	// the poller. Their values are kept only with Keep.
	vals []Value
	// sums are keyed digests of the current values: they tell a changed
	// value without keeping the old one.
	sums [][sha256.Size]byte
	key  []byte
}

// New returns a Rotator for the command started with vals. It digests
// them now, before the command starts and they may be wiped.
func New(c Config, vals []Value) *Rotator {
	r := &Rotator{Config: c, vals: vals, key: make([]byte, 32)}
	crand.Read(r.key)
	for _, v := range vals {
		r.sums = append(r.sums, r.sum(v.Data))
	}
	return r
}

// sum is the digest of a value under this run's random key, so that the
// digests kept in memory cannot be checked against guessed values.
func (r *Rotator) sum(data []byte) [sha256.Size]byte {
	h := hmac.New(sha256.New, r.key)
	h.Write(data)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// forgetUnheld wipes the values of the lists that r.vals does not hold.
// Two mappings share bytes only when they render the same secret the same
// way, so they are current or replaced together.
func (r *Rotator) forgetUnheld(lists ...[]Value) {
	held := map[*byte]bool{}
	for _, v := range r.vals {
		if len(v.Data) > 0 {
			held[&v.Data[0]] = true
		}
	}
	for _, vals := range lists {
		for i := range vals {
			if len(vals[i].Data) > 0 && !held[&vals[i].Data[0]] {
				Forget(vals[i : i+1])
			}
		}
	}
}

// Start warns about the env targets a refresh cannot reach, then polls
// in the background until stop is called; no file is rewritten after
// stop returns.
func (r *Rotator) Start(sup *launch.Supervisor) (stop func()) {
	r.warnUndeliverable()
	ctx, cancel := context.WithCancel(context.Background())
	var polling sync.WaitGroup
	polling.Add(1)
	go func() {
		defer polling.Done()
		r.poll(ctx, sup)
	}()
	return func() {
		cancel()
		polling.Wait()
	}
}

// watched are the mappings whose value can change: a pinned version id
// or parameter version never does.
func (r *Rotator) watched() []target.Mapping {
	var ms []target.Mapping
	seen := map[string]bool{} // the --env-from mappings, one value a key
	for _, v := range r.vals {
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
func (r *Rotator) warnUndeliverable() {
	if r.OnChange.Do == "restart" {
		return
	}
	var names []string
	for _, v := range r.vals {
		if v.Ref.VersionID == "" && (v.Kind == target.Env || v.Kind == target.EnvFrom) {
			names = append(names, v.Name)
		}
	}
	if len(names) > 0 {
		r.Log.Warn("--refresh: new values of env targets reach the command only with --on-change restart", "env", strings.Join(names, ","), "on-change", r.OnChange.Name)
	}
}

// poll re-resolves the watched mappings until ctx ends. A failure is
// logged and retried at the next poll; it never touches the command.
func (r *Rotator) poll(ctx context.Context, sup *launch.Supervisor) {
	ms := r.watched()
	if len(ms) == 0 {
		r.Log.Warn("--refresh: every secret is pinned to a version id, nothing can change")
		return
	}
	for {
		// Jitter each wait by ±20% so that a fleet started together
		// drifts apart instead of polling in lockstep.
		wait := time.Duration(float64(r.Every) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		release := sup.HoldReaping()
		fresh, err := r.Resolve(ctx, ms)
		release()
		if ctx.Err() != nil {
			Forget(fresh)
			return
		}
		if err != nil {
			Forget(fresh)
			for _, fields := range r.Problems(err) {
				r.Log.Warn("refresh failed; keeping the current values and retrying", fields...)
			}
			continue
		}
		if err := r.apply(ctx, fresh, sup); err != nil {
			r.Log.Warn("refresh failed; keeping the current values and retrying", "err", err)
		}
	}
}

// apply takes the freshly resolved values: rewrites the files whose value
// changed, then acts as --on-change says.
func (r *Rotator) apply(ctx context.Context, fresh []Value, sup *launch.Supervisor) error {
	old := r.vals
	defer func() {
		switch {
		case !r.Keep:
			Forget(fresh)
			Forget(r.vals)
		case r.Mask == nil:
			// Only the current values are needed, for the next
			// restart; the masker would hold every value it hides.
			r.forgetUnheld(old, fresh)
		}
	}()
	type key struct {
		kind target.Kind
		name string
	}
	index := map[key]int{}
	for i, v := range r.vals {
		index[key{v.Kind, v.Name}] = i
	}
	var writes []Value
	var changedEnv, changedFiles []string
	next := append([]Value(nil), r.vals...)
	sums := append([][sha256.Size]byte(nil), r.sums...)
	for _, v := range fresh {
		i, ok := index[key{v.Kind, v.Name}]
		if !ok {
			// A key an --env-from secret gained, or one an explicit
			// mapping overrides: refresh follows the names set at start.
			continue
		}
		sum := r.sum(v.Data)
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
	if r.Mask != nil {
		r.Mask(next)
	}
	// A rotation that fails leaves the command with the values it runs
	// with, and maybe some of the new ones written: both stay current for
	// the masker, not replaced ones that a grace period ends.
	failed := func(err error) error {
		if r.Mask != nil {
			r.Mask(slices.Concat(r.vals, next))
		}
		return err
	}
	// A restart must be able to start the command with the new values.
	var restart launch.Command
	if r.OnChange.Do == "restart" {
		cmd, err := r.Command(next)
		if err != nil {
			return failed(err)
		}
		restart = cmd
	}
	private, files := FileWrites(writes)
	if len(private) > 0 {
		if err := r.Private.Write(ctx, private); err != nil {
			return failed(err)
		}
	}
	if err := r.Files.Write(ctx, files); err != nil {
		return failed(err)
	}
	r.vals, r.sums = next, sums
	r.Log.Info("secret values changed", "env", strings.Join(changedEnv, ","), "files", strings.Join(changedFiles, ","), "on-change", r.OnChange.Name)

	switch oc := r.OnChange; oc.Do {
	case "signal":
		if len(changedFiles) > 0 {
			sup.Signal(oc.Signal)
		} else {
			r.Log.Warn("--refresh: only env targets changed, which reach the command only with --on-change restart; not signalling", "env", strings.Join(changedEnv, ","))
		}
	case "restart":
		sup.Restart(restart)
	case "exit":
		sup.Exit()
	}
	return nil
}
