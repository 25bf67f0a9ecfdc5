package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/smexec/smexec/internal/launch"
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
	intr := launch.CatchInterrupts(writeInterrupted)
	defer intr.Stop()
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
	// A target that cannot be written fails before any secret is fetched.
	if err := preflightFiles(ms); err != nil {
		return err
	}
	vals, err := resolveAll(intr.Context(), deps, c.AWSFlags, ms)
	if i := intr.Caught(); i != nil {
		return i
	}
	if err != nil {
		return err
	}
	writes := make([]target.Write, len(vals))
	for i, v := range vals {
		writes[i] = target.Write{Path: v.Name, Data: v.Data, Source: v.Source}
	}
	return writeFiles(intr, writes, fileOptions(c.FileMode, c.FileOwner))
}

// writeInterrupted is what a signal interrupts in write and flyte-sidecar.
const writeInterrupted = "before the files were written"

// writeFiles puts ws in place for write and flyte-sidecar, which have
// caught the interrupting signals since they started: a signal caught
// before every file is in place takes back what was written (no temp
// file, no value stays) and ends the run with 128+N. From the return on,
// a signal has its default action and the files stay.
func writeFiles(intr *launch.Interrupts, ws []target.Write, opt target.FileOptions) error {
	files := target.NewFiles(opt)
	defer files.Close()
	if err := files.Write(intr.Context(), ws); err != nil {
		if i := intr.Caught(); i != nil {
			return i
		}
		return fail(err)
	}
	if i := intr.Release(); i != nil {
		files.Remove()
		return i
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
