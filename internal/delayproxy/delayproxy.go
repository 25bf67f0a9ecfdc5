// Package delayproxy is a loopback HTTP proxy for tests and benchmarks: it
// holds each request for a fixed delay, as a network round trip would, and
// counts the Secrets Manager operations it forwards.
package delayproxy

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Proxy forwards to one upstream endpoint.
type Proxy struct {
	URL string // where clients connect, http://127.0.0.1:PORT

	delay  time.Duration
	srv    *http.Server
	mu     sync.Mutex
	counts map[string]int
}

// Start listens on a free 127.0.0.1 port and forwards to upstream after
// delay.
func Start(upstream string, delay time.Duration) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + l.Addr().String(), delay: delay, counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.count(Operation(r))
		if p.delay > 0 {
			time.Sleep(p.delay)
		}
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(l)
	return p, nil
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

func (p *Proxy) count(op string) {
	p.mu.Lock()
	p.counts[op]++
	p.mu.Unlock()
}

// Counts returns the operations seen since the last Reset and resets them.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	p.counts = map[string]int{}
	return c
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }
