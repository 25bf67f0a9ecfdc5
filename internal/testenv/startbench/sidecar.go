package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/smexec/smexec/internal/testenv/faultproxy"
	"github.com/smexec/smexec/internal/testenv/moto"
	"github.com/smexec/smexec/internal/testenv/stubsm"
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
	const value = `{"password":"bench-sidecar-value","port":5432}`
	out, err := sm.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		BaseEndpoint: aws.String(srv.URL),
	}).CreateSecret(context.Background(), &sm.CreateSecretInput{Name: aws.String("bench/sidecar"), SecretString: aws.String(value)})
	if err != nil {
		return fmt.Errorf("seed bench/sidecar: %w", err)
	}
	arn := aws.ToString(out.ARN)
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
	for _, d := range delays {
		p, err := faultproxy.Start(srv.URL)
		if err != nil {
			return err
		}
		p.SetLatency(d)
		count := func() int {
			n := 0
			for _, c := range p.Counts() {
				n += c
			}
			return n
		}
		c, err := measureSidecar(bin, root, p.URL, arn, count, k)
		p.Close()
		if err != nil {
			return fmt.Errorf("sidecar moto %v: %w", d, err)
		}
		printSidecar("moto", d, c)
	}
	for _, d := range delays {
		// The stub knows secrets by the id asked for: here the ARN.
		s, err := stubsm.Start(map[string]string{arn: value}, stubsm.Options{Delay: d})
		if err != nil {
			return err
		}
		var last int64
		count := func() int {
			now := s.Requests.Load()
			n := now - last
			last = now
			return int(n)
		}
		c, err := measureSidecar(bin, root, s.URL, arn, count, k)
		s.Close()
		if err != nil {
			return fmt.Errorf("sidecar stub %v: %w", d, err)
		}
		printSidecar("stub", d, c)
	}
	return nil
}

func printSidecar(endpoint string, d time.Duration, c cell) {
	fmt.Printf("| %s | %v | %.1f | %.1f | %.1f | %.1f |\n", endpoint, d, ms(c.median), ms(c.max), float64(c.rssKB)/1024, c.requests)
}

// measureSidecar runs `smexec flyte-sidecar --root root` runs times with
// the webhook's environment for the group and key of arn + ":password",
// checking that each run wrote the value.
func measureSidecar(bin, root, url, arn string, count func() int, runs int) (cell, error) {
	i := strings.Index(arn, ":secret:") + len(":secret:")
	group, key := arn[:i], arn[i:]+":password"
	filename := filepath.Join("/", strings.ToLower(group), strings.ToLower(key))
	env := append(withoutAWS(os.Environ()),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+url,
		"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"SECRET_ARN="+strings.TrimRight(group, ":")+":"+strings.TrimLeft(key, ":"), "SECRET_FILENAME="+filename)
	count()
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
	slices.Sort(walls)
	c.median, c.max = walls[len(walls)/2], walls[len(walls)-1]
	c.requests = float64(count()) / float64(runs)
	return c, nil
}
