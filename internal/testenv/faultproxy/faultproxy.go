// Package faultproxy is a loopback HTTP proxy for tests and benchmarks. It
// forwards to one upstream endpoint (moto_server, a stub) and, when told
// to, does what a network path and an AWS service do to a client on a bad
// day: adds latency, resets connections, stalls without answering,
// answers HTTP 5xx, answers AWS errors such as ThrottlingException, and
// limits the request rate, throttling the excess. It counts the requests
// it sees, by Secrets Manager operation, and how many it faulted.
package faultproxy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Kind is what a fault does to a request.
type Kind int

const (
	// Pass forwards the request: no fault.
	Pass Kind = iota
	// Reset closes the connection with a TCP RST before any answer.
	Reset
	// Stall holds the request without answering until the client gives
	// up or the proxy closes.
	Stall
	// Status answers with a bare HTTP status and a plain-text body, as a
	// load balancer in front of a service does (500, 502, 503, 504).
	Status
	// AWSError answers with an AWS JSON 1.1 error: the x-amzn-ErrorType
	// header and a {"__type","message"} body, HTTP 400 unless told.
	AWSError
)

// Fault is the fault injected into requests.
type Fault struct {
	Kind    Kind
	Status  int    // Status: the HTTP status; AWSError: default 400
	Code    string // AWSError: the error code, e.g. ThrottlingException
	Message string // AWSError: the message; a default names the code
	// Count is how many requests the fault hits before requests pass
	// again; 0 means every request until the fault is changed.
	Count int
	// Op, when set, limits the fault to requests of that operation
	// ("BatchGetSecretValue"); others pass.
	Op string
}

// Stats is what the proxy saw.
type Stats struct {
	Requests  int // every request that arrived
	Faulted   int // answered with a fault (reset, stall, 5xx, AWS error, throttle) instead of forwarded
	Throttled int // of Faulted, answered ThrottlingException by the rate limit
	Conns     int // connections clients opened
}

// Proxy forwards to one upstream endpoint.
type Proxy struct {
	URL string // where clients connect, http://127.0.0.1:PORT

	srv  *http.Server
	rp   *httputil.ReverseProxy
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	latency time.Duration
	fault   Fault
	// Rate limits: all requests (key ""), and each operation's.
	limits map[string]*bucket
	stats  Stats
	counts map[string]int
}

// Start listens on a free 127.0.0.1 port and forwards to upstream, with
// no fault until told.
func Start(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	if !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("faultproxy: upstream %s is not on loopback", upstream)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		URL:    "http://" + l.Addr().String(),
		done:   make(chan struct{}),
		counts: map[string]int{},
		limits: map[string]*bucket{},
	}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ConnState: p.connState}
	go p.srv.Serve(l)
	return p, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p *Proxy) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		p.mu.Lock()
		p.stats.Conns++
		p.mu.Unlock()
	}
}

// SetLatency holds every request for d before it is answered or
// forwarded, as a network round trip would.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// SetFault sets the fault injected into the next requests, replacing any
// fault set before. Fault{} turns faults off.
func (p *Proxy) SetFault(f Fault) {
	p.mu.Lock()
	p.fault = f
	p.mu.Unlock()
}

// SetRate lets through at most perSecond requests a second (with a burst
// of as many) and answers the rest with ThrottlingException, as Secrets
// Manager does past a quota; 0 removes the limit.
func (p *Proxy) SetRate(perSecond int) { p.SetOpRate("", perSecond) }

// SetOpRate limits the requests of one operation ("BatchGetSecretValue")
// as SetRate does all of them; a request must pass both limits.
func (p *Proxy) SetOpRate(op string, perSecond int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if perSecond <= 0 {
		delete(p.limits, op)
		return
	}
	p.limits[op] = &bucket{rate: float64(perSecond), tokens: float64(perSecond), last: time.Now()}
}

// bucket is a token bucket: rate tokens a second, at most rate held.
type bucket struct {
	rate, tokens float64
	last         time.Time
}

func (b *bucket) refill(now time.Time) {
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// Stats returns what the proxy saw since the last ResetStats.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// ResetStats zeroes the counts of Stats.
func (p *Proxy) ResetStats() {
	p.mu.Lock()
	p.stats = Stats{}
	p.mu.Unlock()
}

// Counts returns the operations seen since the last call and zeroes them.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	p.counts = map[string]int{}
	return c
}

// Close stops the proxy, releasing stalled requests.
func (p *Proxy) Close() error {
	p.once.Do(func() { close(p.done) })
	return p.srv.Close()
}

// Operation names the Secrets Manager operation of a request
// ("GetSecretValue"), from its X-Amz-Target header.
func Operation(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	if t == "" {
		return "other"
	}
	return t
}

// decide counts r and says what to do with it.
func (p *Proxy) decide(r *http.Request) (latency time.Duration, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	p.counts[Operation(r)]++
	latency = p.latency
	all, one := p.limits[""], p.limits[Operation(r)]
	if all != nil || one != nil {
		now := time.Now()
		for _, b := range []*bucket{all, one} {
			if b != nil {
				b.refill(now)
			}
		}
		if all != nil && all.tokens < 1 || one != nil && one.tokens < 1 {
			p.stats.Faulted++
			p.stats.Throttled++
			return latency, Fault{Kind: AWSError, Code: "ThrottlingException", Message: "Rate exceeded"}
		}
		for _, b := range []*bucket{all, one} {
			if b != nil {
				b.tokens--
			}
		}
	}
	f = p.fault
	if f.Kind == Pass || f.Op != "" && f.Op != Operation(r) {
		return latency, Fault{}
	}
	if p.fault.Count > 0 {
		p.fault.Count--
		if p.fault.Count == 0 {
			p.fault = Fault{}
		}
	}
	p.stats.Faulted++
	return latency, f
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	latency, f := p.decide(r)
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		case <-p.done:
			return
		}
	}
	switch f.Kind {
	case Pass:
		p.rp.ServeHTTP(w, r)
	case Reset:
		reset(w)
	case Stall:
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
	case Status:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "%d %s\n", status, http.StatusText(status))
	case AWSError:
		status := f.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		msg := f.Message
		if msg == "" {
			msg = "injected " + f.Code
		}
		body, _ := json.Marshal(map[string]string{"__type": f.Code, "message": msg})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", f.Code)
		w.Header().Set("X-Amzn-RequestId", "faultproxy")
		w.WriteHeader(status)
		w.Write(body)
	}
}

// reset takes the connection from the server and closes it with SO_LINGER
// 0, so the kernel sends an RST rather than a FIN: the client reads
// "connection reset by peer".
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: the server's ResponseWriter cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
