package mask

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchSecrets returns n values shaped like real ones: passwords, API keys,
// tokens, and from 10 on a PEM key.
func benchSecrets(r *rand.Rand, n int) [][]byte {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var out [][]byte
	for i := range n {
		if i == 9 {
			out = append(out, []byte(pem))
			continue
		}
		v := make([]byte, 16+r.IntN(48))
		for j := range v {
			v[j] = alnum[r.IntN(len(alnum))]
		}
		out = append(out, v)
	}
	return out
}

// benchLogs returns about size bytes of log lines: timestamps, request ids,
// words, JSON, base64 blobs, and one line in 500 holding a secret.
func benchLogs(r *rand.Rand, size int, secrets [][]byte) []byte {
	words := []string{"GET", "POST", "/api/v1/users", "status", "ok", "error", "retrying", "connection", "user", "latency_ms", "cache", "miss", "hit", "db", "query"}
	var b []byte
	for i := 0; len(b) < size; i++ {
		b = fmt.Appendf(b, "2024-05-01T12:%02d:%02d.%06dZ level=info req=%016x", i/60%60, i%60, r.IntN(1e6), r.Uint64())
		for range 3 + r.IntN(8) {
			b = append(b, ' ')
			b = append(b, words[r.IntN(len(words))]...)
		}
		switch i % 10 {
		case 3:
			blob := make([]byte, 24+r.IntN(40))
			for j := range blob {
				blob[j] = byte(r.Uint32())
			}
			b = append(b, " body="...)
			b = base64.StdEncoding.AppendEncode(b, blob)
		case 7:
			b = fmt.Appendf(b, ` {"user":"u%d","took":%d,"path":"/x/%d"}`, r.IntN(1e4), r.IntN(1e3), r.IntN(1e6))
		}
		if i%500 == 0 {
			b = append(b, " token="...)
			b = append(b, secrets[r.IntN(len(secrets))]...)
		}
		b = append(b, '\n')
	}
	return b
}

// escapeLogs is logs with, on every line, a JSON string holding escapes
// and a percent-encoded query: the lanes' slow path on every line.
func escapeLogs(logs []byte) []byte {
	return bytes.ReplaceAll(logs, []byte("\n"), []byte(` msg="caf\u00e9 \"quoted\" C:\\tmp" q=a%20b%2Fc`+"\n"))
}

// BenchmarkWriter masks 100 MB written in 32 KiB pieces, as io.Copy from
// the child's pipe does, with 1, 10 and 100 secrets; and with 10 over
// lines that each hold JSON escapes and percent-encoding.
func BenchmarkWriter(b *testing.B) {
	const total = 100 << 20
	const chunk = 32 << 10
	for _, n := range []int{1, 10, 100, -10} {
		name := fmt.Sprintf("secrets=%d", n)
		if n < 0 {
			name = fmt.Sprintf("secrets=%d,escapes", -n)
		}
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, uint64(n)))
			secrets := benchSecrets(r, max(n, -n))
			logs := benchLogs(r, 1<<20, secrets)
			if n < 0 {
				logs = escapeLogs(logs)
			}
			b.SetBytes(total)
			b.ReportAllocs()
			m := NewWriter(io.Discard, Compile(secrets))
			b.ResetTimer()
			for range b.N {
				for done := 0; done < total; {
					for i := 0; i < len(logs) && done < total; i += chunk {
						p := logs[i:min(i+chunk, len(logs))]
						m.Write(p)
						done += len(p)
					}
				}
				m.Flush()
			}
		})
	}
}

// BenchmarkNew builds the masker for 1, 10 and 100 secrets: the cost
// --mask adds to the start of supervise mode.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			secrets := benchSecrets(rand.New(rand.NewPCG(1, uint64(n))), n)
			b.ReportAllocs()
			for range b.N {
				NewWriter(io.Discard, Compile(secrets))
			}
		})
	}
}

// BenchmarkSetMemory builds the Set for values of random bytes (the
// worst case: nothing shared, every byte escaped in every encoding) and
// reports the heap it holds once built, per byte of value, and the bytes
// allocated while building it.
func BenchmarkSetMemory(b *testing.B) {
	for _, c := range []struct{ n, size int }{{1, 1 << 10}, {1, 8 << 10}, {1, 64 << 10}, {10, 64 << 10}} {
		b.Run(fmt.Sprintf("values=%dx%dKiB", c.n, c.size>>10), func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, uint64(c.size)))
			secrets := make([][]byte, c.n)
			for i := range secrets {
				secrets[i] = make([]byte, c.size)
				for j := range secrets[i] {
					secrets[i][j] = byte(r.Uint32())
				}
			}
			var held, alloc uint64
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := Compile(secrets)
				runtime.ReadMemStats(&after)
				alloc = after.TotalAlloc - before.TotalAlloc
				runtime.GC()
				runtime.ReadMemStats(&after)
				held = after.HeapAlloc - before.HeapAlloc
				runtime.KeepAlive(s)
			}
			total := float64(c.n * c.size)
			b.ReportMetric(float64(held)/total, "held-B/value-B")
			b.ReportMetric(float64(alloc)/total, "alloc-B/value-B")
			b.ReportMetric(float64(held)/(1<<20), "held-MiB")
		})
	}
}
