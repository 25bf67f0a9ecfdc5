package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/smexec/smexec/internal/target"
)

// WriteCmd writes the file targets and exits: the init container that
// fills a shared in-memory volume for a main container that does not
// run smexec.
type WriteCmd struct {
	AWSFlags
	// Env is accepted only to be refused by name: write has no child to
	// give an env var to.
	Env      list `short:"e" hidden:"" placeholder:"NAME=REF" help:"Refused: write has no child to give env vars to."`
	Mappings list `placeholder:"FILE" help:"Read mappings from FILE, one TARGET=REF a line; every TARGET must be a file path (hold a /). Repeatable."`
	Template list `short:"t" placeholder:"PATH=TEMPLATE" help:"Write the file PATH (it must hold a /) with TEMPLATE's {{ REF }} replaced by their values. Repeatable."`
	FileFlags
	FileMode  fileMode `default:"0400" placeholder:"MODE" help:"Mode of written files, in octal. Folders write creates get r-x for whoever the mode lets read."`
	FileOwner *owner   `placeholder:"UID[:GID]" help:"Owner of written files and of the folders write creates (smexec must run as root)."`
}

func (c *WriteCmd) Run(deps *Deps) error {
	// write says itself, in its own words, that it was given no file.
	ms, err := mappings(EnvFlags{Env: c.Env, Template: c.Template, Mappings: c.Mappings, AllowEmpty: true, stdin: deps.Stdin}, &c.FileFlags, deps.Environ)
	if err != nil {
		return err
	}
	var envs []error
	for _, m := range ms {
		if m.Kind != target.File {
			envs = append(envs, fmt.Errorf("%s: write puts values in files only; an env var needs a command to receive it", m.Source))
		}
	}
	if len(envs) > 0 {
		return hintLast(fail(envs...), "give a file target (-f PATH=REF, or a mappings line whose TARGET holds /), or run the command through smexec exec")
	}
	if len(ms) == 0 {
		return fail(errors.New("write: no file targets given")).withHint("name them with -f PATH=REF, -s REF or --mappings FILE")
	}
	vals, err := resolveAll(context.Background(), deps, c.AWSFlags, ms)
	if err != nil {
		return err
	}
	writes := make([]target.Write, len(vals))
	for i, v := range vals {
		writes[i] = target.Write{Path: v.Name, Data: v.Data, Source: v.Source}
	}
	if err := target.WriteAll(writes, fileOptions(c.FileMode, c.FileOwner)); err != nil {
		return fail(err)
	}
	return nil
}

// hintLast puts one hint under the last of f's problems, for a hint that
// holds for all of them.
func hintLast(f *Failure, hint string) *Failure {
	if n := len(f.Problems); n > 0 {
		f.Problems[n-1].Hint = hint
	}
	return f
}

// fileOptions are the options of target.WriteAll for --file-mode and
// --file-owner. The folders created on the way to a file let in whoever
// the file's mode lets read it: an init container writes as one user for
// a main container that runs as another, which a folder of 0700 would
// shut out.
func fileOptions(mode fileMode, o *owner) target.FileOptions {
	opt := target.FileOptions{Mode: fs.FileMode(mode), UID: -1, GID: -1}
	if o != nil {
		opt.UID, opt.GID = o.uid, o.gid
	}
	opt.DirMode = folderMode(opt.Mode)
	return opt
}

// folders creates the folders below a root for flyte-sidecar, which
// refuses a symlink among them; with the mode and owner of
// target.FileOptions.
type folders struct {
	mode     fs.FileMode
	uid, gid int
}

// folderMode is 0700 plus r-x for the group and for others where the
// file mode lets them read: 0400 → 0700, 0440 → 0750, 0444 → 0755.
// Nobody but the owner may add or remove names.
func folderMode(file fs.FileMode) fs.FileMode {
	m := fs.FileMode(0o700)
	if file&0o040 != 0 {
		m |= 0o050
	}
	if file&0o004 != 0 {
		m |= 0o005
	}
	return m
}

// under creates the folders of rel below root, which must exist. No
// folder below root may be a symlink: one planted there could send the
// file anywhere.
func (f folders) under(root, rel string) error {
	if fi, err := os.Stat(root); err != nil {
		return fmt.Errorf("folder %s: %w", root, unwrapPathErr(err))
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", root)
	}
	dir := root
	for _, part := range splitPath(filepath.Dir(rel)) {
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := f.mkdir(dir); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("folder %s: %w", dir, unwrapPathErr(err))
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("folder %s is a symlink, which smexec does not follow under %s", dir, root)
		case !fi.IsDir():
			return fmt.Errorf("create folder: %w", syscall.ENOTDIR)
		}
	}
	return nil
}

// mkdir creates one folder with f's mode, whatever the umask, and owner.
func (f folders) mkdir(dir string) error {
	if err := os.Mkdir(dir, f.mode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
				return nil // made meanwhile, by another writer: theirs
			}
		}
		return fmt.Errorf("create folder: %w", unwrapPathErr(err))
	}
	// The mode is set again since the umask narrowed it; a setgid bit the
	// folder inherited (a Kubernetes fsGroup volume) is kept, so that the
	// files below it keep the volume's group.
	mode := f.mode
	if fi, err := os.Stat(dir); err == nil && fi.Mode()&fs.ModeSetgid != 0 {
		mode |= fs.ModeSetgid
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("create folder: chmod: %w", unwrapPathErr(err))
	}
	if f.uid >= 0 || f.gid >= 0 {
		if err := os.Lchown(dir, f.uid, f.gid); err != nil {
			return fmt.Errorf("create folder: chown: %w", unwrapPathErr(err))
		}
	}
	return nil
}

// splitPath is the names of a relative, clean path; none for ".".
func splitPath(p string) []string {
	if p == "." {
		return nil
	}
	return strings.Split(p, string(filepath.Separator))
}

// unwrapPathErr drops a *PathError's path, which the caller names.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (WriteCmd) Help() string {
	return `Nothing is written unless every mapping resolves; env targets are refused. In Kubernetes, an init container fills a memory-backed emptyDir that the main container, unchanged, reads:

    initContainers:
      - name: secrets
        image: smexec:latest
        args: ["write", "--file-mode", "0440", "-f", "/secrets/db-password=prod/db:password"]
        volumeMounts: [{name: secrets, mountPath: /secrets}]`
}
