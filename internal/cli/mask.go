package cli

import (
	"log/slog"
	"sync"
	"time"

	"github.com/smexec/smexec/internal/mask"
)

// maskGrace is how long a value stays masked after a rotation replaced
// it: the command may still hold and print the old value (until it
// re-reads its files, or until --kill-timeout ends an old instance).
// After that it is dropped, so the masker holds the current values and
// at most those of the last grace period, not every value ever seen.
const maskGrace = 15 * time.Minute

// masker holds the redactors for the command's stdout and stderr, which
// share one mask.Set, and the values they hide.
type masker struct {
	stdout, stderr *mask.Writer

	log     *slog.Logger
	mu      sync.Mutex
	now     func() time.Time
	current [][]byte
	old     map[string]time.Time // a replaced value and when it is dropped
	timer   *time.Timer
}

// newMasker builds the redactors for vals, and warns about the values too
// short to mask, naming their mappings.
func newMasker(deps *Deps, vals []value) *masker {
	m := &masker{log: deps.Log, now: time.Now, old: map[string]time.Time{}, current: data(vals)}
	set := mask.Compile(m.current)
	m.stdout = mask.NewWriter(deps.Stdout, set)
	m.stderr = mask.NewWriter(deps.Stderr, set)
	m.warnShort(vals)
	return m
}

// warnShort names the mappings whose value is too short to mask.
func (m *masker) warnShort(vals []value) {
	for _, v := range vals {
		if !mask.Masked(v.Data) {
			m.log.Warn("--mask: a value shorter than 4 bytes is not masked", "mapping", v.Source)
		}
	}
}

// add makes vals, every current value, the ones masked; a value they
// replace stays masked for maskGrace.
func (m *masker) add(vals []value) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := data(vals)
	now := m.now()
	is := map[string]bool{}
	for _, v := range next {
		is[string(v)] = true
		delete(m.old, string(v))
	}
	for _, v := range m.current {
		if !is[string(v)] {
			m.old[string(v)] = now.Add(maskGrace)
		}
	}
	var fresh []value // warned about once, when they become current
	was := map[string]bool{}
	for _, v := range m.current {
		was[string(v)] = true
	}
	for _, v := range vals {
		if !was[string(v.Data)] {
			fresh = append(fresh, v)
		}
	}
	m.warnShort(fresh)
	m.current = next
	m.rebuild(now)
}

// rebuild drops the replaced values whose grace has ended, compiles the
// rest into one Set for both streams, and sets a timer for the next drop.
func (m *masker) rebuild(now time.Time) {
	all := append([][]byte(nil), m.current...)
	var next time.Time
	for v, end := range m.old {
		if !now.Before(end) {
			delete(m.old, v)
			continue
		}
		all = append(all, []byte(v))
		if next.IsZero() || end.Before(next) {
			next = end
		}
	}
	set := mask.Compile(all)
	m.stdout.Swap(set)
	m.stderr.Swap(set)
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	if !next.IsZero() {
		m.timer = time.AfterFunc(next.Sub(now), func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.rebuild(m.now())
		})
	}
}

func data(vals []value) [][]byte {
	out := make([][]byte, 0, len(vals))
	for _, v := range vals {
		// A template's own values too: the command may print one alone.
		out = append(append(out, v.Data), v.Parts...)
	}
	return out
}
