package target

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/smexec/smexec/internal/ref"
)

// FlyteEnvPrefix is the default prefix of flytekit's SecretsConfig for
// secrets given as env vars, which smexec keeps.
const FlyteEnvPrefix = "_FSEC_"

// FlyteLayout is where flytekit's SecretsManager.get(group, key) looks
// for a secret: first the env var
//
//	ENV-PREFIX + upper(group) + "_" + upper(key)
//
// then the file
//
//	DIR/lower(group)/FILE-PREFIX + lower(key)
//
// An empty group or key is left out, with its "_" or "/" (flytekit
// filters them out before joining).
type FlyteLayout struct {
	Dir        string // FLYTE_SECRETS_DEFAULT_DIR of the child
	EnvPrefix  string // FLYTE_SECRETS_ENV_PREFIX
	FilePrefix string // FLYTE_SECRETS_FILE_PREFIX
}

// NewFlyteLayout reads the prefixes from environ the way flytekit reads
// them from its own environment: a variable that is unset or empty leaves
// flytekit's default (_FSEC_, and no file prefix), and white space around
// a value is dropped.
func NewFlyteLayout(dir string, environ []string) FlyteLayout {
	l := FlyteLayout{Dir: dir, EnvPrefix: FlyteEnvPrefix}
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		if v == "" {
			continue
		}
		switch name {
		case "FLYTE_SECRETS_ENV_PREFIX":
			l.EnvPrefix = strings.TrimSpace(v)
		case "FLYTE_SECRETS_FILE_PREFIX":
			l.FilePrefix = strings.TrimSpace(v)
		}
	}
	return l
}

// File is the file mapping that flytekit finds for (group, key).
func (l FlyteLayout) File(group, key string, r ref.Ref) (Mapping, error) {
	parts, err := flyteParts(group, key, strings.ToLower)
	if err != nil {
		return Mapping{}, err
	}
	if strings.HasSuffix(parts[len(parts)-1], "/") {
		return Mapping{}, fmt.Errorf("secret key %q ends in /, which names a folder, not a file", key)
	}
	parts[len(parts)-1] = l.FilePrefix + parts[len(parts)-1]
	rel := filepath.Join(parts...)
	if rel == "." || !filepath.IsLocal(rel) {
		return Mapping{}, fmt.Errorf("secret key %q does not name a file inside the secrets dir", key)
	}
	return Mapping{Kind: File, Name: filepath.Join(l.Dir, rel), Ref: r}, nil
}

// Env is the env mapping that flytekit finds for (group, key). Its name
// is flytekit's, which for an ARN group holds ':' and '-': the kernel,
// env(1), bash and Python pass such a name on; dash and a shell's $NAME
// do not.
func (l FlyteLayout) Env(group, key string, r ref.Ref) (Mapping, error) {
	parts, err := flyteParts(group, key, strings.ToUpper)
	if err != nil {
		return Mapping{}, err
	}
	name := l.EnvPrefix + strings.Join(parts, "_")
	if strings.ContainsAny(name, "=\x00") {
		return Mapping{}, fmt.Errorf("flytekit's env name %q holds '=', which no env var name can; use the file layout (--secret)", name)
	}
	return Mapping{Kind: Env, Name: name, Ref: r}, nil
}

// flyteParts is flytekit's filter(None, (group, key)) with the case
// changed. Only ASCII is accepted: Python and Go change the case of some
// other letters differently, and flytekit would then look elsewhere.
func flyteParts(group, key string, change func(string) string) ([]string, error) {
	var parts []string
	for _, s := range []string{group, key} {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, fmt.Errorf("secret group or key %q holds characters outside ASCII, which flytekit may change case differently", s)
			}
		}
		if s != "" {
			parts = append(parts, change(s))
		}
	}
	if len(parts) == 0 {
		return nil, errors.New("secret group and key are both empty")
	}
	return parts, nil
}

// FlyteJoin is the REF of a secret given by halves, built as Flyte's AWS
// sidecar builds its SECRET_ARN: the group without trailing ':' and the
// key without leading ':', joined by one ':'.
func FlyteJoin(group, key string) string {
	return strings.TrimRight(group, ":") + ":" + strings.TrimLeft(key, ":")
}
