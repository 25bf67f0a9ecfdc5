package cli

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/smexec/smexec/internal/target"
)

// PristineFlags shape the environment COMMAND starts from.
type PristineFlags struct {
	Pristine bool     `help:"Start COMMAND with only the injected variables and the few --keep-env names (default PATH, HOME, USER, LOGNAME, SHELL, TERM, LANG, LC_ALL, TZ, TMPDIR), as env -i and chamber exec --pristine do."`
	KeepEnv  envNames `placeholder:"NAME,..." help:"With --pristine: the variables of smexec's environment COMMAND keeps, replacing the default list; an empty value keeps none. Repeatable."`
}

// envNames is a list of env var names, comma-separated and repeatable;
// set tells an empty list given from no list at all.
type envNames struct {
	names []string
	set   bool
}

func (n *envNames) Decode(ctx *kong.DecodeContext) error {
	s, err := rawValue(ctx, "value")
	if err != nil {
		return err
	}
	n.set = true
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !target.ValidEnvName(name) {
			return fmt.Errorf("%q is not a valid env var name ([A-Za-z_][A-Za-z0-9_]*)", name)
		}
		n.names = append(n.names, name)
	}
	return nil
}

// IsCumulative tells kong's help that the flag repeats.
func (n *envNames) IsCumulative() bool { return true }

// check refuses --keep-env without --pristine, where it would do nothing.
func (pf PristineFlags) check() error {
	if pf.KeepEnv.set && !pf.Pristine {
		return fail(fmt.Errorf("--keep-env: only has a meaning with --pristine")).withHint("add --pristine (SMEXEC_PRISTINE=true), or drop --keep-env")
	}
	return nil
}

// base is the environment COMMAND starts from, before the env targets
// are set: smexec's own without SMEXEC_… (unless pass); with --pristine
// only the names --keep-env lists (or the default ones), the env targets
// --preserve-env left as they are, and SMEXEC_… with pass.
func (pf PristineFlags) base(environ []string, pass bool, preserved []target.Mapping) []string {
	if !pf.Pristine {
		return childEnviron(environ, pass)
	}
	names := target.PristineKeep
	if pf.KeepEnv.set {
		names = pf.KeepEnv.names
	}
	names = append([]string(nil), names...)
	for _, m := range preserved {
		names = append(names, m.Name)
	}
	if pass {
		for _, kv := range environ {
			if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "SMEXEC_") {
				names = append(names, name)
			}
		}
	}
	return target.Keep(environ, names)
}
