package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/target"
)

// InstallCmd copies the running smexec into a folder, for an init
// container that hands it to an image that does not contain it.
type InstallCmd struct {
	Dir string `arg:"" name:"DIR" help:"Folder to copy smexec into, as DIR/smexec (created if missing)."`
}

func (c *InstallCmd) Run(deps *Deps) error {
	// Until the copy is in place, a signal takes back what was written
	// (no temp file stays) and ends the run with 128+N.
	intr := launch.CatchInterrupts("before smexec was installed")
	defer intr.Stop()
	dst := filepath.Join(c.Dir, "smexec")
	if err := install(intr, dst); err != nil {
		var i *launch.Interrupted
		if errors.As(err, &i) {
			return i
		}
		return fail(fmt.Errorf("install %s: %w", dst, err))
	}
	_, err := fmt.Fprintf(deps.Stdout, "installed %s\n", dst)
	return err
}

// install copies the running executable to dst with the writer of file
// targets, and its guarantees: a temp file beside it, synced and made
// 0755, then swapped in for dst, so a reader never sees half a binary, a
// binary running at dst is replaced rather than overwritten, and a
// folder, device, FIFO or socket at dst is refused.
func install(intr *launch.Interrupts, dst string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the running executable: %w", err)
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := target.CheckPath(dst); err != nil {
		return err
	}
	opt := target.FileOptions{Mode: 0o755, DirMode: 0o755, UID: -1, GID: -1}
	files := target.NewFiles(opt)
	defer files.Close()
	err = files.Write(intr.Context(), []target.Write{{Path: dst, From: src}})
	if i := intr.Caught(); err != nil && i != nil {
		return i
	}
	var we *target.WriteError
	if errors.As(err, &we) {
		return we.Err // the caller names dst
	}
	// In place, whole: a signal from here on finds the work done.
	return err
}
