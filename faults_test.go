package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/smexec/smexec/internal/testenv/faultproxy"
)

// proxyCmds are the script commands that run smexec through
// internal/testenv/faultproxy, in front of moto:
//
//	proxy [-iam] [DELAY]          route smexec through a counting proxy in front of moto
//	requests OP=N [OP=N...]       the proxy saw exactly these operations since the last check
//	requests -reset               forget the operations seen so far
//	fault [-op OP] KIND ...       the faults below, for requests of operation OP alone if given
//	fault off                     forward every request again
//	fault latency DELAY           hold every request for DELAY
//	fault reset [N]               reset the connection (TCP RST) of the next N requests (0 or none: all)
//	fault stall [N]               never answer
//	fault status CODE [N]         answer a bare HTTP CODE (500, 503)
//	fault throttle [N]            answer ThrottlingException (HTTP 400)
//	fault error CODE [STATUS] [N] answer the AWS error CODE (HTTP STATUS, default 400)
//	fault rate R                  let R requests a second through, throttle the rest (0: no limit)
//	proxied [requests=N] [faulted=N] [throttled=N] [conns=N]
//	                              the proxy's totals since the last check (conns: connections opened)
func proxyCmds(e *endpoints) map[string]scriptCmd {
	get := func(ts *testscript.TestScript, cmd string) *faultproxy.Proxy {
		p := scriptOf(ts).proxy
		if p == nil {
			ts.Fatalf("%s: no proxy started", cmd)
		}
		return p
	}
	return map[string]scriptCmd{
		"proxy": func(ts *testscript.TestScript, neg bool, args []string) {
			upstream := e.open.URL
			if len(args) > 0 && args[0] == "-iam" {
				upstream, args = e.iam.URL, args[1:]
			}
			p, err := faultproxy.Start(upstream)
			ts.Check(err)
			if len(args) > 0 {
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				p.SetLatency(d)
			}
			ts.Defer(func() { p.Close() })
			ts.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", p.URL)
			// Parameter Store too (moto serves both): parameters by name
			// only, as the proxy goes to moto without the ARN shim.
			ts.Setenv("AWS_ENDPOINT_URL_SSM", p.URL)
			scriptOf(ts).proxy = p
		},
		"requests": func(ts *testscript.TestScript, neg bool, args []string) {
			got := get(ts, "requests").Counts()
			if len(args) == 1 && args[0] == "-reset" {
				return
			}
			want := map[string]int{}
			for _, a := range args {
				op, n, _ := strings.Cut(a, "=")
				c, err := strconv.Atoi(n)
				ts.Check(err)
				want[op] = c
			}
			for _, op := range slices.Sorted(maps.Keys(got)) {
				if _, ok := want[op]; !ok {
					want[op] = 0
				}
			}
			var bad []string
			for _, op := range slices.Sorted(maps.Keys(want)) {
				if got[op] != want[op] {
					bad = append(bad, fmt.Sprintf("%s: got %d, want %d", op, got[op], want[op]))
				}
			}
			if (len(bad) > 0) != neg {
				ts.Fatalf("requests: %v (all: %v)", bad, got)
			}
		},
		"fault": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) == 0 {
				ts.Fatalf("usage: fault off|latency|reset|stall|status|throttle|error|rate ...")
			}
			p := get(ts, "fault")
			op := ""
			if len(args) > 2 && args[0] == "-op" {
				op, args = args[1], args[2:]
			}
			set := func(f faultproxy.Fault) {
				f.Op = op
				p.SetFault(f)
			}
			num := func(i int) int {
				if len(args) <= i {
					return 0
				}
				n, err := strconv.Atoi(args[i])
				ts.Check(err)
				return n
			}
			switch args[0] {
			case "off":
				p.SetFault(faultproxy.Fault{})
				p.SetLatency(0)
				p.SetRate(0)
			case "latency":
				d, err := time.ParseDuration(args[1])
				ts.Check(err)
				p.SetLatency(d)
			case "reset":
				set(faultproxy.Fault{Kind: faultproxy.Reset, Count: num(1)})
			case "stall":
				set(faultproxy.Fault{Kind: faultproxy.Stall, Count: num(1)})
			case "status":
				set(faultproxy.Fault{Kind: faultproxy.Status, Status: num(1), Count: num(2)})
			case "throttle":
				set(faultproxy.Fault{Kind: faultproxy.AWSError, Code: "ThrottlingException", Message: "Rate exceeded", Count: num(1)})
			case "error":
				set(faultproxy.Fault{Kind: faultproxy.AWSError, Code: args[1], Status: num(2), Count: num(3)})
			case "rate":
				p.SetRate(num(1))
			default:
				ts.Fatalf("fault: unknown fault %q", args[0])
			}
		},
		"proxied": func(ts *testscript.TestScript, neg bool, args []string) {
			p := get(ts, "proxied")
			s := p.Stats()
			p.ResetStats()
			got := map[string]int{"requests": s.Requests, "faulted": s.Faulted, "throttled": s.Throttled, "conns": s.Conns}
			var bad []string
			for _, a := range args {
				k, n, _ := strings.Cut(a, "=")
				want, err := strconv.Atoi(n)
				ts.Check(err)
				g, ok := got[k]
				if !ok {
					ts.Fatalf("proxied: unknown count %q", k)
				}
				if g != want {
					bad = append(bad, fmt.Sprintf("%s: got %d, want %d", k, g, want))
				}
			}
			if (len(bad) > 0) != neg {
				ts.Fatalf("proxied: %v (all: %+v)", bad, s)
			}
		},
	}
}
