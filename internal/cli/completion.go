package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// CompletionCmd prints a shell completion script. kong has none of its
// own; the scripts are written here from kong's model of the command
// line, so every command and flag is in them, and need nothing but the
// shell: no smexec process runs while completing.
type CompletionCmd struct {
	Shell string `arg:"" name:"SHELL" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

func (c *CompletionCmd) Run(kctx *kong.Context, deps *Deps) error {
	m := completionModel(kctx.Model.Node)
	var b strings.Builder
	switch c.Shell {
	case "bash":
		m.bash(&b)
	case "zsh":
		m.zsh(&b)
	case "fish":
		m.fish(&b)
	}
	_, err := io.WriteString(deps.Stdout, b.String())
	return err
}

// compModel is what the scripts need to know of the command line.
type compModel struct {
	cmds []compCmd
	// valueFlags are the spellings of every flag that takes a value, in
	// any command: a completer skips the word after them.
	valueFlags []string
}

type compCmd struct {
	name, help string
	flags      []compFlag
	// arg is what the first positional argument completes to: "child"
	// (a program to run), "file", "dir", "values" or "" (nothing).
	arg    string
	values []string
}

type compFlag struct {
	long, short, help string
	value             bool
	// kind of value: "file", "dir", "values" or "" (free text).
	kind   string
	values []string
}

func completionModel(root *kong.Node) compModel {
	var m compModel
	seen := map[string]bool{}
	for _, n := range root.Children {
		if n.Type != kong.CommandNode || n.Hidden {
			continue
		}
		c := compCmd{name: n.Name, help: firstSentence(n.Help)}
		for p := n; p != nil; p = p.Parent {
			for _, f := range p.Flags {
				if f.Hidden {
					continue
				}
				cf := compFlag{long: "--" + f.Name, help: firstSentence(f.Help), value: !f.IsBool() && !f.IsCounter()}
				if f.Short != 0 {
					cf.short = "-" + string(f.Short)
				}
				if cf.value {
					cf.kind, cf.values = valueKind(f.Value, f.PlaceHolder)
					for _, s := range []string{cf.long, cf.short} {
						if s != "" && !seen[s] {
							seen[s] = true
							m.valueFlags = append(m.valueFlags, s)
						}
					}
				}
				c.flags = append(c.flags, cf)
			}
		}
		if len(n.Positional) > 0 {
			p := n.Positional[0]
			if p.Passthrough || p.PassthroughMode != kong.PassThroughModeNone {
				c.arg = "child"
			} else {
				c.arg, c.values = valueKind(p, p.Name)
			}
		}
		m.cmds = append(m.cmds, c)
	}
	// help's argument is one of the commands.
	for i := range m.cmds {
		if m.cmds[i].name == "help" {
			m.cmds[i].arg, m.cmds[i].values = "values", strings.Fields(m.names())
		}
	}
	return m
}

// valueKind reads what a value completes to from its enum or its
// placeholder.
func valueKind(v *kong.Value, placeholder string) (string, []string) {
	switch {
	case v.Enum != "":
		var vals []string
		for _, s := range strings.Split(v.Enum, ",") {
			vals = append(vals, strings.TrimSpace(s))
		}
		return "values", vals
	case placeholder == "FILE":
		return "file", nil
	case placeholder == "DIR":
		return "dir", nil
	}
	return "", nil
}

// firstSentence shortens a help text to its first sentence, without the
// final period.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}

func (m compModel) names() string {
	var ns []string
	for _, c := range m.cmds {
		ns = append(ns, c.name)
	}
	return strings.Join(ns, " ")
}

// scan is the part of the bash and zsh scripts that reads the words
// before the cursor, the same way smexec reads its arguments: the first
// word that is not a flag or a flag's value is a command of smexec or,
// when it is not one, the program that the default command exec runs;
// after "--" comes the program. It sets cmd, child (the index of the
// program's word, 0 if none), npos (positional words of cmd so far) and
// skip/vflag (the cursor is on the value of flag vflag); cmd stays empty
// while no command is named. bash splits
// words at '=' and ':' (COMP_WORDBREAKS), so a word made only of them
// joins the words around it.
const compScan = `    local w cmd= vflag= skip=
    local -i i child=0 npos=0
    for ((i = FIRST; i < CWORD; i++)); do
        w=${WORDS[i]}
        if [[ -n $w && -z ${w//[=:]/} ]]; then skip=1; continue; fi
        if [[ -n $skip ]]; then skip=; continue; fi
        if [[ $w == -- ]]; then child=$((i + 1)); break; fi
        if [[ $w == -* ]]; then
            if [[ $w != *=* ]]; then
                case $w in
                VALUEFLAGS) skip=1; vflag=$w ;;
                esac
            fi
            continue
        fi
        if [[ -z $cmd ]]; then
            case $w in
            COMMANDS) cmd=$w; continue ;;
            esac
            cmd=exec
        fi
        if [[ $cmd == exec ]]; then child=$i; break; fi
        npos=$((npos + 1))
    done
`

func (m compModel) scan(first, words, cword string) string {
	return strings.NewReplacer(
		"FIRST", first, "WORDS", words, "CWORD", cword,
		"VALUEFLAGS", strings.Join(m.valueFlags, "|"),
		"COMMANDS", strings.ReplaceAll(m.names(), " ", "|"),
	).Replace(compScan)
}

func (m compModel) bash(b *strings.Builder) {
	fmt.Fprintf(b, `# bash completion for smexec, printed by "smexec completion bash".
# Load it into the running shell with
#     source <(smexec completion bash)
# or save it as /etc/bash_completion.d/smexec (or in
# ~/.local/share/bash-completion/completions/smexec).

_smexec() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    [[ -n $cur && -z ${cur//[=:]/} ]] && cur=
%s
    COMPREPLY=()
    if ((child)); then
        if ((child == COMP_CWORD)); then
            COMPREPLY=($(compgen -c -- "$cur"))
        else
            _smexec_files -f
        fi
        return 0
    fi
    if [[ -n $skip ]]; then
        case "${cmd:-exec} $vflag" in
`, m.scan("1", "COMP_WORDS", "COMP_CWORD"))
	for _, a := range m.valueArms(bashAction) {
		fmt.Fprintf(b, "        %s) %s ;;\n", strings.Join(a.pats, "|"), a.action)
	}
	b.WriteString(`        esac
        return 0
    fi
    if [[ $cur == -* ]]; then
        case ${cmd:-exec} in
`)
	for _, c := range m.cmds {
		var fs []string
		for _, f := range c.flags {
			fs = append(fs, f.long)
			if f.short != "" {
				fs = append(fs, f.short)
			}
		}
		fmt.Fprintf(b, "        %s) COMPREPLY=($(compgen -W %s -- \"$cur\")) ;;\n", c.name, shellQuote(strings.Join(fs, " ")))
	}
	fmt.Fprintf(b, `        esac
        return 0
    fi
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W %s -- "$cur"))
        return 0
    fi
    case "$cmd $npos" in
`, shellQuote(m.names()))
	for _, c := range m.cmds {
		switch c.arg {
		case "child":
			fmt.Fprintf(b, "    %s) COMPREPLY=($(compgen -c -- \"$cur\")) ;;\n", shellQuote(c.name+" 0"))
		case "":
		default:
			fmt.Fprintf(b, "    %s) %s ;;\n", shellQuote(c.name+" 0"), bashAction(c.arg, c.values))
		}
	}
	fmt.Fprintf(b, `    esac
    return 0
}

# _smexec_files completes file (-f) or folder (-d) names.
_smexec_files() {
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen "$1" -- "$cur"))
}

complete -F _smexec smexec
`)
}

// arm is one branch of a shell's case: the patterns "COMMAND FLAG" of
// the flag values completed by action.
type arm struct {
	action string
	pats   []string
}

// valueArms groups the flags whose values complete the same way.
func (m compModel) valueArms(action func(kind string, values []string) string) []arm {
	var arms []arm
	at := map[string]int{}
	for _, c := range m.cmds {
		for _, f := range c.flags {
			if !f.value || f.kind == "" {
				continue
			}
			act := action(f.kind, f.values)
			i, ok := at[act]
			if !ok {
				i = len(arms)
				at[act] = i
				arms = append(arms, arm{action: act})
			}
			for _, s := range []string{f.long, f.short} {
				if s != "" {
					arms[i].pats = append(arms[i].pats, shellQuote(c.name+" "+s))
				}
			}
		}
	}
	return arms
}

func bashAction(kind string, values []string) string {
	switch kind {
	case "file":
		return "_smexec_files -f"
	case "dir":
		return "_smexec_files -d"
	case "values":
		return fmt.Sprintf(`COMPREPLY=($(compgen -W %s -- "$cur"))`, shellQuote(strings.Join(values, " ")))
	}
	return ":"
}

// zshDescribe escapes a _describe entry: ':' separates name and description.
func zshDescribe(name, help string) string {
	return shellQuote(strings.ReplaceAll(name, ":", `\:`) + ":" + strings.ReplaceAll(help, ":", `\:`))
}

func (m compModel) zsh(b *strings.Builder) {
	fmt.Fprintf(b, `#compdef smexec
# zsh completion for smexec, printed by "smexec completion zsh".
# Load it into the running shell with
#     source <(smexec completion zsh)
# or save it as _smexec in a folder of $fpath.

_smexec() {
%s
    if ((child)); then
        # The program and its arguments complete as on their own.
        shift $((child - 1)) words
        ((CURRENT -= child - 1))
        _normal
        return
    fi
    if [[ -n $skip ]]; then
        case "${cmd:-exec} $vflag" in
`, m.scan("2", "words", "CURRENT"))
	for _, a := range m.valueArms(zshAction) {
		fmt.Fprintf(b, "        (%s) %s ;;\n", strings.Join(a.pats, "|"), a.action)
	}
	b.WriteString(`        esac
        return
    fi
    local -a entries
    if [[ $PREFIX == -* ]]; then
        case ${cmd:-exec} in
`)
	for _, c := range m.cmds {
		var es []string
		for _, f := range c.flags {
			es = append(es, zshDescribe(f.long, f.help))
			if f.short != "" {
				es = append(es, zshDescribe(f.short, f.help))
			}
		}
		fmt.Fprintf(b, "        (%s) entries=(\n            %s\n        ) ;;\n", c.name, strings.Join(es, "\n            "))
	}
	var cs []string
	for _, c := range m.cmds {
		cs = append(cs, zshDescribe(c.name, c.help))
	}
	fmt.Fprintf(b, `        esac
        _describe -t options option entries
        return
    fi
    if [[ -z $cmd ]]; then
        entries=(
            %s
        )
        _describe -t commands command entries
        return
    fi
    case "$cmd $npos" in
`, strings.Join(cs, "\n            "))
	for _, c := range m.cmds {
		if c.arg == "child" {
			fmt.Fprintf(b, "    (%s) _command_names -e ;;\n", shellQuote(c.name+" 0"))
		} else if c.arg != "" {
			fmt.Fprintf(b, "    (%s) %s ;;\n", shellQuote(c.name+" 0"), zshAction(c.arg, c.values))
		}
	}
	b.WriteString(`    esac
}

if [[ $funcstack[1] == _smexec ]]; then
    _smexec "$@"
else
    compdef _smexec smexec
fi
`)
}

func zshAction(kind string, values []string) string {
	switch kind {
	case "file":
		return "_files"
	case "dir":
		return "_files -/"
	case "values":
		return "compadd -- " + strings.Join(values, " ")
	}
	return ":"
}

// fishQuote quotes s for fish: in single quotes only \ and ' are special.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (m compModel) fish(b *strings.Builder) {
	names := m.names()
	b.WriteString(`# fish completion for smexec, printed by "smexec completion fish".
# Load it into the running shell with
#     smexec completion fish | source
# or save it as ~/.config/fish/completions/smexec.fish.

# After "--" come the program to run and its arguments.
function __smexec_child
    contains -- -- (commandline -opc)
end

complete -c smexec -f
complete -c smexec -n __smexec_child -a '(__fish_complete_command)'
complete -c smexec -n __smexec_child -F
`)
	none := fmt.Sprintf("not __smexec_child; and not __fish_seen_subcommand_from %s", names)
	for _, c := range m.cmds {
		fmt.Fprintf(b, "complete -c smexec -n %s -a %s -d %s\n", fishQuote(none), c.name, fishQuote(c.help))
	}
	for _, c := range m.cmds {
		cond := fmt.Sprintf("not __smexec_child; and __fish_seen_subcommand_from %s", c.name)
		if c.name == "exec" {
			// exec is also the default: its flags apply until another
			// command is named.
			cond = fmt.Sprintf("not __smexec_child; and not __fish_seen_subcommand_from %s", strings.TrimSpace(strings.ReplaceAll(" "+names+" ", " exec ", " ")))
		}
		fmt.Fprintf(b, "\n# %s\n", c.name)
		for _, f := range c.flags {
			fmt.Fprintf(b, "complete -c smexec -n %s", fishQuote(cond))
			if f.short != "" {
				fmt.Fprintf(b, " -s %s", f.short[1:])
			}
			fmt.Fprintf(b, " -l %s", f.long[2:])
			if f.value {
				b.WriteString(fishAction(f.kind, f.values))
			}
			fmt.Fprintf(b, " -d %s\n", fishQuote(f.help))
		}
		switch c.arg {
		case "child":
			fmt.Fprintf(b, "complete -c smexec -n %s -a '(__fish_complete_command)'\n", fishQuote(cond))
		case "file", "dir", "values":
			fmt.Fprintf(b, "complete -c smexec -n %s%s\n", fishQuote(cond), fishAction(c.arg, c.values))
		}
	}
}

func fishAction(kind string, values []string) string {
	switch kind {
	case "file":
		return " -r -F"
	case "dir":
		return " -x -a '(__fish_complete_directories)'"
	case "values":
		return " -x -a " + fishQuote(strings.Join(values, " "))
	}
	return " -x"
}
