package resolve

import (
	"context"
	"sync"
	"time"
)

// pacer keeps one process from multiplying a throttled account's load.
// Each of a run's reads retries on its own schedule; without a pacer, a
// process with ten secrets throttled at once would keep ten requests
// going where one would learn as much. So, per region and operation:
// while the last answer was a throttle, one request at a time goes out
// (a scout), no sooner than a jittered, growing wait after the last
// throttle; the first answer that is not a throttle lets every read go
// at once again.
type pacer struct {
	p *policy

	mu       sync.Mutex
	throttle error     // the last throttle, while throttled; nil: not throttled
	n        int       // throttles in a row
	until    time.Time // no scout before
	scouting bool
	change   chan struct{} // closed when any of the above changes
}

func newPacer(p *policy) *pacer { return &pacer{p: p, change: make(chan struct{})} }

// wait blocks until a request may go, and returns the function to call
// with its outcome. When ctx ends first, or would before the request may
// go, it returns a *pacedError holding the throttle that held it back.
func (pc *pacer) wait(ctx context.Context) (done func(error), err error) {
	for {
		pc.mu.Lock()
		if pc.throttle == nil {
			pc.mu.Unlock()
			return func(err error) { pc.answered(err, false) }, nil
		}
		now := pc.p.clock()
		held := &pacedError{pc.throttle}
		open := pc.until
		if dl, ok := ctx.Deadline(); ok {
			// No request starts in the policy's reserve before the
			// deadline; a gate that opens later lets a last scout go
			// just before it.
			stop := dl.Add(-pc.p.Reserve)
			if !now.Before(stop) {
				pc.mu.Unlock()
				return nil, held
			}
			if last := stop.Add(-pc.p.Base); open.After(last) {
				open = last
			}
		}
		if !pc.scouting && !now.Before(open) {
			pc.scouting = true
			pc.mu.Unlock()
			return func(err error) { pc.answered(err, true) }, nil
		}
		ch, scouting, gate := pc.change, pc.scouting, open.Sub(now)
		pc.mu.Unlock()
		if !scouting && pc.p.sleep != nil {
			// A test's clock: its sleep moves it.
			if pc.p.pause(ctx, gate) != nil {
				return nil, held
			}
			continue
		}
		var t *time.Timer
		var timer <-chan time.Time
		if !scouting {
			t = time.NewTimer(gate)
			timer = t.C
		}
		select {
		case <-ctx.Done():
			return nil, held
		case <-ch:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
	}
}

func (pc *pacer) answered(err error, scout bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	switch {
	case err != nil && isThrottle(err):
		pc.n++
		pc.throttle = err
		now := pc.p.clock()
		if until := now.Add(pc.p.draw(pc.p.bound(pc.n))); until.After(pc.until) {
			pc.until = until
		}
	case err == nil:
		pc.n, pc.throttle, pc.until = 0, nil, time.Time{}
	}
	if scout {
		pc.scouting = false
	}
	close(pc.change)
	pc.change = make(chan struct{})
}

// pacerKey names a pacer: one per region and operation.
type pacerKey struct{ region, op string }

// pace returns the pacer of region and op.
func (r *Resolver) pace(region, op string) *pacer {
	r.pacersMu.Lock()
	defer r.pacersMu.Unlock()
	if r.pacers == nil {
		r.pacers = map[pacerKey]*pacer{}
	}
	k := pacerKey{region, op}
	if r.pacers[k] == nil {
		r.pacers[k] = newPacer(r.policy())
	}
	return r.pacers[k]
}

// pacedError is a request that was never sent: its process's reads were
// throttled until the deadline. It unwraps to the last throttle.
type pacedError struct{ throttle error }

func (e *pacedError) Error() string { return e.throttle.Error() }
func (e *pacedError) Unwrap() error { return e.throttle }
