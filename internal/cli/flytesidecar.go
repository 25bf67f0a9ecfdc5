package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/target"
)

// The environment contract of the init container Flyte's webhook adds for
// each AWS secret of a task (secret-manager-type AWS): the image's
// entrypoint runs with no arguments, SECRET_ARN is the secret's group
// without trailing ':' joined to its key without leading ':' by one ':',
// SECRET_FILENAME is "/" + lower(group) + "/" + lower(key), path-cleaned,
// and the pod's shared in-memory volume is mounted at /tmp.
const (
	flyteARNVar  = "SECRET_ARN"
	flyteFileVar = "SECRET_FILENAME"
)

// FlyteSidecarCmd is a drop-in for the image of Flyte's AWS secret
// sidecar (webhook.awsSecretManager.sidecarImage): it writes one secret
// where the sidecar did, as every smexec file is written, and fails the
// init container, and so the task, when the secret cannot be read.
type FlyteSidecarCmd struct {
	AWSFlags
	Root string `default:"/tmp" placeholder:"DIR" help:"Folder SECRET_FILENAME is written under: where Flyte's webhook mounts the pod's secrets volume."`
	// Readable by all by default: the task container may run as any user,
	// and the volume is the pod's own, in memory (docs/flyte.md).
	FileMode  fileMode `default:"0444" placeholder:"MODE" help:"Mode of the file, in octal. Folders created get r-x for whoever the mode lets read."`
	FileOwner *owner   `placeholder:"UID[:GID]" help:"Owner of the file and of the folders created (smexec must run as root)."`
}

func (c *FlyteSidecarCmd) Run(deps *Deps) error {
	intr := launch.CatchInterrupts(writeInterrupted)
	defer intr.Stop()
	arn, file := lookupEnv(deps.Environ, flyteARNVar), lookupEnv(deps.Environ, flyteFileVar)
	var errs []error
	if arn == "" {
		errs = append(errs, fmt.Errorf("%s is not set: flyte-sidecar reads the secret's ARN from it", flyteARNVar))
	}
	if file == "" {
		errs = append(errs, fmt.Errorf("%s is not set: flyte-sidecar writes the secret to %s + its value", flyteFileVar, c.Root))
	}
	if len(errs) > 0 {
		return hintLast(fail(errs...), "Flyte's webhook sets both in the init container it adds for each secret; by hand, set SECRET_ARN=arn:…:secret:NAME and SECRET_FILENAME=/GROUP/KEY")
	}
	src := flyteARNVar + "=" + arn
	r, err := ref.Parse(arn)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", src, err)).
			withHint("Flyte joins the Secret's group and key: the group is the ARN up to and including ':secret:', the key the secret's name with its suffix, then optionally :JSON-KEY")
	}
	rel, err := sidecarPath(file)
	if err != nil {
		return fail(fmt.Errorf("%s=%s: %w", flyteFileVar, file, err))
	}
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return fail(fmt.Errorf("--root %s: %w", c.Root, err))
	}
	path := filepath.Join(root, rel)

	m := target.Mapping{Kind: target.File, Name: path, Ref: r, Source: src}
	// The root is the volume, which must be mounted; below it the writer
	// follows no symlink, creating the folders by name. Both, and what
	// is at the path, are checked before the secret is fetched.
	if fi, err := os.Stat(root); err != nil {
		return fail(fmt.Errorf("%s: write %s: folder %s: %w", src, path, root, unwrapPathErr(err)))
	} else if !fi.IsDir() {
		return fail(fmt.Errorf("%s: write %s: %s is not a folder", src, path, root))
	}
	if err := preflightFiles([]target.Mapping{m}); err != nil {
		return err
	}
	vals, err := resolveAll(intr.Context(), deps, c.AWSFlags, []target.Mapping{m})
	if i := intr.Caught(); i != nil {
		return i
	}
	if err != nil {
		return err
	}
	opt := fileOptions(c.FileMode, c.FileOwner)
	opt.Beneath = root
	return writeFiles(intr, []target.Write{{Path: path, Data: vals[0].Data, Source: src}}, opt)
}

// sidecarPath is SECRET_FILENAME as a clean path relative to the root:
// the sidecar joins it to /tmp, so a leading '/' is the root's. It must
// name a file inside the root.
func sidecarPath(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", errors.New("the path holds a NUL byte")
	}
	rel := filepath.Clean(strings.TrimLeft(name, "/"))
	if rel == "." || !filepath.IsLocal(rel) {
		return "", errors.New("the path does not name a file inside the secrets folder")
	}
	return rel, nil
}

// lookupEnv is the value of name in environ, or "".
func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func (FlyteSidecarCmd) Help() string {
	return `The entrypoint of the flyte-sidecar image (docker build --target flyte-sidecar). Flyte's webhook runs it as the init container of each AWS secret of a task, with SECRET_ARN and SECRET_FILENAME set; point FlytePropeller at the image:

    webhook:
      awsSecretManager:
        sidecarImage: registry.example.com/smexec-flyte-sidecar:1.0.0

SECRET_ARN is a REF, so a key may end in :JSON-KEY. The file is mode 0444 (--file-mode to narrow it); a secret that cannot be read fails the init container with exit 125, and so the task.`
}
