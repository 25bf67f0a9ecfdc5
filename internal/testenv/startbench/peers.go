package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A tool is one launcher measured by `make bench-peers`: how to start it
// for a cell's N secrets against an endpoint.
type tool struct {
	name string
	// argv and env for the first n secrets, given the files written for
	// them; env adds to benchEnv's.
	argv func(n int) []string
	env  func(ep endpoint) []string
}

// peers runs smexec (exec'd and --supervise) and each peer of list
// (name=path: chamber, vals) interleaved, one run of each in turn, K times
// a cell, over moto plain and behind the TLS terminator, and prints per
// tool the median and max wall time, peak RSS, requests per run, and its
// median divided by smexec's.
func peers(bin, list string, k int, ns []int, delays []time.Duration, tmp string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	srv, names, _, tlsRun, err := setup(tmp, slices.Max(ns))
	if err != nil {
		return err
	}
	defer srv.Stop()
	for _, n := range ns {
		if err := writeMappings(filepath.Join(tmp, fmt.Sprintf("maps-%d", n)), names[:n]); err != nil {
			return err
		}
		if err := writeVals(filepath.Join(tmp, fmt.Sprintf("vals-%d.yaml", n)), names[:n]); err != nil {
			return err
		}
	}
	tools := []tool{
		{name: "smexec", argv: func(n int) []string {
			return []string{bin, "--mappings", filepath.Join(tmp, fmt.Sprintf("maps-%d", n)), "--", "/bin/true"}
		}},
		{name: "smexec --supervise", argv: func(n int) []string {
			return []string{bin, "--supervise", "--mappings", filepath.Join(tmp, fmt.Sprintf("maps-%d", n)), "--", "/bin/true"}
		}},
	}
	for _, p := range strings.Split(list, ",") {
		name, path, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("-peers: %q is not NAME=PATH", p)
		}
		path, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("-peers: %w", err)
		}
		switch {
		case strings.HasPrefix(name, "smexec"):
			// Another smexec build, for an A/B comparison.
			tools = append(tools, tool{name: name, argv: func(n int) []string {
				return []string{path, "--mappings", filepath.Join(tmp, fmt.Sprintf("maps-%d", n)), "--", "/bin/true"}
			}})
		case name == "chamber":
			// chamber's Secrets Manager backend reads one secret a
			// service, a JSON object whose keys become variables: N
			// services are N GetSecretValue calls, one after another.
			// CHAMBER_AWS_SSM_ENDPOINT is its endpoint override (every
			// service, not only SSM: v2 is on the AWS SDK for Go v1).
			tools = append(tools, tool{name: name, argv: func(n int) []string {
				return append(append([]string{path, "exec"}, names[:n]...), "--", "/bin/true")
			}, env: func(ep endpoint) []string {
				return []string{"CHAMBER_SECRET_BACKEND=secretsmanager", "CHAMBER_AWS_SSM_ENDPOINT=" + ep.url, "CHAMBER_AWS_REGION=us-east-1"}
			}})
		case name == "vals":
			tools = append(tools, tool{name: name, argv: func(n int) []string {
				return []string{path, "exec", "-f", filepath.Join(tmp, fmt.Sprintf("vals-%d.yaml", n)), "--", "/bin/true"}
			}})
		default:
			return fmt.Errorf("-peers: unknown peer %q (chamber, vals)", name)
		}
	}
	floor, err := spawnFloor()
	if err != nil {
		return err
	}
	fmt.Printf("smexec %s; %d runs a cell of each tool, interleaved; each run started by a spawner (/bin/true: %.1f MB); TLS: RSA %d, %d roots in SSL_CERT_FILE\n\n",
		bin, k, float64(floor)/1024, tlsRun.keyBits, tlsRun.roots)
	fmt.Println("| endpoint | N | delay | tool | median ms | max ms | peak RSS MB | requests/run | ÷ smexec |")
	fmt.Println("|---|---:|---:|---|---:|---:|---:|---:|---:|")
	endpoints := []struct {
		name string
		open func(time.Duration) (endpoint, error)
	}{
		{"moto", motoEndpoint(srv.URL, nil, false)},
		{"moto, TLS", motoEndpoint(srv.URL, tlsRun, false)},
	}
	if err := warmUp(bin, srv.URL, tmp, names); err != nil {
		return err
	}
	for _, e := range endpoints {
		for _, d := range delays {
			ep, err := e.open(d)
			if err != nil {
				return err
			}
			for _, n := range ns {
				cells, err := interleave(tools, ep, n, k)
				if err != nil {
					ep.close()
					return fmt.Errorf("%s N=%d %v: %w", e.name, n, d, err)
				}
				for i, t := range tools {
					c := cells[i]
					fmt.Printf("| %s | %d | %v | %s | %.1f | %.1f | %.1f | %.1f | %.2f |\n",
						e.name, n, d, t.name, ms(c.median), ms(c.max), float64(c.rssKB)/1024, c.requests,
						float64(c.median)/float64(cells[0].median))
				}
			}
			ep.close()
		}
	}
	return nil
}

// interleave runs each tool once in turn, k times, so that a change in
// the machine's load falls on every tool alike; each round starts one
// tool further on.
func interleave(tools []tool, ep endpoint, n, k int) ([]cell, error) {
	walls := make([][]time.Duration, len(tools))
	cells := make([]cell, len(tools))
	reqs := make([]int, len(tools))
	envs := make([][]string, len(tools))
	for i, t := range tools {
		envs[i] = benchEnv(ep)
		if t.env != nil {
			envs[i] = append(envs[i], t.env(ep)...)
		}
	}
	ep.count()
	for r := range k {
		// Each round starts with the next tool, so that none always
		// runs first (or always after the same one).
		for j := range tools {
			i := (r + j) % len(tools)
			t := tools[i]
			wall, rss, err := spawned(envs[i], t.argv(n)...)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			walls[i] = append(walls[i], wall)
			cells[i].rssKB = max(cells[i].rssKB, rss)
			reqs[i] += ep.count()
		}
	}
	for i := range tools {
		cells[i].median, cells[i].max = spread(walls[i])
		cells[i].requests = float64(reqs[i]) / float64(k)
	}
	return cells, nil
}

// writeVals writes vals' input for names: one variable a secret, its
// password field.
func writeVals(path string, names []string) error {
	return writeEach(path, "S%03d: ref+awssecrets://%s#/password\n", names)
}
