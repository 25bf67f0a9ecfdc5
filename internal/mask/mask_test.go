package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"
)

// pem is a multi-line value like the ones --mask must catch inside JSON.
const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n"

// everyByte holds each byte value once, so no byte is outside the
// patterns' alphabet.
var everyByte = func() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}()

func secretsOf(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// maskChunks writes each chunk to a new Writer, flushes it and returns
// what came out.
func maskChunks(t testing.TB, secrets [][]byte, chunks ...[]byte) string {
	t.Helper()
	var out bytes.Buffer
	m := NewWriter(&out, Compile(secrets))
	for _, c := range chunks {
		n, err := m.Write(c)
		if err != nil || n != len(c) {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", c, n, err, len(c))
		}
		if held := len(m.tail) - m.sent; held > 6*m.set.a.maxLen {
			t.Fatalf("after Write(%q) %d bytes are held back; the longest form is %d", c, held, m.set.a.maxLen)
		}
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(m.tail) != m.sent {
		t.Fatalf("Flush left %q held back", m.tail[m.sent:])
	}
	return out.String()
}

func maskString(t testing.TB, in string, secrets ...string) string {
	t.Helper()
	return maskChunks(t, secretsOf(secrets...), []byte(in))
}

// reference masks in all at once the slow, obvious way: decode the whole
// input as each lane does, hide every occurrence of every pattern (bytes
// compared by class) in the raw input and in each decoding, then turn each
// run of hidden bytes into one Replacement.
func reference(in []byte, secrets [][]byte) string {
	hidden := make([]bool, len(in))
	type unit struct {
		b          byte
		start, end int
	}
	decodings := [][]unit{nil, nil, nil, nil}
	for i, b := range in {
		decodings[0] = append(decodings[0], unit{b, i, i + 1})
	}
	// JSON
	for i := 0; i < len(in); {
		if refJSONBegun(in[i:]) {
			break // the stream ends inside an escape: no units yet
		}
		if r, n := refJSONEscape(in[i:]); n > 0 {
			for _, b := range []byte(string(r)) {
				decodings[1] = append(decodings[1], unit{b, i, i + n})
			}
			i += n
			continue
		}
		decodings[1] = append(decodings[1], unit{in[i], i, i + 1})
		i++
	}
	// percent
	for i := 0; i < len(in); {
		if in[i] == '%' && len(in)-i < 3 && (i+1 == len(in) || unhex(in[i+1]) >= 0) {
			break // the stream ends inside an escape
		}
		if in[i] == '%' && i+2 < len(in) && unhex(in[i+1]) >= 0 && unhex(in[i+2]) >= 0 {
			decodings[2] = append(decodings[2], unit{byte(unhex(in[i+1])<<4 | unhex(in[i+2])), i, i + 3})
			i += 3
			continue
		}
		decodings[2] = append(decodings[2], unit{in[i], i, i + 1})
		i++
	}
	// wrapped base64
	run := 0
	for i, b := range in {
		if (b == '\n' || b == '\r') && run >= wrapMin {
			if b == '\n' {
				run = 0
			}
			continue
		}
		if strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_", b) >= 0 {
			run++
		} else {
			run = 0
		}
		decodings[3] = append(decodings[3], unit{b, i, i + 1})
	}
	for _, p := range patterns(secrets) {
		for _, d := range decodings {
		next:
			for i := 0; i+len(p) <= len(d); i++ {
				for j := range p {
					if canon(d[i+j].b) != canon(p[j]) {
						continue next
					}
				}
				for j := d[i].start; j < d[i+len(p)-1].end; j++ {
					hidden[j] = true
				}
			}
		}
	}
	var out strings.Builder
	for i, b := range in {
		switch {
		case !hidden[i]:
			out.WriteByte(b)
		case i == 0 || !hidden[i-1]:
			out.WriteString(Replacement)
		}
	}
	return out.String()
}

// refJSONBegun reports whether p is the start of a JSON escape, cut short.
func refJSONBegun(p []byte) bool {
	if len(p) == 0 || p[0] != '\\' {
		return false
	}
	want := `\uHHHH\uHHHH`
	if len(p) >= len(want) || len(p) > 1 && p[1] != 'u' {
		return false
	}
	for i, c := range p {
		if want[i] == 'H' && unhex(c) < 0 || want[i] != 'H' && c != want[i] {
			return false
		}
	}
	if len(p) >= 6 { // whole: only a high surrogate waits for more
		r, _ := strconv.ParseUint(string(p[2:6]), 16, 16)
		return r >= 0xd800 && r < 0xdc00
	}
	return true
}

// refJSONEscape decodes the JSON escape at the start of p: the rune and
// its length, or 0 if p does not start with a whole one.
func refJSONEscape(p []byte) (rune, int) {
	if len(p) < 2 || p[0] != '\\' {
		return 0, 0
	}
	if i := strings.IndexByte(`"\/bfnrt`, p[1]); i >= 0 {
		return rune("\"\\/\b\f\n\r\t"[i]), 2
	}
	hex4 := func(p []byte) rune {
		if len(p) < 6 || p[0] != '\\' || p[1] != 'u' {
			return -1
		}
		v, err := strconv.ParseUint(string(p[2:6]), 16, 16)
		if err != nil || strings.ContainsAny(string(p[2:6]), "+-_") {
			return -1
		}
		return rune(v)
	}
	r := hex4(p)
	switch {
	case r < 0:
		return 0, 0
	case r >= 0xd800 && r < 0xdc00:
		if lo := hex4(p[6:]); lo >= 0xdc00 && lo < 0xe000 {
			return utf16.DecodeRune(r, lo), 12
		}
		return 0, 0
	case r >= 0xdc00 && r < 0xe000:
		return 0, 0
	}
	return r, 6
}

func TestMask(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"no secrets", "hello world\n", nil, "hello world\n"},
		{"secret alone", "hunter22", []string{"hunter22"}, "***"},
		{"secret in a line", "password=hunter22 ok\n", []string{"hunter22"}, "password=*** ok\n"},
		{"every occurrence", "a hunter22 b hunter22 c", []string{"hunter22"}, "a *** b *** c"},
		{"back to back occurrences are one run", "hunter22hunter22", []string{"hunter22"}, "***"},
		{"overlapping secrets", "abcdef", []string{"abcd", "cdef"}, "***"},
		{"overlapping secrets in text", "x abcdef y", []string{"cdef", "abcd"}, "x *** y"},
		{"secret inside a longer secret", "1abcdefgh2", []string{"cdef", "abcdefgh"}, "1***2"},
		{"longer secret found after a shorter one ends", "xabcdey", []string{"bcd", "abcde"}, "x***y"},
		{"shorter secret found although a longer one fails", "xabcdz", []string{"bcdz", "abcde"}, "xa***"},
		{"secret inside the start of a longer one that fails", "abcdefX", []string{"bcde", "abcdefgh"}, "a***fX"},
		{"value shorter than MinLen untouched", "abc abc", []string{"abc"}, "abc abc"},
		{"short value ignored, long one masked", "abc hunter22", []string{"abc", "hunter22"}, "abc ***"},
		{"value of exactly MinLen masked", "pw=abcd;", []string{"abcd"}, "pw=***;"},
		{"empty value ignored", "text", []string{""}, "text"},
		{"near miss passes", "hunter2 hunter23", []string{"hunter22"}, "hunter2 hunter23"},
		{"repeated first byte", "aaaaab", []string{"aaab"}, "aa***"},
		{"trailing newline of the value", "pw=hunter22;", []string{"hunter22\n"}, "pw=***;"},
		{"dash taken for plus, underscore for slash", "x my+pass/1 y", []string{"my-pass_1"}, "x *** y"},
		{"binary value", "\x00\xff\x01\x02\x00", []string{"\xff\x01\x02\x00"}, "\x00***"},
		{"value with every byte value", "<" + everyByte + ">" + everyByte[1:], []string{everyByte}, "<***>" + everyByte[1:]},

		{"base64 std", "tok=" + base64.StdEncoding.EncodeToString([]byte("s3cr3t>?>?")), []string{"s3cr3t>?>?"}, "tok=***=="},
		{"base64 url", "tok=" + base64.URLEncoding.EncodeToString([]byte("s3cr3t>?>?")), []string{"s3cr3t>?>?"}, "tok=***=="},
		{"base64 unpadded", "tok=" + base64.RawStdEncoding.EncodeToString([]byte("s3cr3t>?>?")) + ";", []string{"s3cr3t>?>?"}, "tok=***;"},
		{"base64 without padding needed", base64.StdEncoding.EncodeToString([]byte("123456789")), []string{"123456789"}, "***"},
		{"JSON-escaped PEM", jsonLine("key", pem), []string{pem}, `{"key":"***\n"}`},
		{"JSON-escaped with HTML escaping", jsonLine("v", "a<b>&c"), []string{"a<b>&c"}, `{"v":"***"}`},
		{"JSON-escaped without HTML escaping", `{"v":"a<b>&c\"d"}`, []string{`a<b>&c"d`}, `{"v":"***"}`},
		{"query-escaped", "postgres://u:" + url.QueryEscape("p@ss w/rd") + "@db", []string{"p@ss w/rd"}, "postgres://u:***@db"},
		{"path-escaped", "https://h/" + url.PathEscape("p@ss w/rd") + "/x", []string{"p@ss w/rd"}, "https://h/***/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maskString(t, tt.in, tt.secrets...); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := reference([]byte(tt.in), secretsOf(tt.secrets...)); got != tt.want {
				t.Errorf("reference(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func jsonLine(k, v string) string {
	b, _ := json.Marshal(map[string]string{k: v})
	return string(b)
}

// A value inside a longer base64 stream is hidden at any offset: every
// character whose six bits all come from the value, and no other.
func TestMaskBase64Embedded(t *testing.T) {
	const pw = "correct-horse>battery?"
	for _, user := range []string{"", "a", "ab", "abc", "admin", "deploy"} {
		for _, after := range []string{"", ":", ":x", ":xy"} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				e := enc.EncodeToString([]byte(user + ":" + pw + after))
				at := len(user) + 1
				first, last := (8*at+5)/6, 8*(at+len(pw))/6
				if after == "" {
					last = len(strings.TrimRight(e, "=")) // pw's bits and fill
				}
				want := "Basic " + e[:first] + Replacement + e[last:]
				// When the bits after pw are zeros, the character they share
				// with pw is the one that ends pw's own encoding: hidden too.
				also := "Basic " + e[:first] + Replacement + e[min(last+1, len(e)):]
				if got := maskString(t, "Basic "+e, pw); got != want && got != also {
					t.Errorf("%q: got %q, want %q", user+":"+pw+after, got, want)
				}
			}
		}
	}
}

func TestMaskFormsHaveMinLen(t *testing.T) {
	for _, p := range patterns(secretsOf("abcd", "abc", "a\nb\nc", pem)) {
		if len(p) < MinLen {
			t.Errorf("form %q is shorter than MinLen", p)
		}
	}
	if got := patterns(secretsOf("abc", "", "\n\n\n")); len(got) != 0 {
		t.Errorf("values shorter than MinLen gave forms %q", got)
	}
}

// Every way to cut the input in two, and one byte a write, gives what
// masking it whole gives.
func TestMaskSplitAtEveryByte(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
	}{
		{"one secret", "before hunter22 after", []string{"hunter22"}},
		{"secret at both ends", "hunter22 middle hunter22", []string{"hunter22"}},
		{"overlapping secrets", "xx abcdef abcd cdef yy", []string{"abcd", "cdef"}},
		{"nested secrets", "1abcdefgh2bcdefg3", []string{"cdef", "abcdefgh", "bcdefg"}},
		{"secret inside the start of a longer one", "abcdefX abcdefgh", []string{"bcde", "abcdefgh"}},
		{"near misses", "huntehunter2hunter22hunter", []string{"hunter22"}},
		{"self-overlapping secret", "aaaaaaaabaaab", []string{"aaab"}},
		{"encoded forms", "a " + base64.StdEncoding.EncodeToString([]byte("s3cr3t!!")) + " " + jsonLine("k", pem) + " b", []string{"s3cr3t!!", pem}},
		{"longest form ends the input", "x" + base64.StdEncoding.EncodeToString([]byte(pem)), []string{pem}},
		{"no secrets", "plain output\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, secrets := []byte(tt.in), secretsOf(tt.secrets...)
			want := reference(in, secrets)
			if len(tt.secrets) > 0 && want == tt.in {
				t.Fatalf("bad test: %q has no secret to mask", tt.in)
			}
			for i := 0; i <= len(in); i++ {
				if got := maskChunks(t, secrets, in[:i], in[i:]); got != want {
					t.Fatalf("split at %d: got %q, want %q", i, got, want)
				}
			}
			bytewise := make([][]byte, len(in))
			for i := range in {
				bytewise[i] = in[i : i+1]
			}
			if got := maskChunks(t, secrets, bytewise...); got != want {
				t.Fatalf("one byte a write: got %q, want %q", got, want)
			}
		})
	}
}

// Output that cannot begin a secret is written at once; a tail that could
// is held until the next Write or Flush.
func TestMaskHoldsBackOnlyWhatCouldBeASecret(t *testing.T) {
	tests := []struct {
		name  string
		write string
		want  string // written before Flush
	}{
		{"line that cannot start a secret", "log line\n", "log line\n"},
		{"tail that starts the secret", "password=hunt", "password="},
		{"tail that starts it twice", "hunhunt", "hun"},
		{"whole secret then more", "hunter22hu", "***"},
		{"secret at the end", "x hunter22", "x ***"},
		{"empty write", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			m := NewWriter(&out, Compile(secretsOf("hunter22")))
			if _, err := m.Write([]byte(tt.write)); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("after Write(%q) the output is %q, want %q", tt.write, out.String(), tt.want)
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			if want := reference([]byte(tt.write), secretsOf("hunter22")); out.String() != want {
				t.Errorf("after Flush the output is %q, want %q", out.String(), want)
			}
		})
	}
}

func TestMaskFlush(t *testing.T) {
	t.Run("at EOF releases the held prefix", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("hunter22")))
		m.Write([]byte("last words: hunter2"))
		if got := out.String(); got != "last words: " {
			t.Fatalf("before Flush: %q", got)
		}
		if err := m.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != "last words: hunter2" {
			t.Fatalf("after Flush: %q", got)
		}
	})
	t.Run("twice writes nothing more", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("hunter22")))
		m.Write([]byte("x hunter22"))
		m.Flush()
		m.Flush()
		if got := out.String(); got != "x ***" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("mid-secret hides the rest", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("hunter22")))
		m.Write([]byte("pw=hunt"))
		m.Flush()
		m.Write([]byte("er22!"))
		m.Flush()
		if got := out.String(); got != "pw=hunt***!" {
			t.Fatalf("got %q, want %q", got, "pw=hunt***!")
		}
	})
	t.Run("after a hidden run keeps it one run", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("abcd", "abcdefgh")))
		m.Write([]byte("abcd"))
		m.Flush()
		m.Write([]byte("efgh."))
		m.Flush()
		if got := out.String(); got != "***." {
			t.Fatalf("got %q, want %q", got, "***.")
		}
	})
}

func TestMaskNoSecretsIsIdentity(t *testing.T) {
	var in []byte
	for i := range 1 << 16 {
		in = append(in, byte(i*7+i>>8))
	}
	for _, secrets := range [][][]byte{nil, {}, secretsOf("abc", "", "xy")} {
		for _, size := range []int{1, 7, 4096, len(in)} {
			var chunks [][]byte
			for i := 0; i < len(in); i += size {
				chunks = append(chunks, in[i:min(i+size, len(in))])
			}
			if got := maskChunks(t, secrets, chunks...); got != string(in) {
				t.Fatalf("secrets %q, writes of %d: output differs from input", secrets, size)
			}
		}
	}
}

func TestMaskUpdate(t *testing.T) {
	t.Run("new value masked, old one no longer", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("old-secret")))
		m.Write([]byte("1 old-secret new-secret\n"))
		m.Swap(Compile(secretsOf("new-secret")))
		m.Write([]byte("2 old-secret new-secret\n"))
		m.Flush()
		want := "1 *** new-secret\n2 old-secret ***\n"
		if got := out.String(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("held tail matched again", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("new-s1")))
		m.Write([]byte("x new-s")) // "new-s" could start "new-s1": held
		m.Swap(Compile(secretsOf("new-s2")))
		m.Write([]byte("2 y"))
		m.Flush()
		if got, want := out.String(), "x *** y"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("what the old value hid in the tail stays hidden", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("bcde", "abcdefgh")))
		m.Write([]byte("x abcdef")) // bcde found, "abcdef" held for abcdefgh
		m.Swap(Compile(secretsOf("zzzz")))
		m.Write([]byte("ZZ"))
		m.Flush()
		if got, want := out.String(), "x a***fZZ"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("to no secrets", func(t *testing.T) {
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("hunter22")))
		m.Write([]byte("a hunt"))
		m.Swap(Compile(nil))
		m.Write([]byte("er22"))
		if got, want := out.String(), "a hunter22"; got != want {
			t.Fatalf("got %q, want %q (nothing held once there is nothing to match)", got, want)
		}
	})
}

// Swap while another goroutine writes: run with -race.
func TestMaskUpdateConcurrent(t *testing.T) {
	var out bytes.Buffer
	m := NewWriter(&out, Compile(secretsOf("secret-0")))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			m.Swap(Compile(secretsOf("secret-0", fmt.Sprintf("secret-%d", i))))
		}
	}()
	for range 1000 {
		if _, err := m.Write([]byte("line secret-0 line\n")); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "secret-0") {
		t.Fatal("secret-0 leaked while the set was updated")
	}
	if want := strings.Repeat("line *** line\n", 1000); out.String() != want {
		t.Fatalf("output is not every line masked")
	}
}

type failWriter struct {
	n   int // bytes accepted before failing
	err error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, f.err
}

func TestMaskWriteError(t *testing.T) {
	boom := errors.New("boom")
	t.Run("error returned and kept", func(t *testing.T) {
		m := NewWriter(&failWriter{n: 3, err: boom}, Compile(secretsOf("hunter22")))
		if _, err := m.Write([]byte("hello")); !errors.Is(err, boom) {
			t.Fatalf("Write: %v, want boom", err)
		}
		if _, err := m.Write([]byte("more")); !errors.Is(err, boom) {
			t.Fatalf("second Write: %v, want boom", err)
		}
		if err := m.Flush(); !errors.Is(err, boom) {
			t.Fatalf("Flush: %v, want boom", err)
		}
	})
	t.Run("short write", func(t *testing.T) {
		m := NewWriter(&failWriter{n: 3}, Compile(nil))
		if n, err := m.Write([]byte("hello")); !errors.Is(err, io.ErrShortWrite) || n == 5 {
			t.Fatalf("Write = %d, %v; want a short write error", n, err)
		}
	})
	t.Run("on Flush", func(t *testing.T) {
		m := NewWriter(&failWriter{n: 0, err: boom}, Compile(secretsOf("hunter22")))
		if _, err := m.Write([]byte("hunt")); err != nil {
			t.Fatalf("Write of a held tail: %v", err)
		}
		if err := m.Flush(); !errors.Is(err, boom) {
			t.Fatalf("Flush: %v, want boom", err)
		}
	})
}

// Large writes go around the buffer and still come out in order.
func TestMaskLargeWrites(t *testing.T) {
	line := []byte("some ordinary log output with a hunter22 in it\n")
	in := bytes.Repeat(line, 10000)
	secrets := secretsOf("hunter22")
	want := reference(in, secrets)
	for _, size := range []int{bufSize - 1, bufSize, bufSize + 1, 3 * bufSize, len(in)} {
		var chunks [][]byte
		for i := 0; i < len(in); i += size {
			chunks = append(chunks, in[i:min(i+size, len(in))])
		}
		if got := maskChunks(t, secrets, chunks...); got != want {
			t.Fatalf("writes of %d: output differs from the reference", size)
		}
	}
	clean := bytes.Repeat([]byte("nothing to see here\n"), 10000)
	if got := maskChunks(t, secrets, clean[:7], clean[7:]); got != string(clean) {
		t.Fatalf("large clean write after a held tail changed")
	}
}

// Many long values overflow the dense table; the sparse states must match
// the same.
func TestMaskManyLongSecrets(t *testing.T) {
	var secrets [][]byte
	var in []byte
	for i := range 100 {
		s := fmt.Appendf(nil, "%03d-%s", i, strings.Repeat(string(rune('a'+i%26)), 200+i))
		secrets = append(secrets, s)
		if i%7 == 0 {
			in = fmt.Appendf(in, "value %d is %s; %s\n", i, s[:len(s)-1], base64.StdEncoding.EncodeToString(s))
			in = fmt.Appendf(in, "%s\n", s)
		}
	}
	m := NewWriter(nil, Compile(secrets))
	if m.set.a.nd == uint32(m.set.a.n) {
		t.Fatalf("bad test: all %d states are dense", m.set.a.nd)
	}
	want := reference(in, secrets)
	for _, size := range []int{1, 13, 4096, len(in)} {
		var chunks [][]byte
		for i := 0; i < len(in); i += size {
			chunks = append(chunks, in[i:min(i+size, len(in))])
		}
		if got := maskChunks(t, secrets, chunks...); got != want {
			t.Fatalf("writes of %d: output differs from the reference", size)
		}
	}
}

// base64Forms is only used on values of MinLen or more, but must not
// fail on shorter ones (found by FuzzMask, whose splicing used it so).
func TestFormsOfShortValues(t *testing.T) {
	for _, v := range []string{"", "0", "ab", "abc"} {
		for _, f := range base64Forms([]byte(v)) {
			if len(f) > len(v)*3+4 {
				t.Errorf("forms(%q) has %q", v, f)
			}
		}
	}
}
