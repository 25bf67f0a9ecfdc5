package cli

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// The docs make claims about the command line that a test can read: every
// flag docs/reference.md names exists, and every smexec command line in a
// code block of the docs and the README parses as smexec reads it.

// foreignFlags are flags reference.md names of other programs.
var foreignFlags = map[string]bool{
	"--env-file": true, // docker run
	"--init":     true, // docker run
}

func TestReferenceNamesOnlyRealFlags(t *testing.T) {
	text, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	var cli CLI
	parser := newParser(&cli, &Deps{Stdout: io.Discard, Stderr: io.Discard})
	real := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			real["--"+f.Name] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(parser.Model.Node)
	for _, f := range regexp.MustCompile(`--[a-z][a-z0-9-]*`).FindAllString(string(text), -1) {
		if !real[f] && !foreignFlags[f] {
			t.Errorf("docs/reference.md names %s, which no command of smexec has", f)
		}
	}
	for _, f := range []string{"--env", "--allow-empty", "--pass-smexec-env", "--version", "--refresh"} {
		if !real[f] {
			t.Errorf("the flag %s is gone: the test no longer reads the model", f)
		}
	}
}

func TestDocExamplesParse(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	files = append(files, mustGlob(t, "../../examples/*/README.md")...)
	n := 0
	for _, file := range files {
		for _, ex := range exampleCommands(t, file) {
			n++
			args, ok := shellWords(ex.text)
			if !ok {
				continue
			}
			if err := parseOnly(args); err != nil {
				t.Errorf("%s:%d: smexec %s: %v", file, ex.line, ex.text, err)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d example commands in the docs: the test no longer finds them", n)
	}
}

// parseOnly reads args as Main does, running nothing; --help and
// --version, which exit, parse.
func parseOnly(args []string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(exitPanic); !ok {
				panic(p)
			}
		}
	}()
	var cli CLI
	deps := Deps{Stdout: io.Discard, Stderr: io.Discard}
	parser := newParser(&cli, &deps)
	_, err = parser.Parse(withDefaultCommand(parser, args))
	return err
}

type example struct {
	line int
	text string // after "smexec "
}

// exampleCommands returns the smexec command lines of file's code blocks,
// "$ " prompts and "\" continuations undone, comments and redirections
// dropped; synopsis lines ([flags], COMMAND, a|b) are left out.
func exampleCommands(t *testing.T, file string) []example {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	inCode := false
	sc := bufio.NewScanner(f)
	var cont *example
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			continue
		}
		line = strings.TrimSpace(line)
		if cont != nil {
			cont.text += " " + strings.TrimSuffix(line, `\`)
			if !strings.HasSuffix(line, `\`) {
				out = append(out, *cont)
				cont = nil
			}
			continue
		}
		line = strings.TrimPrefix(line, "$ ")
		rest, ok := strings.CutPrefix(line, "smexec ")
		if !ok || strings.ContainsAny(rest, "[|") || strings.Contains(rest, "   ") || strings.Contains(rest, "COMMAND") ||
			strings.Contains(rest, "$(") || strings.Contains(rest, "<(") {
			continue
		}
		if i := strings.Index(rest, " #"); i >= 0 {
			rest = rest[:i]
		}
		if i := strings.Index(rest, " > "); i >= 0 {
			rest = rest[:i]
		}
		ex := example{line: n, text: strings.TrimSpace(strings.TrimSuffix(rest, `\`))}
		if strings.HasSuffix(rest, `\`) {
			cont = &ex
			continue
		}
		out = append(out, ex)
	}
	return out
}

// shellWords splits s as sh would for plain words and '…' or "…" quoting;
// ok is false for anything else ($VAR expansions are kept as text).
func shellWords(s string) (words []string, ok bool) {
	var w strings.Builder
	in := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		case r == '\\' || r == ';' || r == '&' || r == '<' || r == '`':
			return nil, false
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, false
	}
	if in {
		words = append(words, w.String())
	}
	return words, true
}

func mustGlob(t *testing.T, pattern string) []string {
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestShortUsageNamesEveryCommand keeps the bare smexec's list of
// commands in step with the command tree.
func TestShortUsageNamesEveryCommand(t *testing.T) {
	var cli CLI
	parser := newParser(&cli, &Deps{Stdout: io.Discard, Stderr: io.Discard})
	line := strings.SplitN(shortUsage, "\n", 3)[1]
	for _, c := range parser.Model.Children {
		if c.Name == "exec" || c.Hidden {
			continue
		}
		if !strings.Contains(line, c.Name+"|") && !strings.Contains(line, "|"+c.Name+" ") {
			t.Errorf("the short usage does not name %q: %s", c.Name, line)
		}
	}
}
