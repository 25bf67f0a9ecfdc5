package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/smexec/smexec/internal/delayproxy"
)

// proxies holds each running script's proxy.
var proxies sync.Map // *testscript.TestScript → *delayproxy.Proxy

// TestBatchScripts runs the scripts of testdata/batch, which also count
// the requests smexec makes, through a proxy in front of moto:
//
//	proxy [-iam] [DELAY]          route smexec through a counting proxy
//	requests OP=N [OP=N...]       the proxy saw exactly these requests since the last check
func TestBatchScripts(t *testing.T) {
	e := startMoto(t)
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/batch",
		Setup: e.setup,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sm": func(ts *testscript.TestScript, neg bool, args []string) { smCmd(ts, neg, args, e.open.URL) },
			"proxy": func(ts *testscript.TestScript, neg bool, args []string) {
				upstream := e.open.URL
				if len(args) > 0 && args[0] == "-iam" {
					upstream, args = e.iam.URL, args[1:]
				}
				var delay time.Duration
				if len(args) > 0 {
					d, err := time.ParseDuration(args[0])
					ts.Check(err)
					delay = d
				}
				p, err := delayproxy.Start(upstream, delay)
				ts.Check(err)
				ts.Defer(func() { p.Close() })
				ts.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", p.URL)
				proxies.Store(ts, p)
			},
			"requests": func(ts *testscript.TestScript, neg bool, args []string) {
				v, ok := proxies.Load(ts)
				if !ok {
					ts.Fatalf("requests: no proxy started")
				}
				got := v.(*delayproxy.Proxy).Counts()
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
		},
	})
}
