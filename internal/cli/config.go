package cli

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// shortUsage is what a bare smexec prints: enough to take the next step.
const shortUsage = `Usage: smexec [flags] -- COMMAND [ARG...]
       smexec check|export|get|write|flyte-sidecar|version|ecs-import|install|completion|help ...

Run COMMAND with AWS Secrets Manager secrets in its environment and files:

  -e, --env NAME=REF      set env var NAME to the value of REF
  -f, --file PATH=REF     write the value of REF to PATH
      --mappings FILE     read TARGET=REF lines from FILE (- for stdin)

  smexec -e DB_PASSWORD=prod/db:password -- ./server

Run 'smexec --help' for every flag and command, 'smexec help COMMAND' for one.
`

// logLevel is --log-level: debug, info, warn or error, in any case.
type logLevel string

func (l *logLevel) UnmarshalText(b []byte) error {
	v := strings.ToLower(strings.TrimSpace(string(b)))
	switch v {
	case "debug", "info", "warn", "error":
		*l = logLevel(v)
		return nil
	}
	return fmt.Errorf("want debug, info, warn or error, but got %q", b)
}

// logFormat is --log-format: text or json, in any case.
type logFormat string

func (f *logFormat) UnmarshalText(b []byte) error {
	v := strings.ToLower(strings.TrimSpace(string(b)))
	switch v {
	case "text", "json":
		*f = logFormat(v)
		return nil
	}
	return fmt.Errorf("want text or json, but got %q", b)
}

// versionFlag is --version: print what the version command prints, and
// exit.
type versionFlag bool

func (versionFlag) BeforeReset(app *kong.Kong, deps *Deps) error {
	if err := (&VersionCmd{}).Run(deps); err != nil {
		return err
	}
	app.Exit(0)
	return nil
}

// HelpCmd is smexec help [COMMAND]: the --help of smexec or of COMMAND.
type HelpCmd struct {
	Command []string `arg:"" optional:"" name:"COMMAND" help:"The command to show the help of."`
}

func (h *HelpCmd) Run(kctx *kong.Context) error {
	if len(h.Command) > 0 {
		var names []string
		found := false
		for _, n := range kctx.Model.Children {
			if n.Type == kong.CommandNode && !n.Hidden {
				names = append(names, n.Name)
				found = found || n.Name == h.Command[0]
			}
		}
		if !found {
			return fail(fmt.Errorf("help %s: no such command; the commands are %s", h.Command[0], strings.Join(names, ", "))).
				withHint("a program named " + h.Command[0] + " runs with smexec [flags] -- " + h.Command[0])
		}
	}
	_, err := kctx.Kong.Parse(append(append([]string{}, h.Command...), "--help"))
	return err
}

// refreshMapper decodes --refresh: a duration of at least minRefresh.
// 0 is refused rather than read as "off", which leaving the flag out
// already says.
var refreshMapper = kong.MapperFunc(func(ctx *kong.DecodeContext, target reflect.Value) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 5m, but got %q", s)
	}
	if d < minRefresh {
		return fmt.Errorf("%v: want %v or more; to turn refresh off, leave --refresh (and SMEXEC_REFRESH) out", d, minRefresh)
	}
	target.SetInt(int64(d))
	return nil
})

// warnHidden warns, once for each, about an SMEXEC_… variable that a flag
// given on the command line replaces: the flag wins and the variable is
// not read at all, mappings included.
func warnHidden(deps *Deps, kctx *kong.Context) {
	set := map[string]bool{}
	for _, kv := range deps.Environ {
		name, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "SMEXEC_") && v != "" {
			set[name] = true
		}
	}
	warned := map[string]bool{}
	for _, tr := range kctx.Path {
		if tr.Flag == nil {
			continue
		}
		for _, env := range tr.Flag.Envs {
			if set[env] && !warned[env] {
				warned[env] = true
				warn(deps, fmt.Sprintf("--%s on the command line replaces %s, which is ignored", tr.Flag.Name, env))
			}
		}
	}
}

// childEnviron is the environment COMMAND starts from: smexec's own
// without its SMEXEC_… configuration, so that a smexec run by COMMAND
// does not inherit the mappings, --mask and the rest; with pass, all of
// it.
func childEnviron(environ []string, pass bool) []string {
	if pass {
		return environ
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "SMEXEC_") {
			out = append(out, kv)
		}
	}
	return out
}

// withEnvar adds "(from envar NAME="VALUE")" to a kong error about a flag
// whose value came from its SMEXEC_… variable, where kong leaves it out
// (a value outside the flag's enum), so that every such error names the
// variable to fix.
func withEnvar(err error, environ []string) error {
	var pe *kong.ParseError
	if !errors.As(err, &pe) || pe.Context == nil || strings.Contains(err.Error(), "(from envar ") {
		return err
	}
	onLine := map[*kong.Flag]bool{}
	for _, tr := range pe.Context.Path {
		if tr.Flag != nil {
			onLine[tr.Flag] = true
		}
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, f := range pe.Context.Flags() {
		if onLine[f] || !strings.HasPrefix(err.Error(), "--"+f.Name+" ") {
			continue
		}
		for _, name := range f.Envs {
			if v, ok := env[name]; ok {
				return fmt.Errorf("%w (from envar %s=%q)", err, name, v)
			}
		}
	}
	return err
}
