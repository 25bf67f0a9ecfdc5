package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smexec/smexec/internal/testenv/moto"
)

// sidecar measures the Flyte sidecar form: one `smexec flyte-sidecar` a
// secret, as Flyte's webhook runs one init container a secret, with
// SECRET_ARN (an ARN and a JSON key) and SECRET_FILENAME as the webhook
// sets them. It reports the wall time of one run to its exit, the peak
// RSS of the process and the requests it made, against moto behind the
// delay proxy and against the stub.
func sidecar(bin string, k int, delays []time.Duration) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "startbench-sidecar-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	srv, err := moto.Start(filepath.Join(tmp, "moto.log"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	const name, value = "bench/sidecar", `{"password":"bench-sidecar-value","port":5432}`
	arns, err := seed(srv.URL, []string{name}, map[string]string{name: value})
	if err != nil {
		return err
	}
	arn := arns[0]
	root := filepath.Join(tmp, "vol")
	if err := os.Mkdir(root, 0o777); err != nil {
		return err
	}

	floor, err := spawnFloor()
	if err != nil {
		return err
	}
	fmt.Printf("\nThe Flyte sidecar form: smexec flyte-sidecar, one secret a run (a JSON key); %d runs a row.\n", k)
	fmt.Printf("Each run is timed and measured by a spawner process; /bin/true measured the same way: %.1f MB.\n\n", float64(floor)/1024)
	fmt.Println("| endpoint | delay | median ms | max ms | peak RSS MB | requests/run |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, e := range []struct {
		name string
		open func(time.Duration) (endpoint, error)
	}{
		{"moto", motoEndpoint(srv.URL, nil, false)},
		// The stub knows secrets by the id asked for: here the ARN.
		{"stub", stub(map[string]string{arn: value}, false)},
	} {
		for _, d := range delays {
			ep, err := e.open(d)
			if err != nil {
				return err
			}
			c, err := measureSidecar(bin, root, ep, arn, k)
			ep.close()
			if err != nil {
				return fmt.Errorf("sidecar %s %v: %w", e.name, d, err)
			}
			fmt.Printf("| %s | %v | %.1f | %.1f | %.1f | %.1f |\n", e.name, d, ms(c.median), ms(c.max), float64(c.rssKB)/1024, c.requests)
		}
	}
	return nil
}

// measureSidecar runs `smexec flyte-sidecar --root root` runs times with
// the webhook's environment for the group and key of arn + ":password",
// checking that each run wrote the value.
func measureSidecar(bin, root string, ep endpoint, arn string, runs int) (cell, error) {
	i := strings.Index(arn, ":secret:") + len(":secret:")
	group, key := arn[:i], arn[i:]+":password"
	filename := filepath.Join("/", strings.ToLower(group), strings.ToLower(key))
	env := append(benchEnv(ep),
		"SECRET_ARN="+strings.TrimRight(group, ":")+":"+strings.TrimLeft(key, ":"), "SECRET_FILENAME="+filename)
	ep.count()
	var walls []time.Duration
	var c cell
	for range runs {
		os.Remove(filepath.Join(root, filename))
		wall, rssKB, err := spawned(env, bin, "flyte-sidecar", "--root", root)
		if err != nil {
			return c, err
		}
		walls = append(walls, wall)
		if got, err := os.ReadFile(filepath.Join(root, filename)); err != nil || string(got) != "bench-sidecar-value" {
			return c, fmt.Errorf("the run did not write the value: %v", err)
		}
		c.rssKB = max(c.rssKB, rssKB)
	}
	c.median, c.max = spread(walls)
	c.requests = float64(ep.count()) / float64(runs)
	return c, nil
}
