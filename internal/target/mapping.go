// Package target owns where values go: the mappings from references to env
// vars and files, the child's environment, and atomic file writes.
package target

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/smexec/smexec/internal/ref"
)

// Kind says where a mapping's value goes.
type Kind int

const (
	Env  Kind = iota // an environment variable of the child
	File             // a file written before the child starts
	// EnvPath is an env var set to the path of a private file that holds
	// the value; once the file's place is known the mapping becomes a
	// File with PathEnv set.
	EnvPath
	// EnvFrom sets one env var for each top-level member of a JSON
	// secret, named by the REF's JSON-key field (a prefix) and the
	// member's key. Once resolved, each value's Name is its env var.
	EnvFrom
)

// IsEnv tells whether k sets an env var named by the mapping's Name.
func (k Kind) IsEnv() bool { return k == Env || k == EnvPath }

// Mapping ties one reference to one target.
type Mapping struct {
	Kind Kind
	// Name is the env var name or the file path.
	Name string
	Ref  ref.Ref
	// Source is how the user wrote the mapping (flag and text, or file and
	// line), for errors.
	Source string
	// PathEnv, of a File, is the env var the child gets set to the
	// file's path (an EnvPath mapping once its file is placed).
	PathEnv string
	// FromEnv marks an env mapping that --from-env made of a variable
	// holding a reference; --preserve-env does not keep such a variable.
	FromEnv bool
	// Template, when set, builds the value of an Env or File mapping from
	// several REFs; Ref is then unused.
	Template *Template
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidEnvName tells whether name is a name smexec sets:
// [A-Za-z_][A-Za-z0-9_]*.
func ValidEnvName(name string) bool { return envNameRE.MatchString(name) }

// ParseEnv reads NAME=REF.
func ParseEnv(s string) (Mapping, error) {
	name, r, err := split(s, "NAME=REF")
	if err != nil {
		return Mapping{}, err
	}
	if !envNameRE.MatchString(name) {
		return Mapping{}, fmt.Errorf("env name %q is not a valid name ([A-Za-z_][A-Za-z0-9_]*)", name)
	}
	return Mapping{Kind: Env, Name: name, Ref: r}, nil
}

// ParseFile reads PATH=REF.
func ParseFile(s string) (Mapping, error) {
	path, r, err := split(s, "PATH=REF")
	if err != nil {
		return Mapping{}, err
	}
	if strings.ContainsRune(path, 0) {
		return Mapping{}, errors.New("file path holds a NUL byte")
	}
	// Clean would drop the slash and write a file where a folder was meant.
	if strings.HasSuffix(path, "/") {
		return Mapping{}, fmt.Errorf("file path %q ends in /, which names a folder, not a file", path)
	}
	if last := path[strings.LastIndex(path, "/")+1:]; last == "." || last == ".." {
		return Mapping{}, fmt.Errorf("file path %q ends in %s, which names a folder, not a file", path, last)
	}
	return Mapping{Kind: File, Name: filepath.Clean(path), Ref: r}, nil
}

// ParseEnvPath reads NAME=REF of an env var that holds the path of a
// private file with the value.
func ParseEnvPath(s string) (Mapping, error) {
	m, err := ParseEnv(s)
	m.Kind = EnvPath
	return m, err
}

// ParseEnvFrom reads SECRET-ID[:PREFIX[:VERSION-STAGE[:VERSION-ID]]]: a
// REF whose JSON-key field is the prefix of the env var names, since the
// whole secret is read. The prefix is empty or starts a valid env name.
func ParseEnvFrom(s string) (Mapping, error) {
	r, err := ref.Parse(s)
	if err != nil {
		return Mapping{}, err
	}
	if r.JSONKey != "" && !envNameRE.MatchString(r.JSONKey) {
		return Mapping{}, fmt.Errorf("prefix %q is not the start of a valid env name ([A-Za-z_][A-Za-z0-9_]*); the field after the secret is the prefix, not a JSON key, in --env-from", r.JSONKey)
	}
	return Mapping{Kind: EnvFrom, Name: r.JSONKey, Ref: r}, nil
}

// EnvFromName is the env var name the member key of an --env-from
// secret gets: the prefix and the key as written, which must make a valid
// name. Keys are never rewritten, so that a name is always the key.
//
// A name that makes the command load or run other code (LD_PRELOAD,
// PATH, NODE_OPTIONS, …, see codeNames) or configures smexec (SMEXEC_…)
// is refused: whoever may write the secret would otherwise choose what
// runs, not only what it reads. An explicit -e NAME=REF still sets one.
func EnvFromName(prefix, key string) (string, error) {
	name := prefix + key
	if !envNameRE.MatchString(name) {
		return "", fmt.Errorf("JSON key %q would be env name %q, which is not a valid name ([A-Za-z_][A-Za-z0-9_]*)", key, name)
	}
	if loadsCode(name) {
		return "", fmt.Errorf("JSON key %q would set %s, which changes what code the command runs; a whole secret may not set it (use -e %s=REF if it is meant)", key, name, name)
	}
	return name, nil
}

// codeNames are env vars that make a program, its dynamic loader or its
// interpreter load or run other code, or change how it finds it.
var codeNames = map[string]bool{
	"PATH": true, "HOME": true, "XDG_CONFIG_HOME": true, "IFS": true, "ENV": true, "BASH_ENV": true, "SHELLOPTS": true, "BASHOPTS": true, "PS4": true, "PROMPT_COMMAND": true, "CDPATH": true,
	"GCONV_PATH": true, "GLIBC_TUNABLES": true, "HOSTALIASES": true, "LOCALDOMAIN": true, "RES_OPTIONS": true, "NLSPATH": true, "TMPDIR": true,
	"NODE_OPTIONS": true, "NODE_PATH": true, "PYTHONPATH": true, "PYTHONHOME": true, "PYTHONSTARTUP": true, "PYTHONINSPECT": true, "PYTHONUSERBASE": true, "PYTHONBREAKPOINT": true,
	"PERL5LIB": true, "PERL5OPT": true, "PERLLIB": true, "RUBYOPT": true, "RUBYLIB": true, "GEM_PATH": true, "GEM_HOME": true,
	"JAVA_TOOL_OPTIONS": true, "_JAVA_OPTIONS": true, "JDK_JAVA_OPTIONS": true, "CLASSPATH": true,
	"GIT_SSH": true, "GIT_SSH_COMMAND": true, "GIT_EXEC_PATH": true, "GIT_CONFIG_GLOBAL": true, "EDITOR": true, "VISUAL": true, "PAGER": true,
}

// loadsCode tells whether setting name can change what code runs:
// codeNames, the loader's LD_… and DYLD_…, and smexec's own SMEXEC_….
func loadsCode(name string) bool {
	return codeNames[name] || strings.HasPrefix(name, "LD_") || strings.HasPrefix(name, "DYLD_") || strings.HasPrefix(name, "SMEXEC_")
}

func split(s, form string) (string, ref.Ref, error) {
	t, rs, ok := strings.Cut(s, "=")
	if !ok || t == "" {
		return "", ref.Ref{}, fmt.Errorf("want %s", form)
	}
	r, err := ref.Parse(rs)
	if err != nil {
		return "", ref.Ref{}, err
	}
	return t, r, nil
}

// lineFlags are the mapping flags a mappings-file line may start with,
// as --NAME VALUE, for the forms TARGET=REF cannot say.
var lineFlags = map[string]func(string) (Mapping, error){
	"--env":      ParseEnv,
	"--file":     ParseFile,
	"--env-path": ParseEnvPath,
	"--env-from": ParseEnvFrom,
	"--template": ParseTemplateMapping,
}

// ParseLine reads a mappings-file line TARGET=REF: a TARGET holding '/' is
// a file path, any other an env var name. A line that starts with a
// mapping flag's long name and a space is that flag's value instead:
// --env-path NAME=REF.
func ParseLine(s string) (Mapping, error) {
	// A TARGET=REF line never starts so: "--x y" is no env name, and
	// a file path holds a '/' before its first space.
	if flag, v, ok := strings.Cut(s, " "); ok && strings.HasPrefix(flag, "--") && !strings.Contains(flag, "/") {
		parse, ok := lineFlags[flag]
		if !ok {
			return Mapping{}, fmt.Errorf("%s is not a mapping flag a mappings file can hold (--env, --file, --env-path, --env-from, --template)", flag)
		}
		return parse(strings.TrimLeft(v, " "))
	}
	t, _, _ := strings.Cut(s, "=")
	if strings.Contains(t, "/") {
		return ParseFile(s)
	}
	return ParseEnv(s)
}

// MappingError is what is wrong with one mapping, named by its Source.
type MappingError struct {
	Source string
	Err    error
}

func (e *MappingError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *MappingError) Unwrap() error { return e.Err }

// TrimLine returns a mapping line as it is read: without the indentation
// before it and the line ending after it, and "" for a line of white
// space alone. Nothing else is trimmed: white space at the end of a line
// belongs to the REF's JSON key, and trimming it could turn a key into no
// key, which would inject the whole secret.
func TrimLine(line string) string {
	line = strings.TrimSuffix(line, "\r")
	if strings.TrimSpace(line) == "" {
		return ""
	}
	return strings.TrimLeft(line, " \t")
}

// ParseMappings reads a mappings file: one TARGET=REF a line, blank lines
// and lines starting with '#' ignored. Every bad line is reported, each
// named by file and line number. Lines may be of any length; a long one is
// shortened in errors.
func ParseMappings(name string, r io.Reader) ([]Mapping, error) {
	var ms []Mapping
	var errs []error
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		text, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, n, err))
			break
		}
		if n == 1 {
			// A byte-order mark, as some Windows editors write, is not
			// part of the first target.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if line := TrimLine(strings.TrimSuffix(text, "\n")); line != "" && !strings.HasPrefix(line, "#") {
			src := fmt.Sprintf("%s:%d %s", name, n, shorten(line))
			m, perr := ParseLine(line)
			if perr != nil {
				errs = append(errs, &MappingError{Source: src, Err: perr})
			} else {
				m.Source = src
				ms = append(ms, m)
			}
		}
		if err == io.EOF {
			break
		}
	}
	return ms, errors.Join(errs...)
}

// maxSourceText is how much of a mappings line an error quotes.
const maxSourceText = 200

// shorten cuts a line quoted in errors to maxSourceText bytes, at a rune
// boundary, with … after it.
func shorten(s string) string {
	if len(s) <= maxSourceText {
		return s
	}
	i := maxSourceText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// CheckDuplicates reports every target named by more than one mapping.
func CheckDuplicates(ms []Mapping) error {
	type id struct {
		k Kind
		n string
	}
	first := map[id]string{}
	var errs []error
	for _, m := range ms {
		if m.Kind == EnvFrom {
			continue // its names are known once resolved: see the --env-from rules
		}
		i := id{m.Kind, m.Name}
		if m.Kind.IsEnv() {
			i.k = Env // one env var, however it is set
		}
		if prev, ok := first[i]; ok {
			errs = append(errs, &MappingError{Source: m.Source, Err: fmt.Errorf("target %s is already set by %s", m.Name, prev)})
			continue
		}
		first[i] = m.Source
	}
	return errors.Join(errs...)
}
