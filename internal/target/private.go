package target

import (
	"os"
	"path/filepath"
)

// shm is where Linux keeps a memory-backed file system that every
// process may write to; a variable for tests.
var shm = "/dev/shm"

// PrivateDir creates a fresh folder, mode 0700, for files that only this
// run and its command read: on /dev/shm where there is one, so that the
// values never reach a disk, else in the temp folder ($TMPDIR or /tmp).
func PrivateDir() (string, error) {
	if fi, err := os.Stat(shm); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp(shm, "smexec-"); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "smexec-")
}

// PrivatePath is where the value of an env-path mapping for name goes in
// dir.
func PrivatePath(dir, name string) string { return filepath.Join(dir, name) }
