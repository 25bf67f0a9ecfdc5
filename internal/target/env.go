package target

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// maxEnvEntry is Linux's MAX_ARG_STRLEN: the longest NAME=value string
// execve accepts. A longer one makes the exec fail with E2BIG.
const maxEnvEntry = 32 * 4096

// CheckEnvValue refuses values an environment variable cannot carry.
func CheckEnvValue(name string, v []byte) error {
	if bytes.IndexByte(v, 0) >= 0 {
		return errors.New("the value holds a NUL byte, which an env var cannot carry; use a file target (-f PATH=REF)")
	}
	if n := len(name) + 1 + len(v); n >= maxEnvEntry {
		return fmt.Errorf("the value is %d bytes, too large for an env var (Linux allows %d); use a file target (-f PATH=REF)", len(v), maxEnvEntry-len(name)-2)
	}
	return nil
}

// Environ returns base with set applied: names in set replace the same
// names in base, in base's order, and new names follow in sorted order.
func Environ(base []string, set map[string]string) []string {
	out := make([]string, 0, len(base)+len(set))
	done := map[string]bool{}
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := set[name]; ok {
			if !done[name] {
				out = append(out, name+"="+v)
				done[name] = true
			}
			continue
		}
		out = append(out, kv)
	}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		if !done[name] {
			out = append(out, name+"="+set[name])
		}
	}
	return out
}

// PristineKeep is what a pristine environment keeps of the launcher's own
// unless told otherwise: what a shell and most programs need to find
// commands, the user's files and the terminal, and nothing that could hold
// a credential.
var PristineKeep = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// Keep returns the entries of environ whose name is in names, in
// environ's order: the start of a pristine environment.
func Keep(environ, names []string) []string {
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if keep[name] {
			out = append(out, kv)
		}
	}
	return out
}

// Scheme marks an env value that --from-env reads as a REF of any form:
// smexec:prod/db:password.
const Scheme = "smexec:"

// EnvRef tells whether an env value is a reference for --from-env to
// replace, and returns the REF's text: a Secrets Manager ARN (a full or
// partial secret ARN, with or without a JSON key, stage and version id),
// or any REF after "smexec:". Other values are not references, even when
// a secret by that name exists: a bare name is too easily a plain value.
func EnvRef(v string) (string, bool) {
	if r, ok := strings.CutPrefix(v, Scheme); ok {
		return r, true
	}
	if f := strings.SplitN(v, ":", 4); len(f) == 4 && f[0] == "arn" && f[2] == "secretsmanager" {
		return v, true
	}
	return "", false
}
