package cli

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/target"
)

// preflightFiles refuses, before any request and in check as in exec, the
// file targets that cannot be written: a folder, device, FIFO or socket
// at the path, or a parent that is not a folder.
func preflightFiles(ms []target.Mapping) error {
	var errs []error
	for _, m := range ms {
		if m.Kind != target.File {
			continue
		}
		if err := target.CheckPath(m.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s: write %s: %w", m.Source, m.Name, err))
		}
	}
	if len(errs) > 0 {
		return fail(errs...)
	}
	return nil
}

// preflightExec refuses, before anything is written, a command whose
// environment and arguments execve would refuse as too long (E2BIG),
// naming the env mappings that make it so: the largest ones, as many as
// have to become file targets for the rest to fit.
func preflightExec(c launch.Command, vals []value) error {
	f := &Failure{Code: launch.CodeFailed}
	for i, a := range c.Argv {
		if len(a)+1 > launch.MaxArgString {
			f.Problems = append(f.Problems, Problem{Msg: fmt.Sprintf("argument %d of the command is %d bytes, more than the %d execve accepts", i, len(a), launch.MaxArgString-1)})
		}
	}
	space, size := launch.ArgSpace(), launch.ArgSize(c)
	if size > space {
		var env []value
		for _, v := range vals {
			if v.Kind == target.Env || v.Kind == target.EnvFrom {
				env = append(env, v)
			}
		}
		entry := func(v value) int { return len(v.Name) + len(v.Data) + 2 + 8 }
		slices.SortStableFunc(env, func(a, b value) int { return cmp.Compare(entry(b), entry(a)) })
		over := fmt.Sprintf("the command's environment and arguments would take %d bytes, more than the %d execve accepts", size, space)
		left := size
		for _, v := range env {
			if left <= space {
				break
			}
			left -= entry(v)
			f.Problems = append(f.Problems, Problem{Msg: fmt.Sprintf("%s: the value is %d bytes; with it %s", v.Source, len(v.Data), over)})
		}
		if left > space {
			f.Problems = append(f.Problems, Problem{Msg: over + ", even without the env targets"})
		}
		f.Problems[len(f.Problems)-1].Hint = "move large values to file targets (-f PATH=REF); execve accepts a quarter of the stack size limit (ulimit -s), at most 6 MiB"
	}
	if len(f.Problems) > 0 {
		return f
	}
	return nil
}

// childEnv is the command's environment: smexec's own with the env
// targets of vals applied, and FLYTE_SECRETS_DEFAULT_DIR when a file of
// the Flyte layout is written.
func childEnv(environ []string, vals []value, ff *FileFlags) []string {
	set := map[string]string{}
	for _, v := range vals {
		switch {
		case v.Kind == target.Env || v.Kind == target.EnvFrom:
			set[v.Name] = string(v.Data)
		case v.Kind == target.File && v.PathEnv != "":
			set[v.PathEnv] = v.Name
		}
	}
	if ff != nil && ff.layoutFiles() {
		set["FLYTE_SECRETS_DEFAULT_DIR"] = ff.SecretsDir
	}
	return target.Environ(environ, set)
}

// joinFailures makes one Failure of several, keeping every problem and
// its hint; nil errors are dropped.
func joinFailures(errs ...error) error {
	j := &Failure{Code: launch.CodeFailed}
	for _, err := range errs {
		var f *Failure
		switch {
		case err == nil:
		case errors.As(err, &f):
			j.Problems = append(j.Problems, f.Problems...)
		default:
			j.Problems = append(j.Problems, fail(err).Problems...)
		}
	}
	if len(j.Problems) == 0 {
		return nil
	}
	return j
}
