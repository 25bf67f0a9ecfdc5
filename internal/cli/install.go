package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// InstallCmd copies the running smexec into a folder, for an init
// container that hands it to an image that does not contain it.
type InstallCmd struct {
	Dir string `arg:"" name:"DIR" help:"Folder to copy smexec into, as DIR/smexec (created if missing)."`
}

func (c *InstallCmd) Run(deps *Deps) error {
	dst := filepath.Join(c.Dir, "smexec")
	if err := install(dst); err != nil {
		return fail(fmt.Errorf("install %s: %w", dst, err))
	}
	_, err := fmt.Fprintf(deps.Stdout, "installed %s\n", dst)
	return err
}

// install copies the running executable to dst atomically: a temp file
// beside it, synced and made 0755, then renamed over dst, so a reader
// never sees half a binary and a binary that is running at dst is
// replaced, not overwritten.
func install(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the running executable: %w", err)
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		return errors.New("is a directory")
	}
	tmp, err := os.CreateTemp(dir, ".smexec-install-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = io.Copy(tmp, src)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("rename into place: %w", errors.Unwrap(err))
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
