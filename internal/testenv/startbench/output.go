package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// outputSize is how much the child writes in the output benchmark.
const outputSize = 100 << 20

// output measures a child that writes 100 MB of log lines to stdout
// (discarded): exec'd, supervised, and supervised with --mask hiding the
// values of 50 secrets, some of which the output holds.
func output(bin, url, tmp string, names []string) error {
	data := filepath.Join(tmp, "output.log")
	if err := writeLog(data); err != nil {
		return err
	}
	maps := filepath.Join(tmp, "maps-output")
	if err := writeMappings(maps, names[:min(50, len(names))]); err != nil {
		return err
	}
	env := benchEnv(endpoint{url: url})

	fmt.Printf("\nA child writing %d MB to stdout (/dev/null), 50 secrets, moto at 0 ms; 5 runs a row\n\n", outputSize>>20)
	fmt.Println("| mode | median s | MB/s | peak RSS MB (smexec or child) | output bytes |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, m := range []mode{
		{name: "exec (no supervisor)"},
		{name: "--supervise", flags: []string{"--supervise"}},
		{name: "--supervise --mask", flags: []string{"--mask"}},
	} {
		args := append(append([]string{"--mappings", maps}, m.flags...), "--", "cat", data)
		var walls []time.Duration
		var rss int64
		var size int64
		for range 5 {
			// Through the spawner, for a true peak RSS: it sends the
			// child's stdout to its own stderr, counted here.
			cmd := exec.Command(spawner, append([]string{bin}, args...)...)
			cmd.Env = env
			out := &countWriter{}
			cmd.Stderr = out
			res, err := cmd.Output()
			var ns, rssKB int64
			var code int
			if err == nil {
				_, err = fmt.Sscan(string(res), &ns, &rssKB, &code)
			}
			if err != nil || code != 0 {
				return fmt.Errorf("output %s: exit %d: %v", m.name, code, err)
			}
			walls = append(walls, time.Duration(ns))
			rss = max(rss, rssKB)
			size = out.n
		}
		med, _ := spread(walls)
		fmt.Printf("| %s | %.2f | %.0f | %.1f | %d |\n", m.name, med.Seconds(), float64(size)/1e6/med.Seconds(), float64(rss)/1024, size)
	}
	return nil
}

// writeLog writes outputSize bytes of log-like lines, one in 1000 holding
// a secret value, so the masker has matches to replace as well as text
// to pass through.
func writeLog(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// Streamed, not built in memory: the benchmark's own RSS is inherited
	// by every process it starts, and would swamp the figures.
	w := bufio.NewWriter(f)
	var line []byte
	for i, n := 0, 0; n < outputSize; i++ {
		if i%1000 == 0 {
			line = fmt.Appendf(line[:0], "2026-11-22T10:00:00Z INFO connected password=bench-value-%03d request=%d\n", i/1000%50, i)
		} else {
			line = fmt.Appendf(line[:0], "2026-11-22T10:00:00Z INFO handled request=%d path=/api/v1/items status=200 bytes=5123\n", i)
		}
		line = line[:min(len(line), outputSize-n)]
		w.Write(line)
		n += len(line)
	}
	return w.Flush()
}

// countWriter counts what the child wrote and drops it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
