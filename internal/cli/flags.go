package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/smexec/smexec/internal/target"
)

// list is a repeatable string flag. One value may hold several entries,
// one a line, so a single SMEXEC_… environment variable can carry many
// mappings; as in a mappings file, blank lines and lines starting with
// '#' are skipped.
type list []string

func (l *list) Decode(ctx *kong.DecodeContext) error {
	s, err := rawValue(ctx, "value")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(s, "\n") {
		if line = target.TrimLine(line); line != "" && !strings.HasPrefix(line, "#") {
			*l = append(*l, line)
		}
	}
	return nil
}

// rawValue pops the next value as the bytes it was given. Kong's own
// string decoding goes through JSON, which turns every byte that is not
// UTF-8 into U+FFFD: a file path, a command or its arguments would reach
// the system under another name.
func rawValue(ctx *kong.DecodeContext, what string) (string, error) {
	t, err := ctx.Scan.PopValue(what)
	if err != nil {
		return "", err
	}
	if s, ok := t.Value.(string); ok {
		return s, nil
	}
	return fmt.Sprint(t.Value), nil
}

// rawString is kong's mapper for every string, flag or argument, so that
// each keeps its bytes.
type rawString struct{}

func (rawString) Decode(ctx *kong.DecodeContext, v reflect.Value) error {
	s, err := rawValue(ctx, "string")
	if err != nil {
		return err
	}
	v.SetString(s)
	return nil
}

// IsCumulative tells kong's help that the flag repeats.
func (l *list) IsCumulative() bool { return true }

// AWSFlags configure how secrets are fetched.
type AWSFlags struct {
	Region      string        `help:"Region for secrets given by name (ARNs carry their own). Default: the AWS SDK's (AWS_REGION, profile)." placeholder:"REGION"`
	Timeout     time.Duration `default:"30s" help:"Give up resolving after this long. Default: ${default}."`
	NoBatch     bool          `help:"Read every secret with GetSecretValue, never BatchGetSecretValue, and one parameter a GetParameters call."`
	Concurrency int           `default:"64" help:"Most requests to Secrets Manager in flight at once. Default: ${default}."`
	SourceFlags
}

// EnvFlags are the mapping flags that set env vars.
type EnvFlags struct {
	Env         list `short:"e" placeholder:"NAME=REF" help:"Set env var NAME of the child to the value of REF. Repeatable."`
	Template    list `short:"t" placeholder:"TARGET=TEMPLATE" help:"Set env var TARGET, or write the file TARGET when it holds /, to TEMPLATE with each {{ REF }} replaced by its value; {{ urlencode REF }} percent-encodes it. Repeatable."`
	EnvFrom     list `placeholder:"SECRET[:PREFIX]" help:"Set one env var of the child for each top-level key of the JSON secret SECRET, named PREFIX and the key as written; -e NAME=REF wins over it. Takes :STAGE and :VERSION-ID after PREFIX as a REF does. Repeatable."`
	EnvPath     list `placeholder:"NAME=REF" help:"Write the value of REF to a private 0400 file (in a fresh 0700 folder, on /dev/shm where there is one) and set env var NAME of the child to its path. Repeatable."`
	Mappings    list `placeholder:"FILE" help:"Read mappings from FILE (- for stdin), one TARGET=REF a line; a TARGET holding / is a file path. Repeatable."`
	FromEnv     bool `help:"Replace every variable of smexec's environment whose value is a Secrets Manager ARN REF (arn:aws:secretsmanager:…) or smexec:REF by the value, fetched with the rest. Off by default."`
	PreserveEnv bool `help:"Leave an env var that is already set alone, and do not fetch its secret."`
	AllowEmpty  bool `help:"Go on when no mapping is given at all. Without it that is an error, so that an image whose mappings are unset does not start without its secrets."`

	// stdin is what --mappings - reads, set from Deps by AfterApply.
	stdin io.Reader
}

// AfterApply hands the mapping flags the process's stdin for
// --mappings -.
func (ef *EnvFlags) AfterApply(deps *Deps) error {
	ef.stdin = deps.Stdin
	return nil
}

// errNoMappings is the failure of a run given nothing to inject.
func errNoMappings() *Failure {
	return fail(errors.New("no mappings given: nothing to inject")).
		withHint("give -e, -f, -s, -t, --env-from, --env-path, --from-env or --mappings (or SMEXEC_ENV, SMEXEC_MAPPINGS, …); to run without any, add --allow-empty (SMEXEC_ALLOW_EMPTY=true)")
}

// FileFlags are the mapping flags that write files.
type FileFlags struct {
	File       list   `short:"f" placeholder:"PATH=REF" help:"Write the value of REF to PATH before the child starts. Repeatable."`
	Secret     list   `short:"s" placeholder:"REF" help:"Flyte layout: write the value to SECRETS-DIR/lower(group)/lower(key). Repeatable."`
	SecretsDir string `default:"/etc/flyte/secrets" placeholder:"DIR" help:"Folder of the Flyte layout; the child gets FLYTE_SECRETS_DEFAULT_DIR set to it. Default: ${default}."`
	FlyteFlags
}

// mappings parses every mapping flag and file, reporting every bad one.
func mappings(ef EnvFlags, ff *FileFlags, environ []string) ([]target.Mapping, error) {
	var ms []target.Mapping
	var errs []error
	add := func(src string, m target.Mapping, err error) {
		if err != nil {
			errs = append(errs, mappingErr(src, "", err))
			return
		}
		m.Source = src
		ms = append(ms, m)
	}
	type flag struct {
		name  string
		vals  list
		parse func(string) (target.Mapping, error)
	}
	flags := []flag{
		{"--env", ef.Env, target.ParseEnv},
		{"--template", ef.Template, target.ParseTemplateMapping},
		{"--env-from", ef.EnvFrom, target.ParseEnvFrom},
		{"--env-path", ef.EnvPath, target.ParseEnvPath},
	}
	if ff != nil {
		flags = append(flags, flag{"--file", ff.File, target.ParseFile})
	}
	for _, f := range flags {
		for _, s := range f.vals {
			m, err := f.parse(s)
			add(f.name+" "+s, m, err)
		}
	}
	if ff != nil {
		if err := ff.flyteMappings(environ, add); err != nil {
			errs = append(errs, err)
		}
	}
	stdinRead := false
	for _, name := range ef.Mappings {
		var r io.Reader
		if name == "-" {
			if stdinRead {
				errs = append(errs, errors.New("--mappings -: stdin can be read only once"))
				continue
			}
			stdinRead = true
			r, name = ef.stdin, "stdin"
			if r == nil {
				r = strings.NewReader("")
			}
		} else {
			f, err := os.Open(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("--mappings: %w", err))
				continue
			}
			defer f.Close()
			r = f
		}
		fms, err := target.ParseMappings(name, &capped{r: r, left: maxMappingsFile})
		ms = append(ms, fms...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := target.CheckDuplicates(ms); err != nil {
		errs = append(errs, err)
	}
	if ef.FromEnv {
		fms, err := fromEnv(environ, ms)
		ms = append(ms, fms...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fail(errs...)
	}
	if len(ms) == 0 && !ef.AllowEmpty {
		return nil, errNoMappings()
	}
	return ms, nil
}

// fromEnv is the mappings --from-env makes of environ: one for each
// variable whose value is a reference (target.EnvRef), unless an explicit
// mapping sets that name, which wins. smexec's own SMEXEC_… variables are
// configuration, not the command's, and are left out. A variable that
// looks like a reference but is not a valid one fails closed: its name is
// reported, so that the command never starts with a reference where a
// secret was meant.
func fromEnv(environ []string, explicit []target.Mapping) ([]target.Mapping, error) {
	set := map[string]bool{}
	for _, m := range explicit {
		if m.Kind.IsEnv() {
			set[m.Name] = true
		}
	}
	var ms []target.Mapping
	var errs []error
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		r, ok := target.EnvRef(v)
		if !ok || strings.HasPrefix(name, "SMEXEC_") || set[name] {
			continue
		}
		src := "--from-env " + name
		m, err := target.ParseEnv(name + "=" + r)
		if err != nil {
			errs = append(errs, mappingErr(src, "", fmt.Errorf("the variable holds a reference that cannot be read: %w", err)))
			continue
		}
		set[name] = true
		m.Source, m.FromEnv = src, true
		ms = append(ms, m)
	}
	return ms, errors.Join(errs...)
}

// maxMappingsFile bounds what a --mappings file may hold: a path such as
// /dev/urandom never ends.
const maxMappingsFile = 16 << 20

// capped reads up to left bytes, and fails where more follow.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("larger than %d MiB, more than a mappings file needs", maxMappingsFile>>20)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// fileMode is an octal permission such as 0400.
type fileMode uint32

func (m *fileMode) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil || v > 0o777 || v == 0 {
		return fmt.Errorf("file mode %q is not an octal permission from 1 to 0777 such as 0400", b)
	}
	*m = fileMode(v)
	return nil
}

// owner is UID[:GID]; -1 leaves a part unchanged.
type owner struct{ uid, gid int }

// maxID is the largest user or group id: (uid_t)-1, one more, means
// "unchanged" to chown.
const maxID = 1<<32 - 2

func (o *owner) UnmarshalText(b []byte) error {
	u, g, hasG := strings.Cut(string(b), ":")
	id := func(s string) (int, error) {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v > maxID {
			return 0, fmt.Errorf("file owner %q is not UID[:GID] with numeric ids from 0 to %d", b, uint64(maxID))
		}
		return int(v), nil
	}
	var err error
	o.gid = -1
	if o.uid, err = id(u); err != nil {
		return err
	}
	if hasG {
		if o.gid, err = id(g); err != nil {
			return err
		}
	}
	return nil
}
