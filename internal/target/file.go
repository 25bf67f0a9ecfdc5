package target

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FileOptions says how files are written.
type FileOptions struct {
	Mode fs.FileMode // the file's mode; 0 means 0400
	// DirMode is the mode of the folders created for a file; 0 means 0700.
	DirMode fs.FileMode
	// UID and GID, when >= 0, are the owner given to each file and to
	// each folder created for it; only root can set them.
	UID, GID int
	// Beneath, when set, is a folder that every path is below and that
	// must exist: the folders below it are opened, or created, one name
	// at a time in the folder above, never through a symlink, so that a
	// symlink planted there at any moment sends no file elsewhere.
	Beneath string
}

// DefaultFileMode is the mode of a written secret file unless told otherwise.
const DefaultFileMode fs.FileMode = 0o400

// defaultDirMode is the mode of the folders created for a file.
const defaultDirMode fs.FileMode = 0o700

// Write is one file to put in place.
type Write struct {
	Path string
	Data []byte
	// From, when set, supplies the bytes instead of Data.
	From io.Reader
	// Source names the mapping, for errors.
	Source string
}

// WriteError is a file that could not be written, and why.
type WriteError struct {
	Source, Path string
	Err          error
}

func (e *WriteError) Error() string { return fmt.Sprintf("%s: write %s: %v", e.Source, e.Path, e.Err) }
func (e *WriteError) Unwrap() error { return e.Err }

// Files are the files one run puts in place. Each target's folder is
// opened once, following the symlinks of the path as it is at that
// moment; every later step (create, replace, remove) is relative to that
// open folder, so a folder re-pointed meanwhile redirects nothing. Each
// file is remembered by device and inode, so that Remove deletes only a
// file that is still the one written.
type Files struct {
	opt  FileOptions
	dirs map[string]*folder // open folders by path
	// placed are the files in place, by path, in the order written.
	placed map[string]*placed
	order  []string

	// beforeSwap, in tests, runs once every file is staged.
	beforeSwap func()
	// noExchange, in tests, acts as a file system without renameat2's
	// flags (RENAME_EXCHANGE, RENAME_NOREPLACE).
	noExchange bool
	// afterMkdir, in tests, runs when a folder has been created, before
	// it is opened.
	afterMkdir func(path string)
	// beforeReplace, in tests, runs in each swap after the look at
	// what the path holds, just before it is replaced.
	beforeReplace func()
}

type folder struct {
	fd   int
	path string
}

type placed struct {
	dir      *folder
	name     string
	dev, ino uint64
	// held is an O_PATH handle on the file, so that its inode number
	// cannot be given to another file while it is remembered.
	held int
}

// NewFiles returns an empty set of files written with opt.
func NewFiles(opt FileOptions) *Files {
	if opt.Mode == 0 {
		opt.Mode = DefaultFileMode
	}
	if opt.DirMode == 0 {
		opt.DirMode = defaultDirMode
	}
	if opt.Beneath != "" {
		opt.Beneath = filepath.Clean(opt.Beneath)
	}
	return &Files{opt: opt, dirs: map[string]*folder{}, placed: map[string]*placed{}}
}

// CheckPath refuses, without writing anything, a path that no file can be
// written to: an existing folder, device, FIFO or socket at path, or an
// existing parent that is not a folder. A symlink at path is fine: it is
// replaced, never followed.
func CheckPath(path string) error {
	fi, err := os.Lstat(path)
	if err == nil {
		return checkKind(fi.Mode())
	}
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("inspect the path: %w", unwrapPath(err))
	}
	// The first parent that exists must be a folder (or a symlink to one).
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("create folder: %w", unix.ENOTDIR)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) {
			return fmt.Errorf("open folder: %w", unwrapPath(err))
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

// checkKind accepts what a file may replace: nothing, a regular file or
// a symlink.
func checkKind(m fs.FileMode) error {
	switch t := m.Type(); {
	case t == 0, t == fs.ModeSymlink:
		return nil
	case t == fs.ModeDir:
		return errors.New("the path is a directory")
	case t&fs.ModeNamedPipe != 0:
		return errors.New("the path is a FIFO, not a regular file")
	case t&fs.ModeSocket != 0:
		return errors.New("the path is a socket, not a regular file")
	case t&fs.ModeDevice != 0:
		return errors.New("the path is a device, not a regular file")
	default:
		return fmt.Errorf("the path is a special file (%v), not a regular file", t)
	}
}

func statKind(st *unix.Stat_t) fs.FileMode {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// staged is one file written beside its path, not yet in place.
type staged struct {
	w        Write
	dir      *folder
	name     string // the path's last element
	tmp      string // the temp file's name in dir
	dev, ino uint64
	held     int // an O_PATH handle on the temp file
	// After the swap: what happened to the previous file at name.
	swapped  bool
	previous string // "" (there was none), "exchanged" (now at tmp) or a backup name
}

const exchanged = "\x00exchanged"

// Write puts every file in place, atomically and all together: each is
// first written to a temp file created with O_EXCL in its own folder and
// synced, and only when all of them are staged are they swapped in. A
// symlink at a path is replaced, never followed; a folder, device, FIFO
// or socket at a path is refused. Missing parent folders are created
// with DirMode and the files' owner. When any file cannot be staged, no
// path is touched and every staging error is returned. When a swap
// fails, or ctx ends before all are in place, every path this call
// touched gets back what it held before (a file that was not there is
// removed), the temp files and created folders are removed, and the
// error (or ctx's cause) is returned.
func (f *Files) Write(ctx context.Context, ws []Write) error {
	var created []createdDir
	var all []*staged
	undoStage := func() {
		for _, s := range all {
			if !s.swapped {
				unix.Unlinkat(s.dir.fd, s.tmp, 0)
			}
			scrub(s.held)
			unix.Close(s.held)
		}
		f.removeCreated(created)
	}
	var errs []error
	for _, w := range ws {
		if err := context.Cause(ctx); ctx.Err() != nil {
			undoStage()
			return err
		}
		s, err := f.stage(w, &created)
		if err != nil {
			errs = append(errs, &WriteError{w.Source, w.Path, err})
			continue
		}
		all = append(all, s)
	}
	if len(errs) > 0 {
		undoStage()
		return errors.Join(errs...)
	}
	if f.beforeSwap != nil {
		f.beforeSwap()
	}
	undo := func() {
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].swapped {
				f.unswap(all[i])
			}
		}
		undoStage()
	}
	for _, s := range all {
		if err := context.Cause(ctx); ctx.Err() != nil {
			undo()
			return err
		}
		if err := f.swap(s); err != nil {
			undo()
			return &WriteError{s.w.Source, s.w.Path, err}
		}
	}
	// All in place: drop what they replaced, and make it durable.
	synced := map[*folder]bool{}
	for _, s := range all {
		switch s.previous {
		case "":
		case exchanged:
			unix.Unlinkat(s.dir.fd, s.tmp, 0)
		default:
			unix.Unlinkat(s.dir.fd, s.previous, 0)
		}
		if !synced[s.dir] {
			unix.Fsync(s.dir.fd) // failure only weakens durability
			synced[s.dir] = true
		}
		if p, ok := f.placed[s.w.Path]; ok {
			unix.Close(p.held)
		} else {
			f.order = append(f.order, s.w.Path)
		}
		f.placed[s.w.Path] = &placed{dir: s.dir, name: s.name, dev: s.dev, ino: s.ino, held: s.held}
	}
	return nil
}

// stage writes w's data to a synced, closed temp file beside w.Path.
func (f *Files) stage(w Write, created *[]createdDir) (*staged, error) {
	if strings.HasSuffix(w.Path, "/") {
		return nil, errors.New("the path ends in /, which names a folder")
	}
	dir, err := f.folder(filepath.Dir(w.Path), created)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(w.Path)
	var st unix.Stat_t
	switch err := unix.Fstatat(dir.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		if err := checkKind(statKind(&st)); err != nil {
			return nil, err
		}
	case errors.Is(err, unix.ENOENT):
	default:
		return nil, fmt.Errorf("inspect the path: %w", err)
	}
	tmp, file, err := createTemp(dir, name)
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	fail := func(what string, err error) (*staged, error) {
		file.Truncate(0) // wherever it is linked now: see scrub
		file.Close()
		unix.Unlinkat(dir.fd, tmp, 0)
		return nil, fmt.Errorf("%s: %w", what, unwrapPath(err))
	}
	// The mode is set explicitly: the umask may have narrowed the create.
	if err := file.Chmod(f.opt.Mode); err != nil {
		return fail("chmod", err)
	}
	if f.opt.UID >= 0 || f.opt.GID >= 0 {
		if err := file.Chown(f.opt.UID, f.opt.GID); err != nil {
			return fail("chown", err)
		}
	}
	if w.From != nil {
		_, err = io.Copy(file, w.From)
	} else {
		_, err = file.Write(w.Data)
	}
	if err != nil {
		return fail("write", err)
	}
	if err := file.Sync(); err != nil {
		return fail("sync", err)
	}
	if err := unix.Fstat(int(file.Fd()), &st); err != nil {
		return fail("stat", err)
	}
	held, err := holdFile(dir, tmp, &st)
	if err != nil {
		return fail("open", err)
	}
	if err := file.Close(); err != nil {
		unix.Close(held)
		return fail("close", err)
	}
	return &staged{w: w, dir: dir, name: name, tmp: tmp, dev: st.Dev, ino: st.Ino, held: held}, nil
}

// scrub empties the file held, wherever it is linked now, for a write
// that failed: in a folder others can write, a temp file may have been
// moved to a name smexec does not know, which would keep the value. The
// handle is the file staged, so nothing else is emptied. Best effort:
// without /proc, or write permission, the file stays as it is.
func scrub(held int) {
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(held), unix.O_WRONLY|unix.O_TRUNC|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
}

// holdFile opens an O_PATH handle on name in dir, which must be the file
// st describes.
func holdFile(dir *folder, name string, st *unix.Stat_t) (int, error) {
	fd, err := unix.Openat(dir.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var held unix.Stat_t
	if err := unix.Fstat(fd, &held); err != nil || held.Dev != st.Dev || held.Ino != st.Ino {
		unix.Close(fd)
		return -1, errors.New("the temp file was replaced")
	}
	return fd, nil
}

// swap puts s in place of whatever is at its name, keeping that (when
// there is one) so that unswap can put it back: exchanged with the temp
// file where the file system can, else linked to a backup name.
func (f *Files) swap(s *staged) error {
	for range 10 {
		var st unix.Stat_t
		err := unix.Fstatat(s.dir.fd, s.name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			if f.beforeReplace != nil {
				f.beforeReplace()
			}
			err = unix.EINVAL
			if !f.noExchange {
				err = unix.Renameat2(s.dir.fd, s.tmp, s.dir.fd, s.name, unix.RENAME_NOREPLACE)
			}
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
				err = noReplace(s)
			}
			if errors.Is(err, unix.EEXIST) {
				continue // created meanwhile: look again
			}
			if err != nil {
				return fmt.Errorf("rename into place: %w", err)
			}
			s.swapped, s.previous = true, ""
			return f.checkSwapped(s)
		}
		if err != nil {
			return fmt.Errorf("rename into place: %w", err)
		}
		if err := checkKind(statKind(&st)); err != nil {
			return err
		}
		if f.beforeReplace != nil {
			f.beforeReplace()
		}
		err = unix.EINVAL
		if !f.noExchange {
			err = unix.Renameat2(s.dir.fd, s.tmp, s.dir.fd, s.name, unix.RENAME_EXCHANGE)
		}
		if errors.Is(err, unix.ENOENT) {
			continue // removed meanwhile
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EXDEV) {
			return f.swapByLink(s)
		}
		if err != nil {
			return fmt.Errorf("rename into place: %w", err)
		}
		s.swapped, s.previous = true, exchanged
		// What came out must be what was looked at: a folder swapped in
		// meanwhile goes back.
		if err := unix.Fstatat(s.dir.fd, s.tmp, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			if err := checkKind(statKind(&st)); err != nil {
				f.unswap(s)
				return err
			}
		}
		return f.checkSwapped(s)
	}
	return errors.New("rename into place: the path keeps changing")
}

// noReplace puts s's temp file at its empty path where renameat2 has no
// RENAME_NOREPLACE: a link, which fails with EEXIST where a file was
// created meanwhile, then the temp name dropped; a plain rename only
// where the file system has no links either.
func noReplace(s *staged) error {
	err := unix.Linkat(s.dir.fd, s.tmp, s.dir.fd, s.name, 0)
	switch {
	case err == nil:
		unix.Unlinkat(s.dir.fd, s.tmp, 0)
		return nil
	case errors.Is(err, unix.EEXIST):
		return err
	}
	return unix.Renameat(s.dir.fd, s.tmp, s.dir.fd, s.name)
}

// checkSwapped makes sure that what is now at s's path is the file
// staged: in a folder others can write, the temp file may have been
// replaced before the swap.
func (f *Files) checkSwapped(s *staged) error {
	var st unix.Stat_t
	if err := unix.Fstatat(s.dir.fd, s.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Dev != s.dev || st.Ino != s.ino {
		if s.previous == "" {
			// What was renamed is not ours: take it back off the path.
			unix.Renameat2(s.dir.fd, s.name, s.dir.fd, s.tmp, unix.RENAME_NOREPLACE)
			s.swapped = false
		} else {
			f.unswap(s)
		}
		return errors.New("rename into place: the temp file was replaced by another file")
	}
	return nil
}

// swapByLink is swap where the file system cannot exchange two names:
// the previous file is first linked to a backup name (or, where it
// cannot be linked either, renamed to it, which leaves the path empty
// for a moment), then replaced.
func (f *Files) swapByLink(s *staged) error {
	backup, err := tempName(s.name)
	if err != nil {
		return err
	}
	linked := true
	if err := unix.Linkat(s.dir.fd, s.name, s.dir.fd, backup, 0); err != nil {
		linked = false
		if err := unix.Renameat2(s.dir.fd, s.name, s.dir.fd, backup, unix.RENAME_NOREPLACE); err != nil {
			return fmt.Errorf("keep the previous file: %w", err)
		}
	}
	// What was kept must be what was looked at: a folder or special file
	// put at the path meanwhile goes back, as in swap.
	var st unix.Stat_t
	err = unix.Fstatat(s.dir.fd, backup, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil {
		err = checkKind(statKind(&st))
	}
	if err != nil {
		if linked {
			unix.Unlinkat(s.dir.fd, backup, 0)
		} else {
			unix.Renameat2(s.dir.fd, backup, s.dir.fd, s.name, unix.RENAME_NOREPLACE)
		}
		return err
	}
	if err := unix.Renameat(s.dir.fd, s.tmp, s.dir.fd, s.name); err != nil {
		if linked {
			// The previous file is still at name: renaming the backup
			// over it, a link to the same file, would do nothing and
			// leave the backup (and its value) behind.
			unix.Unlinkat(s.dir.fd, backup, 0)
		} else {
			unix.Renameat(s.dir.fd, backup, s.dir.fd, s.name)
		}
		return fmt.Errorf("rename into place: %w", err)
	}
	s.swapped, s.previous = true, backup
	return f.checkSwapped(s)
}

// unswap gives s's path back what it held before swap.
func (f *Files) unswap(s *staged) {
	switch s.previous {
	case "":
		f.removeIfOurs(s.dir, s.name, s.dev, s.ino)
	case exchanged:
		// Back again; the temp name then holds the new file, which the
		// caller removes.
		if err := unix.Renameat2(s.dir.fd, s.tmp, s.dir.fd, s.name, unix.RENAME_EXCHANGE); err != nil {
			f.removeIfOurs(s.dir, s.name, s.dev, s.ino)
			unix.Renameat(s.dir.fd, s.tmp, s.dir.fd, s.name)
		}
	default:
		// A rename onto another link of the same file does nothing: the
		// backup name then goes by itself.
		if unix.Renameat(s.dir.fd, s.previous, s.dir.fd, s.name) == nil {
			unix.Unlinkat(s.dir.fd, s.previous, 0)
		}
		s.previous = ""
	}
	s.swapped = false
}

// Remove deletes every file put in place that is still the one written
// (same device and inode): a file that was replaced since, or a folder
// re-pointed since, is left alone. Errors other than "already gone" are
// returned, one per file.
func (f *Files) Remove() error {
	var errs []error
	for _, path := range f.order {
		p := f.placed[path]
		if err := f.removeIfOurs(p.dir, p.name, p.dev, p.ino); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", path, err))
		}
		unix.Close(p.held)
	}
	f.order, f.placed = nil, map[string]*placed{}
	return errors.Join(errs...)
}

func (f *Files) removeIfOurs(dir *folder, name string, dev, ino uint64) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dir.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Dev != dev || st.Ino != ino {
		return nil // not ours any more
	}
	if err := unix.Unlinkat(dir.fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// Close lets go of the open folders and files; files in place stay, and
// Remove removes nothing after it.
func (f *Files) Close() {
	for _, p := range f.placed {
		unix.Close(p.held)
	}
	for _, d := range f.dirs {
		unix.Close(d.fd)
	}
	f.dirs, f.placed, f.order = map[string]*folder{}, map[string]*placed{}, nil
}

// createdDir is a folder Write created, for removal when it fails.
type createdDir struct {
	parent *folder
	name   string
	path   string
}

// folder opens path as a folder, creating it and its missing parents.
// The path is resolved once, here; a folder created here is opened
// without following a symlink put in its place, and given DirMode and the
// files' owner.
func (f *Files) folder(path string, created *[]createdDir) (*folder, error) {
	if d, ok := f.dirs[path]; ok {
		return d, nil
	}
	var fd int
	var err error
	if f.below(path) {
		fd, err = f.mkdir(path, created) // by name, never through a symlink
	} else {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && filepath.Dir(path) != path && path != f.opt.Beneath {
			fd, err = f.mkdir(path, created)
		} else if err != nil {
			err = fmt.Errorf("open folder: %w", err)
		}
	}
	if err != nil {
		return nil, err
	}
	d := &folder{fd: fd, path: path}
	f.dirs[path] = d
	return d, nil
}

// below tells whether path is strictly below the Beneath folder.
func (f *Files) below(path string) bool {
	b := f.opt.Beneath
	return b != "" && path != b && strings.HasPrefix(path, strings.TrimSuffix(b, "/")+"/")
}

func (f *Files) mkdir(path string, created *[]createdDir) (int, error) {
	parent, err := f.folder(filepath.Dir(path), created)
	if err != nil {
		return -1, err
	}
	name := filepath.Base(path)
	err = unix.Mkdirat(parent.fd, name, 0o700)
	made := err == nil
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("create folder: %w", err)
	}
	if made && f.afterMkdir != nil {
		f.afterMkdir(path)
	}
	fd, err := unix.Openat(parent.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		var st unix.Stat_t
		if f.below(path) && unix.Fstatat(parent.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, fmt.Errorf("folder %s is a symlink, which smexec does not follow under %s", path, f.opt.Beneath)
		}
		return -1, fmt.Errorf("open folder: %w", err)
	}
	// What was opened must be the folder created: one put in its place
	// meanwhile (not smexec's own) is used as found, like any existing
	// folder, and neither changed nor removed.
	var st unix.Stat_t
	if made && (unix.Fstat(fd, &st) != nil || int(st.Uid) != os.Geteuid()) {
		made = false
	}
	if made {
		*created = append(*created, createdDir{parent: parent, name: name, path: path})
		// The mode is set again since the umask narrowed it; a setgid bit
		// the folder inherited (a Kubernetes fsGroup volume) is kept, so
		// that the files below it keep the volume's group.
		mode := uint32(f.opt.DirMode.Perm()) | st.Mode&unix.S_ISGID
		err := unix.Fchmod(fd, mode)
		if err == nil && (f.opt.UID >= 0 || f.opt.GID >= 0) {
			err = unix.Fchown(fd, f.opt.UID, f.opt.GID)
		}
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("create folder: %w", err)
		}
	}
	return fd, nil
}

// removeCreated removes the folders a failed Write created, deepest
// first, each only if it is empty.
func (f *Files) removeCreated(created []createdDir) {
	for i := len(created) - 1; i >= 0; i-- {
		c := created[i]
		if d, ok := f.dirs[c.path]; ok {
			unix.Close(d.fd)
			delete(f.dirs, c.path)
		}
		unix.Unlinkat(c.parent.fd, c.name, unix.AT_REMOVEDIR)
	}
}

// maxName is the longest file name (NAME_MAX) of Linux's file systems.
const maxName = 255

// tempName is a new hidden name beside base: .BASE.smexec-RANDOM, BASE
// cut short so that the name stays within maxName.
func tempName(base string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	suffix := ".smexec-" + hex.EncodeToString(b[:])
	if room := maxName - 1 - len(suffix); len(base) > room {
		base = base[:room]
	}
	return "." + base + suffix, nil
}

// createTemp opens a new file in dir beside base with O_EXCL and mode
// 0600, so nothing else can have it open or have planted it.
func createTemp(dir *folder, base string) (string, *os.File, error) {
	for range 10 {
		name, err := tempName(base)
		if err != nil {
			return "", nil, err
		}
		fd, err := unix.Openat(dir.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		return name, os.NewFile(uintptr(fd), filepath.Join(dir.path, name)), nil
	}
	return "", nil, errors.New("could not find a free temp name")
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
