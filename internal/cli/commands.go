package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/target"
)

// CheckCmd resolves every mapping and prints what would be injected,
// never a value.
type CheckCmd struct {
	EnvFlags
	FileFlags
	PristineFlags
	AWSFlags
	Format string `default:"table" enum:"table,json" env:"SMEXEC_CHECK_FORMAT" help:"Output format: table, or json (an array of objects)."`
}

func (c *CheckCmd) Run(deps *Deps) error {
	intr := launch.CatchInterrupts("")
	defer intr.Stop()
	ms, err := mappings(c.EnvFlags, &c.FileFlags, deps.Environ)
	if err != nil {
		return err
	}
	if err := c.PristineFlags.check(); err != nil {
		return err
	}
	// What exec would refuse before writing, check refuses too.
	perr := preflightFiles(ms)
	fetch, kept := ms, []target.Mapping(nil)
	if c.PreserveEnv {
		fetch, kept = splitPreserved(ms, deps.Environ)
	}
	vals, rerr := resolveAll(intr.Context(), deps, c.AWSFlags, fetch)
	if i := intr.Caught(); i != nil {
		return i
	}
	vals, serr := settleEnvFrom(vals, ms, deps.Environ, c.PreserveEnv)
	rerr = joinFailures(rerr, serr)
	if rerr == nil {
		env := childEnv(c.PristineFlags.base(deps.Environ, false, kept), vals, &c.FileFlags)
		rerr = preflightExec(launch.Command{Env: env}, vals)
	}
	rerr = joinFailures(perr, rerr)
	rows := checkRows(ms, kept, vals, rerr)
	if c.Pristine {
		rows = append(rows, keptRows(c.PristineFlags.base(deps.Environ, false, nil), ms)...)
	}
	if c.Format == "json" {
		return errors.Join(checkJSON(deps.Stdout, rows), rerr)
	}
	checkTable(deps.Stdout, rows)
	return rerr
}

// ExportCmd prints the env mappings' values for a shell, a dotenv file or
// a JSON consumer.
type ExportCmd struct {
	EnvFlags
	AWSFlags
	Format string `default:"dotenv" enum:"dotenv,json,shell,docker" help:"Output format: dotenv, json, shell, or docker (for docker run --env-file)."`
}

func (c *ExportCmd) Run(deps *Deps) error {
	ms, err := mappings(c.EnvFlags, nil, deps.Environ)
	if err != nil {
		return err
	}
	ms = slices.DeleteFunc(ms, func(m target.Mapping) bool {
		if m.Kind != target.Env && m.Kind != target.EnvFrom {
			warn(deps, m.Source+": export prints env mappings only; skipped")
			return true
		}
		return false
	})
	intr := launch.CatchInterrupts("")
	defer intr.Stop()
	vals, _, err := resolveTargets(intr, deps, c.AWSFlags, ms, c.PreserveEnv)
	if err != nil {
		return err
	}
	out, err := export(c.Format, vals)
	if err != nil {
		return err
	}
	_, err = deps.Stdout.Write(out)
	return err
}

func export(format string, vals []value) ([]byte, error) {
	var b strings.Builder
	switch format {
	case "json":
		obj := map[string]string{}
		var errs []error
		for _, v := range vals {
			if !utf8.Valid(v.Data) {
				errs = append(errs, fmt.Errorf("%s: the value is not UTF-8 text, which JSON strings cannot carry; use --format shell", v.Source))
			}
			obj[v.Name] = string(v.Data)
		}
		if len(errs) > 0 {
			return nil, fail(errs...)
		}
		enc, err := json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(enc, '\n'), nil
	case "shell":
		for _, v := range vals {
			fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(string(v.Data)))
		}
	case "docker":
		var errs []error
		for _, v := range vals {
			if err := dockerCheck(v.Data); err != nil {
				errs = append(errs, mappingErr(v.Source, v.Ref.SecretID, err))
				continue
			}
			fmt.Fprintf(&b, "%s=%s\n", v.Name, v.Data)
		}
		if len(errs) > 0 {
			return nil, fail(errs...)
		}
	default:
		var errs []error
		for _, v := range vals {
			q, err := dotenvQuote(v.Data)
			if err != nil {
				errs = append(errs, mappingErr(v.Source, v.Ref.SecretID, err))
				continue
			}
			fmt.Fprintf(&b, "%s=%s\n", v.Name, q)
		}
		if len(errs) > 0 {
			return nil, fail(errs...)
		}
	}
	return []byte(b.String()), nil
}

// shellQuote quotes s for a POSIX shell: single quotes keep every byte
// literal, and a single quote is written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dotenvQuote writes v in the one dotenv dialect that python-dotenv (with
// its default interpolation) and Node's dotenv read back byte for byte:
//
//   - single quotes, where v holds no ', no carriage return, no \\ and
//     does not end in \ (python-dotenv unescapes \\ and \' there, Node
//     nothing);
//   - else double quotes, where v holds no " and no \, with a carriage
//     return written \r (the only escape, with \n, that both unescape);
//   - line feeds are written as they are, inside the quotes.
//
// Anything else is refused, as is ${ (python-dotenv expands it in any
// quotes) and text that is not UTF-8.
func dotenvQuote(v []byte) (string, error) {
	s := string(v)
	const cannot = "which no dotenv quoting carries the same in python-dotenv and Node's dotenv; use --format shell or json"
	switch {
	case !utf8.ValidString(s):
		return "", fmt.Errorf("the value is not UTF-8 text, %s", cannot)
	case strings.Contains(s, "${"):
		return "", errors.New("the value holds ${, which python-dotenv expands even in quotes; use --format shell or json")
	case !strings.ContainsAny(s, "'\r") && !strings.Contains(s, `\\`) && !strings.HasSuffix(s, `\`):
		return "'" + s + "'", nil
	case strings.Contains(s, `"`) && strings.Contains(s, "'"):
		return "", fmt.Errorf("the value holds both ' and \", %s", cannot)
	case strings.Contains(s, `\`):
		return "", errors.New("the value holds a backslash that python-dotenv and Node's dotenv read differently in any quotes; use --format shell or json")
	case strings.Contains(s, `"`):
		return "", fmt.Errorf("the value holds \" and a carriage return, %s", cannot)
	}
	return `"` + strings.ReplaceAll(s, "\r", `\r`) + `"`, nil
}

// dockerCheck refuses what docker run --env-file cannot carry: it reads
// one NAME=value a line, byte for byte, with no quoting at all.
func dockerCheck(v []byte) error {
	switch {
	case bytes.ContainsAny(v, "\n\r"):
		return errors.New("the value holds a line break, which docker run --env-file cannot carry; use a file target or --format json")
	case !utf8.Valid(v):
		return errors.New("the value is not UTF-8 text, which docker run --env-file refuses; use a file target or --format shell")
	}
	return nil
}

// GetCmd prints one value.
type GetCmd struct {
	AWSFlags
	// A string, not a ref.Ref, so that a malformed REF is reported with
	// its text like any mapping's.
	Ref string `arg:"" name:"REF" help:"The secret reference."`
}

func (c *GetCmd) Run(deps *Deps) error {
	src := "get " + c.Ref
	r, err := ref.Parse(c.Ref)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", src, err))
	}
	m := target.Mapping{Kind: target.File, Name: "stdout", Ref: r, Source: src}
	intr := launch.CatchInterrupts("")
	defer intr.Stop()
	vals, err := resolveAll(intr.Context(), deps, c.AWSFlags, []target.Mapping{m})
	if i := intr.Caught(); i != nil {
		return i
	}
	if err != nil {
		return err
	}
	_, err = deps.Stdout.Write(vals[0].Data)
	return err
}

// VersionCmd prints the version.
type VersionCmd struct{}

func (c *VersionCmd) Run(deps *Deps) error {
	v := deps.Version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	_, err := fmt.Fprintf(deps.Stdout, "smexec %s %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
