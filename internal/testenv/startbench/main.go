// Command startbench measures how long smexec takes from start to the
// child's exit, and how much memory and how many requests that costs, for
// 1 to 200 secrets at 0 and 20 ms of round-trip delay, against moto_server
// behind a delay proxy and against a fast stub endpoint, and then the Flyte
// sidecar form, one secret a run (-sidecar-only: that alone). `make bench`
// runs it; docs/performance.md records its output.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/smexec/smexec/internal/testenv/faultproxy"
	"github.com/smexec/smexec/internal/testenv/moto"
	"github.com/smexec/smexec/internal/testenv/stubsm"
)

func main() {
	bin := flag.String("bin", "bin/smexec", "smexec binary to measure")
	k := flag.Int("k", 20, "runs per cell")
	kSeq := flag.Int("kseq", 3, "runs per sequential cell (they are slow)")
	ns := flag.String("n", "1,10,50,200", "secret counts")
	tlsNs := flag.String("tls-n", "1,10,50", "secret counts of the TLS cells")
	delays := flag.String("delay", "0ms,20ms", "injected round-trip delays")
	sidecarOnly := flag.Bool("sidecar-only", false, "measure only the Flyte sidecar form (smexec flyte-sidecar)")
	peerList := flag.String("peers", "", "instead of make bench's tables, run smexec and these peers interleaved: NAME=PATH,... (chamber, vals)")
	only := flag.String("only", "", "run only the endpoints whose name holds this (moto, TLS, stub, denied)")
	serveFlag := flag.Bool("serve", false, "start moto (plain and behind the TLS terminator), seed the secrets, print a run's environment, and wait for ^C")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "startbench-")
	if err == nil {
		defer os.RemoveAll(tmp)
		err = buildSpawner(tmp)
	}
	switch {
	case err != nil:
	case *serveFlag:
		err = serve(ints(*ns), durations(*delays)[0], tmp)
	case *peerList != "":
		err = peers(*bin, *peerList, *k, ints(*ns), durations(*delays), tmp)
	default:
		if !*sidecarOnly {
			err = run(*bin, *k, *kSeq, ints(*ns), ints(*tlsNs), durations(*delays), tmp, *only)
		}
		if err == nil && *only == "" {
			err = sidecar(*bin, *k, durations(*delays))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "startbench:", err)
		os.Exit(1)
	}
}

// A mode is one way of running smexec.
type mode struct {
	name  string
	flags []string
	seq   bool
}

var (
	batched    = mode{name: "batched", flags: nil}
	supervised = mode{name: "batched, --supervise", flags: []string{"--supervise"}}
	sequential = mode{name: "sequential (--no-batch --concurrency 1)", flags: []string{"--no-batch", "--concurrency", "1"}, seq: true}
)

// endpoint is where one cell's requests go, and how to count them.
type endpoint struct {
	url   string
	env   []string   // what a run needs besides the endpoint (trust roots)
	count func() int // requests since the last call
	close func()
}

// benchEnv is the environment of every measured run against ep: the
// machine's own, less its AWS_* and SSL_CERT_* settings, plus fake
// credentials, a region, no IMDS, no shared files, and the endpoint.
func benchEnv(ep endpoint) []string {
	env := slices.DeleteFunc(slices.Clone(os.Environ()), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "SSL_CERT_") || strings.HasPrefix(kv, "CHAMBER_")
	})
	return append(env, benchVars(ep)...)
}

// benchVars are the variables benchEnv sets.
func benchVars(ep endpoint) []string {
	return append([]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + ep.url,
		"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}, ep.env...)
}

// motoEndpoint opens moto at url behind a fresh delay proxy, and, when
// tls is set, behind a TLS terminator in front of that; caBundle also sets
// AWS_CA_BUNDLE to the run's bundle.
func motoEndpoint(url string, tlsRun *tlsSetup, caBundle bool) func(time.Duration) (endpoint, error) {
	return func(d time.Duration) (endpoint, error) {
		p, err := faultproxy.Start(url)
		if err != nil {
			return endpoint{}, err
		}
		p.SetLatency(d)
		count := func() int { // Counts resets them
			n := 0
			for _, c := range p.Counts() {
				n += c
			}
			return n
		}
		if tlsRun == nil {
			return endpoint{p.URL, nil, count, func() { p.Close() }}, nil
		}
		t, err := tlsRun.terminate(p.URL)
		if err != nil {
			p.Close()
			return endpoint{}, err
		}
		env := []string{"SSL_CERT_FILE=" + tlsRun.bundle}
		if caBundle {
			env = append(env, "AWS_CA_BUNDLE="+tlsRun.bundle)
		}
		return endpoint{t.URL, env, count, func() { t.Close(); p.Close() }}, nil
	}
}

// setup starts moto_server, seeds maxN secrets and makes the run's TLS
// material in tmp.
func setup(tmp string, maxN int) (srv *moto.Server, names []string, values map[string]string, tlsRun *tlsSetup, err error) {
	names = make([]string, maxN)
	values = map[string]string{}
	for i := range names {
		names[i] = fmt.Sprintf("bench/secret-%03d", i)
		values[names[i]] = fmt.Sprintf(`{"password":"bench-value-%03d","port":5432}`, i)
	}
	if tlsRun, err = newTLS(tmp); err != nil {
		return nil, nil, nil, nil, err
	}
	if srv, err = moto.Start(filepath.Join(tmp, "moto.log")); err != nil {
		return nil, nil, nil, nil, err
	}
	if _, err := seed(srv.URL, names, values); err != nil {
		srv.Stop()
		return nil, nil, nil, nil, err
	}
	return srv, names, values, tlsRun, nil
}

// serve starts moto behind the delay proxy, plain and behind the TLS
// terminator, seeds the secrets, writes a mappings file for each N, prints
// the environment of a run for each, and waits for an interrupt: for
// tracing one run by hand (strace, GODEBUG, perf).
func serve(ns []int, delay time.Duration, tmp string) error {
	srv, names, values, tlsRun, err := setup(tmp, slices.Max(ns))
	if err != nil {
		return err
	}
	defer srv.Stop()
	denied, err := stub(values, true)(delay)
	if err != nil {
		return err
	}
	defer denied.close()
	fmt.Printf("stub, batch denied: AWS_ENDPOINT_URL_SECRETS_MANAGER=%s\n", denied.url)
	for _, n := range ns {
		path := filepath.Join(tmp, fmt.Sprintf("maps-%d", n))
		if err := writeMappings(path, names[:n]); err != nil {
			return err
		}
		fmt.Printf("mappings, N=%d: %s\n", n, path)
	}
	for _, t := range []*tlsSetup{nil, tlsRun} {
		ep, err := motoEndpoint(srv.URL, t, false)(delay)
		if err != nil {
			return err
		}
		defer ep.close()
		fmt.Printf("\nenv -i %s\n", strings.Join(benchVars(ep), " "))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

func run(bin string, k, kSeq int, ns, tlsNs []int, delays []time.Duration, tmp, only string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	srv, names, values, tlsRun, err := setup(tmp, slices.Max(append(slices.Clone(ns), tlsNs...)))
	if err != nil {
		return err
	}
	defer srv.Stop()

	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	floor, err := spawnFloor()
	if err != nil {
		return err
	}
	fmt.Printf("binary: %s, %.1f MB; %s, %d CPUs; %d runs a cell (%d sequential)\n",
		bin, float64(fi.Size())/1e6, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), k, kSeq)
	fmt.Printf("each run started by a spawner, which reports %.1f MB for /bin/true; TLS: RSA %d, %d roots in SSL_CERT_FILE\n\n",
		float64(floor)/1024, tlsRun.keyBits, tlsRun.roots)
	fmt.Println("| endpoint | N | delay | mode | median ms | max ms | peak RSS MB | requests/run |")
	fmt.Println("|---|---:|---:|---|---:|---:|---:|---:|")

	type target struct {
		name  string
		ns    []int
		modes []mode
		open  func(delay time.Duration) (endpoint, error)
	}
	targets := []target{
		{"moto", ns, []mode{batched, supervised, sequential}, motoEndpoint(srv.URL, nil, false)},
		{"moto, TLS", tlsNs, []mode{batched, supervised}, motoEndpoint(srv.URL, tlsRun, false)},
		{"moto, TLS, AWS_CA_BUNDLE", tlsNs[:1], []mode{batched}, motoEndpoint(srv.URL, tlsRun, true)},
		{"stub", ns, []mode{batched, sequential}, stub(values, false)},
		{"stub, batch denied", ns, []mode{{name: "fallback (GetSecretValue, concurrent)"}}, stub(values, true)},
	}
	if err := warmUp(bin, srv.URL, tmp, names); err != nil {
		return err
	}
	for _, t := range targets {
		if !strings.Contains(t.name, only) {
			continue
		}
		for _, d := range delays {
			ep, err := t.open(d)
			if err != nil {
				return err
			}
			for _, n := range t.ns {
				maps := filepath.Join(tmp, fmt.Sprintf("maps-%d", n))
				if err := writeMappings(maps, names[:n]); err != nil {
					return err
				}
				for _, m := range t.modes {
					runs := k
					if m.seq {
						runs = kSeq
					}
					c, err := measure(bin, ep, maps, m.flags, runs)
					if err != nil {
						ep.close()
						return fmt.Errorf("%s N=%d %v %s: %w", t.name, n, d, m.name, err)
					}
					fmt.Printf("| %s | %d | %v | %s | %.1f | %.1f | %.1f | %.1f |\n",
						t.name, n, d, m.name, ms(c.median), ms(c.max), float64(c.rssKB)/1024, c.requests)
				}
			}
			ep.close()
		}
	}
	if only != "" {
		return nil
	}
	return output(bin, srv.URL, tmp, names)
}

// warmUp runs smexec a few times against moto, untimed: the first
// requests moto answers, and the first runs of a binary, are slower than
// the rest, and would fall on the first cell alone.
func warmUp(bin, url, tmp string, names []string) error {
	maps := filepath.Join(tmp, "maps-warmup")
	if err := writeMappings(maps, names[:1]); err != nil {
		return err
	}
	ep, err := motoEndpoint(url, nil, false)(0)
	if err != nil {
		return err
	}
	defer ep.close()
	_, err = measure(bin, ep, maps, nil, 5)
	return err
}

func stub(values map[string]string, deny bool) func(time.Duration) (endpoint, error) {
	return func(d time.Duration) (endpoint, error) {
		s, err := stubsm.Start(values, stubsm.Options{Delay: d, DenyBatch: deny})
		if err != nil {
			return endpoint{}, err
		}
		var last int64
		count := func() int {
			now := s.Requests.Load()
			n := now - last
			last = now
			return int(n)
		}
		return endpoint{s.URL, nil, count, func() { s.Close() }}, nil
	}
}

type cell struct {
	median, max time.Duration
	rssKB       int64
	requests    float64
}

// spread sorts walls and returns their median and maximum.
func spread(walls []time.Duration) (median, max time.Duration) {
	slices.Sort(walls)
	return walls[len(walls)/2], walls[len(walls)-1]
}

// measure runs smexec `runs` times with a child that exits at once, and
// returns the wall time from start to the child's exit, the peak RSS of
// the process (smexec, then the child it became) and requests per run.
func measure(bin string, ep endpoint, maps string, flags []string, runs int) (cell, error) {
	env := benchEnv(ep)
	argv := append(append([]string{bin, "--mappings", maps}, flags...), "--", "/bin/true")
	ep.count()
	var walls []time.Duration
	var c cell
	for range runs {
		wall, rss, err := spawned(env, argv...)
		if err != nil {
			return c, err
		}
		walls = append(walls, wall)
		c.rssKB = max(c.rssKB, rss)
	}
	c.median, c.max = spread(walls)
	c.requests = float64(ep.count()) / float64(runs)
	return c, nil
}

// seed creates the secrets names (values[name]) on the endpoint at url and
// returns their ARNs, in the order of names.
func seed(url string, names []string, values map[string]string) ([]string, error) {
	client := sm.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		BaseEndpoint: aws.String(url),
	})
	ctx := context.Background()
	arns := make([]string, 0, len(names))
	for _, n := range names {
		out, err := client.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(n), SecretString: aws.String(values[n])})
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", n, err)
		}
		arns = append(arns, aws.ToString(out.ARN))
	}
	return arns, nil
}

// writeMappings writes smexec's mappings for names: one variable a
// secret, its password field.
func writeMappings(path string, names []string) error {
	return writeEach(path, "S%03d=%s:password\n", names)
}

// writeEach writes line (a format of the index and the name) for each of
// names.
func writeEach(path, line string, names []string) error {
	var b strings.Builder
	for i, n := range names {
		fmt.Fprintf(&b, line, i, n)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ints(s string) []int { return list(s, strconv.Atoi) }

func durations(s string) []time.Duration { return list(s, time.ParseDuration) }

// list parses a comma-separated flag value; a bad item ends the run.
func list[T any](s string, parse func(string) (T, error)) []T {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			panic(err)
		}
		out = append(out, v)
	}
	return out
}
