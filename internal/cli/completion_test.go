package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// Every command and every flag of the command line is in every script,
// so a flag added later is completed without touching the scripts.
func TestCompletionCoversTheCommandLine(t *testing.T) {
	parser, err := kong.New(&CLI{}, kong.Name("smexec"))
	if err != nil {
		t.Fatal(err)
	}
	m := completionModel(parser.Model.Node)
	scripts := map[string]string{}
	for shell, gen := range map[string]func(*strings.Builder){"bash": m.bash, "zsh": m.zsh, "fish": m.fish} {
		var b strings.Builder
		gen(&b)
		scripts[shell] = b.String()
	}
	var cmds int
	for _, n := range parser.Model.Children {
		if n.Hidden {
			continue
		}
		cmds++
		for shell, s := range scripts {
			if !regexp.MustCompile(`(^|[ '|(])` + regexp.QuoteMeta(n.Name) + `([ ':)|]|$)`).MatchString(s) {
				t.Errorf("%s script lacks the command %s", shell, n.Name)
			}
		}
		for p := n; p != nil; p = p.Parent {
			for _, f := range p.Flags {
				if f.Hidden {
					continue
				}
				want := map[string]string{"bash": "--" + f.Name, "zsh": "'--" + f.Name + ":", "fish": " -l " + f.Name + " "}
				if f.Short != 0 {
					want["bash"] += " -" + string(f.Short)
				}
				for shell, s := range scripts {
					if !strings.Contains(s, want[shell]) {
						t.Errorf("%s script lacks %q of %s", shell, want[shell], n.Name)
					}
				}
			}
		}
	}
	if len(m.cmds) != cmds || cmds < 8 {
		t.Errorf("model has %d commands, the command line %d", len(m.cmds), cmds)
	}
}

func TestCompletionQuoting(t *testing.T) {
	if got := fishQuote(`it's a \ path`); got != `'it\'s a \\ path'` {
		t.Errorf("fishQuote = %s", got)
	}
	if got := zshDescribe("--x", "a: b's"); got != `'--x:a\: b'\''s'` {
		t.Errorf("zshDescribe = %s", got)
	}
	if got := firstSentence("One thing. Another."); got != "One thing" {
		t.Errorf("firstSentence = %q", got)
	}
}
