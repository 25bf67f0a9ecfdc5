package target

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileOptions says how files are written.
type FileOptions struct {
	Mode fs.FileMode // the file's mode; 0 means 0400
	// UID and GID, when >= 0, are the owner given to each file; only root
	// can set them.
	UID, GID int
}

// DefaultFileMode is the mode of a written secret file unless told otherwise.
const DefaultFileMode fs.FileMode = 0o400

// Write is one file to put in place.
type Write struct {
	Path string
	Data []byte
	// Source names the mapping, for errors.
	Source string
}

// WriteAll puts every file in place atomically and all together: each is
// first written to a temp file created with O_EXCL in its own folder and
// synced, and only when all of them are staged are they renamed over their
// paths. A symlink at a path is replaced, never followed. Missing parent
// folders are created 0700. When any file cannot be staged, no path is
// touched and every staging error is returned.
func WriteAll(ws []Write, opt FileOptions) error {
	staged := make([]*os.File, 0, len(ws))
	defer func() {
		for _, f := range staged {
			f.Close()
			os.Remove(f.Name()) // harmless after a rename: the name is gone
		}
	}()
	var errs []error
	for _, w := range ws {
		f, err := stage(w, opt)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: write %s: %w", w.Source, w.Path, err))
			continue
		}
		staged = append(staged, f)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i, f := range staged {
		// rename replaces a symlink itself, not what it points to.
		if err := os.Rename(f.Name(), ws[i].Path); err != nil {
			// Rare (the path turned into a folder since staging): take back
			// the files this run put in place, so none of its values stay.
			for _, w := range ws[:i] {
				os.Remove(w.Path)
			}
			return fmt.Errorf("%s: write %s: rename into place: %w", ws[i].Source, ws[i].Path, unwrapPath(err))
		}
		syncDir(filepath.Dir(ws[i].Path))
	}
	return nil
}

// stage writes w's data to a synced, closed temp file beside w.Path.
func stage(w Write, opt FileOptions) (*os.File, error) {
	mode := opt.Mode
	if mode == 0 {
		mode = DefaultFileMode
	}
	dir := filepath.Dir(w.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create folder: %w", unwrapPath(err))
	}
	if fi, err := os.Lstat(w.Path); err == nil && fi.IsDir() {
		return nil, errors.New("the path is a directory")
	}
	tmp, err := createTemp(dir, filepath.Base(w.Path))
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", unwrapPath(err))
	}
	fail := func(what string, err error) (*os.File, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("%s: %w", what, unwrapPath(err))
	}
	// The mode is set explicitly: the umask may have narrowed the create.
	if err := tmp.Chmod(mode); err != nil {
		return fail("chmod", err)
	}
	if opt.UID >= 0 || opt.GID >= 0 {
		if err := tmp.Chown(opt.UID, opt.GID); err != nil {
			return fail("chown", err)
		}
	}
	if _, err := tmp.Write(w.Data); err != nil {
		return fail("write", err)
	}
	if err := tmp.Sync(); err != nil {
		return fail("sync", err)
	}
	if err := tmp.Close(); err != nil {
		return fail("close", err)
	}
	return tmp, nil
}

// createTemp opens a new file next to base with O_EXCL and mode 0600, so
// nothing else can have it open or have planted it.
func createTemp(dir, base string) (*os.File, error) {
	for range 10 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, "."+base+".smexec-"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, errors.New("could not find a free temp name")
}

// syncDir makes the rename durable; failure only weakens durability, so
// it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// unwrapPath drops the *PathError's path, which the caller already names,
// leaving the cause.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
