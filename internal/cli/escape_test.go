package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, é ✓ 日本語 \"quoted\" back\\slash", "plain text, é ✓ 日本語 \"quoted\" back\\slash"},
		{"colour \x1b[31mred\x1b[0m", `colour \x1b[31mred\x1b[0m`},
		{"two\nlines\r", `two\nlines\r`},
		{"tab\there", `tab\there`},
		{"bell\a nul\x00 del\x7f", `bell\a nul\x00 del\x7f`},
		{"c1 \u009b2J", `c1 \u009b2J`},
		{"bidi \u202eevil\u2066", `bidi \u202eevil\u2066`},
		{"line sep \u2028 para \u2029", `line sep \u2028 para \u2029`},
		{"invalid \xff\xfe byte", `invalid \xff\xfe byte`},
		{"a real \ufffd stays", "a real \ufffd stays"},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// report prints every error and hint on one line each, with no byte of
// the input that could drive the terminal.
func TestReportEscapes(t *testing.T) {
	var w bytes.Buffer
	f := fail(errors.New("mappings:1 \x1b]0;title\a\x1b[2J=x: bad\nsmexec: error: forged"))
	f.Problems[0].Hint = "hint \x1b[31m"
	if code := report(&w, f, "text"); code != 125 {
		t.Errorf("report returned %d, want 125", code)
	}
	out := w.String()
	if strings.ContainsAny(out, "\x1b\a") || strings.Count(out, "\n") != 2 {
		t.Errorf("report printed terminal controls or extra lines:\n%q", out)
	}
}
