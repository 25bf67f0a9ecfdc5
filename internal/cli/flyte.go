package cli

import (
	"fmt"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/target"
)

// FlyteFlags are the Flyte and Union layout flags beyond --secret: a
// secret given by its two halves, as Union's docs hand them out, and the
// env var form of the layout.
type FlyteFlags struct {
	SecretGroup list `placeholder:"GROUP" help:"Flyte layout by halves: a secret's group, paired in order with --secret-key; the REF is GROUP:KEY. Repeatable."`
	SecretKey   list `placeholder:"KEY" help:"Flyte layout by halves: a secret's key, paired in order with --secret-group. Repeatable."`
	SecretEnv   list `placeholder:"REF" help:"Flyte layout as an env var: set _FSEC_<upper(group)>_<upper(key)> (FLYTE_SECRETS_ENV_PREFIX replaces _FSEC_) to the value. Repeatable."`
}

// layoutFiles reports whether any mapping goes to the Flyte file layout,
// which the child then needs FLYTE_SECRETS_DEFAULT_DIR to find.
func (ff *FileFlags) layoutFiles() bool {
	return len(ff.Secret) > 0 || len(ff.SecretGroup) > 0
}

// flyteMappings reads --secret, the --secret-group/--secret-key pairs and
// --secret-env, adding each through add.
func (ff *FileFlags) flyteMappings(environ []string, add func(string, target.Mapping, error)) error {
	l := target.NewFlyteLayout(ff.SecretsDir, environ)
	for _, f := range []struct {
		name  string
		vals  list
		place func(group, key string, r ref.Ref) (target.Mapping, error)
	}{{"--secret", ff.Secret, l.File}, {"--secret-env", ff.SecretEnv, l.Env}} {
		for _, s := range f.vals {
			r, err := flyteRef(s)
			var m target.Mapping
			if err == nil {
				m, err = f.place(r.Group(), r.Key(), r)
			}
			add(f.name+" "+s, m, err)
		}
	}
	if g, k := len(ff.SecretGroup), len(ff.SecretKey); g != k {
		return fmt.Errorf("--secret-group and --secret-key pair up in order, but %d --secret-group and %d --secret-key were given", g, k)
	}
	for i, group := range ff.SecretGroup {
		key := ff.SecretKey[i]
		r, err := flyteRef(target.FlyteJoin(group, key))
		var m target.Mapping
		if err == nil {
			m, err = l.File(group, key, r)
		}
		add(fmt.Sprintf("--secret-group %s --secret-key %s", group, key), m, err)
	}
	return nil
}

// flyteRef parses the REF of a Flyte layout mapping: a Secrets Manager
// secret, whose group and key name the file. A parameter has neither.
func flyteRef(s string) (ref.Ref, error) {
	r, err := ref.Parse(s)
	if err == nil && r.IsParameter() {
		what := "ARN"
		if !r.IsARN() {
			what = "ssm:NAME"
		}
		return ref.Ref{}, fmt.Errorf("%s names a Parameter Store parameter, which has no Flyte group and key: map it with -e or -f", what)
	}
	return r, err
}
