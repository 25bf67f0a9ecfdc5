package mask

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// Forms that leaked before: each must come out hidden.
func TestMaskMoreForms(t *testing.T) {
	long := strings.Repeat("0123456789abcdefghij-_+/?=", 8) // 208 bytes
	wrapped := func(s string, w int, nl string) string {
		e := base64.StdEncoding.EncodeToString([]byte(s))
		var b strings.Builder
		for len(e) > w {
			b.WriteString(e[:w] + nl)
			e = e[w:]
		}
		return b.String() + e + nl
	}
	tests := []struct {
		name, in, secret, want string
	}{
		{"GNU base64 wrapped at 76", wrapped(long, 76, "\n") + "next\n", long, "***==\nnext\n"},
		{"PEM-style wrapped at 64 with CRLF", wrapped(long, 64, "\r\n") + "next\n", long, "***==\r\nnext\n"},
		{"JSON non-ASCII as \\u, lower hex", `{"p": "caf\u00e9-s3cr\u00eat"}`, "café-s3crêt", `{"p": "***"}`},
		{"JSON non-ASCII as \\u, upper hex", `{"p": "caf\u00E9-s3cr\u00EAt"}`, "café-s3crêt", `{"p": "***"}`},
		{"JSON astral as surrogate pair", `"k\ud83d\ude00ey-42"`, "k😀ey-42", `"***"`},
		{"JSON escaped slash", `{"u": "a\/b\/c-secret"}`, "a/b/c-secret", `{"u": "***"}`},
		{"percent every reserved byte, upper", "x=" + "p%40ss%3Aw%2Ford%21", "p@ss:w/ord!", "x=***"},
		{"percent every reserved byte, lower", "x=" + "p%40ss%3aw%2ford%21", "p@ss:w/ord!", "x=***"},
		{"percent space as %20", "x=a%20b%20c%20d", "a b c d", "x=***"},
		{"percent space as +", "x=a+b+c+d", "a b c d", "x=***"},
		{"base64 in a query", "x=" + "czNjcjN0Pj8%2BPz4%3D", "s3cr3t>?>?>", "x=***%3D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maskString(t, tt.in, tt.secret); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A value read from a file keeps its line break visible: only the value
// is hidden, so the output keeps its lines.
func TestMaskKeepsLineStructure(t *testing.T) {
	tests := []struct {
		name, in, secret, want string
	}{
		{"cat F; echo next", "hunter2\nnext\n", "hunter2\n", "***\nnext\n"},
		{"CRLF", "hunter2\r\nnext\r\n", "hunter2\r\n", "***\r\nnext\r\n"},
		{"two newlines", "hunter2\n\nnext\n", "hunter2\n\n", "***\n\nnext\n"},
		{"twice", "hunter2\nhunter2\n", "hunter2\n", "***\n***\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maskString(t, tt.in, tt.secret); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A match in progress when the set changes is not dropped.
func TestMaskUpdateNoGap(t *testing.T) {
	for cut := 1; cut < len("xxabcdefghyy"); cut++ {
		in := "xxabcdefghyy"
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secretsOf("abcd", "cdefgh")))
		m.Write([]byte(in[:cut]))
		m.Swap(Compile(secretsOf("abcd", "cdefgh")))
		m.Write([]byte(in[cut:]))
		m.Flush()
		if got, want := out.String(), "xx***yy"; got != want {
			t.Errorf("update after %q: got %q, want %q", in[:cut], got, want)
		}
	}
}

// A swap while a wrapped base64 match is in progress, its start late on a
// line: the line's length before the tail still counts.
func TestMaskUpdateNoGapWrapped(t *testing.T) {
	v := strings.Repeat("s3cr3t-", 7)                                           // 49 bytes
	e := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("p", 30) + v)) // v from character 40
	for _, nl := range []string{"\n", "\r\n"} {
		in := e[:64] + nl + e[64:] + nl + "next\n"
		for _, cut := range []int{50, 64, 65, 66, 70} {
			var out bytes.Buffer
			m := NewWriter(&out, Compile(secretsOf(v)))
			m.Write([]byte(in[:cut]))
			m.Swap(Compile(secretsOf(v)))
			m.Write([]byte(in[cut:]))
			m.Flush()
			if want := reference([]byte(in), secretsOf(v)); out.String() != want || !strings.Contains(want, "***") {
				t.Errorf("update after %q: got %q, want %q", in[:cut], out.String(), want)
			}
		}
	}
}

// stuckWriter blocks every write until released, as a log reader that has
// stopped reading does; entered says a write is waiting.
type stuckWriter struct {
	entered, release chan struct{}
	out              bytes.Buffer
}

func (s *stuckWriter) Write(p []byte) (int, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return s.out.Write(p)
}

// A rotation does not wait for the output: with a reader that has
// stopped reading, Swap returned only once it read again, which held the
// poller, and with it smexec's exit, for as long. The new Set still
// masks everything written after Swap returns.
func TestSwapDoesNotWaitForABlockedOutput(t *testing.T) {
	w := &stuckWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	m := NewWriter(w, Compile(secretsOf("first-secret")))
	wrote := make(chan struct{})
	go func() {
		m.Write([]byte("some output\n"))
		close(wrote)
	}()
	<-w.entered
	swapped := make(chan struct{})
	go func() {
		m.Swap(Compile(secretsOf("first-secret", "second-secret")))
		close(swapped)
	}()
	select {
	case <-swapped:
	case <-time.After(10 * time.Second):
		close(w.release)
		t.Fatal("Swap waited for the output to be read")
	}
	close(w.release)
	<-wrote
	m.Write([]byte("first-secret second-sec"))
	m.Write([]byte("ret\n"))
	m.Flush()
	if got, want := w.out.String(), "some output\n*** ***\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
