package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/target"
)

// CheckCmd resolves every mapping and prints what would be injected,
// never a value.
type CheckCmd struct {
	AWSFlags
	EnvFlags
	FileFlags
	Format string `default:"table" enum:"table,json" env:"SMEXEC_CHECK_FORMAT" help:"Output format: table, or json (an array of objects)."`
}

func (c *CheckCmd) Run(deps *Deps) error {
	ms, err := mappings(c.EnvFlags, &c.FileFlags, deps.Environ)
	if err != nil {
		return err
	}
	if c.PreserveEnv {
		ms = preserve(ms, deps.Environ)
	}
	vals, rerr := resolveAll(context.Background(), deps, c.AWSFlags, ms)
	if c.Format == "json" {
		return errors.Join(checkJSON(deps.Stdout, vals), rerr)
	}
	tw := tabwriter.NewWriter(deps.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSECRET\tVERSION\tSTAGES\tSIZE")
	for _, v := range vals {
		kind := "env"
		if v.Kind == target.File {
			kind = "file"
		}
		// The path came from input and the rest from the endpoint's
		// answer: escaped, so neither can drive the terminal or break the
		// table with a tab or a line break.
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%d\n", kind, escape(v.Name), escape(v.Secret.ARN), escape(v.Secret.VersionID),
			escape(strings.Join(v.Secret.Stages, ",")), len(v.Data))
	}
	tw.Flush()
	return rerr
}

// ExportCmd prints the env mappings' values for a shell, a dotenv file or
// a JSON consumer.
type ExportCmd struct {
	AWSFlags
	EnvFlags
	Format string `default:"dotenv" enum:"dotenv,json,shell" help:"Output format: dotenv, json or shell."`
}

func (c *ExportCmd) Run(deps *Deps) error {
	ms, err := mappings(c.EnvFlags, nil, deps.Environ)
	if err != nil {
		return err
	}
	ms = slices.DeleteFunc(ms, func(m target.Mapping) bool {
		if m.Kind != target.Env {
			warn(deps, m.Source+": export prints env mappings only; skipped")
			return true
		}
		return false
	})
	if c.PreserveEnv {
		ms = preserve(ms, deps.Environ)
	}
	vals, err := resolveAll(context.Background(), deps, c.AWSFlags, ms)
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
	default:
		for _, v := range vals {
			fmt.Fprintf(&b, "%s=%s\n", v.Name, dotenvQuote(string(v.Data)))
		}
	}
	return []byte(b.String()), nil
}

// shellQuote quotes s for a POSIX shell: single quotes keep every byte
// literal, and a single quote is written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dotenvQuote quotes s for dotenv readers (docker compose, python-dotenv,
// node dotenv): single quotes, literal in all of them, where s has none
// and no backslash; otherwise double quotes with \\ \" \n \r and \t
// escaped. dotenv has no escape for $ that its readers agree on: a
// double-quoted value holding ${…} may be expanded by the reader.
func dotenvQuote(s string) string {
	if !strings.ContainsAny(s, `'\`) {
		return "'" + s + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
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
	vals, err := resolveAll(context.Background(), deps, c.AWSFlags, []target.Mapping{m})
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
