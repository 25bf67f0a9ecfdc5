package target

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// keepOwner leaves the owner of written files alone.
var keepOwner = FileOptions{UID: -1, GID: -1}

func withMode(m fs.FileMode) FileOptions {
	o := keepOwner
	o.Mode = m
	return o
}

// tempFiles lists the staging files WriteAll leaves under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".smexec-") {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func checkFile(t *testing.T, path string, data []byte, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("%s is %v, want a regular file", path, fi.Mode().Type())
	}
	if got := fi.Mode().Perm(); got != mode {
		t.Errorf("%s has mode %v, want %v", path, got, mode)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("%s holds %q, want %q", path, got, data)
	}
}

func checkAbsent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (or cannot be checked: %v), want nothing there", path, err)
	}
}

func TestWriteAll(t *testing.T) {
	tests := []struct {
		name string
		opt  FileOptions
		mode fs.FileMode
	}{
		{"default mode", keepOwner, 0o400},
		{"custom mode", withMode(0o640), 0o640},
		{"mode wider than the umask allows", withMode(0o666), 0o666},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ws := []Write{
				{Path: filepath.Join(dir, "plain"), Data: []byte("s3cr3t"), Source: "-f plain"},
				{Path: filepath.Join(dir, "bytes"), Data: []byte("\x00\xff\nno final newline"), Source: "-f bytes"},
				{Path: filepath.Join(dir, "empty"), Data: nil, Source: "-f empty"},
				{Path: filepath.Join(dir, "new", "deeper", "cert.pem"), Data: []byte("-----BEGIN-----\n"), Source: "-f cert"},
			}
			if err := writeAll(ws, tt.opt); err != nil {
				t.Fatal(err)
			}
			for _, w := range ws {
				checkFile(t, w.Path, w.Data, tt.mode)
			}
			for _, d := range []string{filepath.Join(dir, "new"), filepath.Join(dir, "new", "deeper")} {
				fi, err := os.Stat(d)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); !fi.IsDir() || got != 0o700 {
					t.Errorf("created folder %s has mode %v, want a 0700 folder", d, fi.Mode())
				}
			}
			if tmp := tempFiles(t, dir); len(tmp) != 0 {
				t.Errorf("staging files left behind: %q", tmp)
			}
		})
	}
}

func TestWriteAllReplacesExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("an old, longer value"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeAll([]Write{{Path: path, Data: []byte("new")}}, keepOwner); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, []byte("new"), 0o400)
	// A second run must get past the 0400 file it wrote the first time.
	if err := writeAll([]Write{{Path: path, Data: []byte("newer")}}, keepOwner); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, []byte("newer"), 0o400)
}

func TestWriteAllReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	victimDir := filepath.Join(dir, "victimdir")
	if err := os.Mkdir(victimDir, 0o755); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"to-file":  victim,
		"to-dir":   victimDir,
		"dangling": filepath.Join(dir, "nowhere"),
	}
	var ws []Write
	for name, target := range links {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, Write{Path: p, Data: []byte("value for " + name), Source: name})
	}
	if err := writeAll(ws, keepOwner); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		checkFile(t, w.Path, w.Data, 0o400)
	}
	checkFile(t, victim, []byte("untouched"), 0o644)
	if ents, err := os.ReadDir(victimDir); err != nil || len(ents) != 0 {
		t.Errorf("the folder a link pointed to now holds %v (%v), want nothing", ents, err)
	}
	checkAbsent(t, filepath.Join(dir, "nowhere"))
}

func TestWriteAllPathIsDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	err := writeAll([]Write{{Path: path, Data: []byte("x"), Source: "-f d=prod/db"}}, keepOwner)
	if err == nil {
		t.Fatal("WriteAll wrote over a directory")
	}
	if !strings.Contains(err.Error(), "-f d=prod/db") || !strings.Contains(err.Error(), "directory") {
		t.Errorf("error %q does not name the mapping and the cause", err)
	}
	if fi, err := os.Lstat(path); err != nil || !fi.IsDir() {
		t.Errorf("%s is no longer a directory", path)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("staging files left behind: %q", tmp)
	}
}

// When one file cannot be staged, none is put in place, a file already at
// a path is left as it was, and no staging file is left behind.
func TestWriteAllFailsWhole(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) // makes the path "bad" unwritable
		bad   string
	}{
		{"parent is a regular file", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "blocker"), []byte("a file"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, filepath.Join("blocker", "x")},
		{"path is a directory", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "isdir"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "isdir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			existing := filepath.Join(dir, "existing")
			if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			ws := []Write{
				{Path: filepath.Join(dir, "first"), Data: []byte("1"), Source: "-f first"},
				{Path: existing, Data: []byte("new"), Source: "-f existing"},
				{Path: filepath.Join(dir, tt.bad), Data: []byte("bad"), Source: "-f bad"},
				{Path: filepath.Join(dir, "sub", "last"), Data: []byte("3"), Source: "-f last"},
			}
			err := writeAll(ws, keepOwner)
			if err == nil {
				t.Fatal("WriteAll succeeded")
			}
			if !strings.Contains(err.Error(), "-f bad") {
				t.Errorf("error %q does not name the failing mapping", err)
			}
			for _, src := range []string{"-f first", "-f existing", "-f last"} {
				if strings.Contains(err.Error(), src) {
					t.Errorf("error %q blames %s, which could be written", err, src)
				}
			}
			checkAbsent(t, filepath.Join(dir, "first"))
			checkAbsent(t, filepath.Join(dir, "sub", "last"))
			checkFile(t, existing, []byte("old"), 0o600)
			if tmp := tempFiles(t, dir); len(tmp) != 0 {
				t.Errorf("staging files left behind: %q", tmp)
			}
		})
	}
}

func TestWriteAllReportsEveryFailure(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blocker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ws := []Write{
		{Path: filepath.Join(dir, "blocker", "a"), Source: "-f a"},
		{Path: filepath.Join(dir, "ok"), Source: "-f ok"},
		{Path: filepath.Join(dir, "blocker", "b"), Source: "-f b"},
	}
	err := writeAll(ws, keepOwner)
	if err == nil {
		t.Fatal("WriteAll succeeded")
	}
	if !strings.Contains(err.Error(), "-f a") || !strings.Contains(err.Error(), "-f b") {
		t.Errorf("error %q does not report both failures", err)
	}
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("error %q does not carry the cause ENOTDIR", err)
	}
	checkAbsent(t, filepath.Join(dir, "ok"))
}

func TestWriteAllOwner(t *testing.T) {
	// Only root can give a file away; anyone may "give" it to themselves.
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 4321, 8765
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "owned")
	if err := writeAll([]Write{{Path: path, Data: []byte("x")}}, FileOptions{UID: uid, GID: gid}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s is owned by %d:%d, want %d:%d", path, st.Uid, st.Gid, uid, gid)
	}
	if fi.Mode().Perm() != DefaultFileMode {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), DefaultFileMode)
	}
}

func TestWriteRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	paths := map[string]string{fifo: "FIFO", sock: "socket", dir: "directory"}
	if os.Geteuid() == 0 {
		null := filepath.Join(dir, "null")
		if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Fatal(err)
		}
		paths[null] = "device"
	} else {
		t.Log("not root: the device node case needs mknod, which only root may call")
	}
	for path, kind := range paths {
		before, _ := os.Lstat(path)
		ok := filepath.Join(dir, "ok")
		err := writeAll([]Write{{Path: ok, Data: []byte("v")}, {Path: path, Data: []byte("v"), Source: "-f x"}}, keepOwner)
		if err == nil || !strings.Contains(err.Error(), kind) {
			t.Errorf("%s: WriteAll error %v, want one naming a %s", path, err, kind)
		}
		if CheckPath(path) == nil {
			t.Errorf("%s: CheckPath accepts a %s", path, kind)
		}
		after, err := os.Lstat(path)
		if err != nil || after.Mode() != before.Mode() {
			t.Errorf("%s: changed from %v to %v (%v)", path, before.Mode(), after.Mode(), err)
		}
		checkAbsent(t, ok)
		if tf := tempFiles(t, dir); len(tf) > 0 {
			t.Errorf("temp files left: %v", tf)
		}
	}
}

func TestCheckPathRefusesAFileAsFolder(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	os.WriteFile(regular, []byte("x"), 0o600)
	if err := CheckPath(filepath.Join(regular, "a", "b")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("CheckPath under a regular file = %v, want not a directory", err)
	}
	for _, ok := range []string{filepath.Join(dir, "new", "deep", "x"), regular, filepath.Join(dir, "x")} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("CheckPath(%s) = %v", ok, err)
		}
	}
}

// A swap that fails after others succeeded gives every path back what it
// held: the previous file's contents, or nothing.
func TestWriteRestoresWhenASwapFails(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	os.WriteFile(old, []byte("previous"), 0o640)
	fresh := filepath.Join(dir, "sub", "fresh")
	bad := filepath.Join(dir, "bad")
	f := NewFiles(keepOwner)
	defer f.Close()
	f.beforeSwap = func() {
		if err := os.Mkdir(bad, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	err := f.Write(context.Background(), []Write{{Path: old, Data: []byte("new")}, {Path: fresh, Data: []byte("new")}, {Path: bad, Data: []byte("new"), Source: "-f bad"}})
	if err == nil || !strings.Contains(err.Error(), "-f bad: write "+bad+": the path is a directory") {
		t.Fatalf("Write = %v, want the directory named", err)
	}
	checkFile(t, old, []byte("previous"), 0o640)
	checkAbsent(t, fresh)
	checkAbsent(t, filepath.Join(dir, "sub")) // created for this write, removed with it
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temp files left: %v", tf)
	}
	if len(f.order) != 0 {
		t.Errorf("files in place = %v after a failed write", f.order)
	}
}

// An interrupted write (its context cancelled) leaves every path as it
// was.
func TestWriteInterrupted(t *testing.T) {
	for _, when := range []string{"before staging", "before swapping"} {
		t.Run(when, func(t *testing.T) {
			dir := t.TempDir()
			old := filepath.Join(dir, "old")
			os.WriteFile(old, []byte("previous"), 0o600)
			ctx, cancel := context.WithCancelCause(context.Background())
			stop := errors.New("interrupted")
			f := NewFiles(keepOwner)
			defer f.Close()
			if when == "before staging" {
				cancel(stop)
			} else {
				f.beforeSwap = func() { cancel(stop) }
			}
			var ws []Write
			for i := range 5 {
				ws = append(ws, Write{Path: filepath.Join(dir, "n", string(rune('a'+i))), Data: []byte("v")})
			}
			ws = append(ws, Write{Path: old, Data: []byte("new")})
			if err := f.Write(ctx, ws); !errors.Is(err, stop) {
				t.Fatalf("Write = %v, want the cancel cause", err)
			}
			checkFile(t, old, []byte("previous"), 0o600)
			checkAbsent(t, filepath.Join(dir, "n"))
			if tf := tempFiles(t, dir); len(tf) > 0 {
				t.Errorf("temp files left: %v", tf)
			}
		})
	}
}

// Remove deletes a file only while it is the one written: not one that
// replaced it, and not one in the folder a parent symlink points to now.
func TestRemoveOnlyWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "v1"), filepath.Join(dir, "v2")
	os.Mkdir(v1, 0o700)
	os.Mkdir(v2, 0o700)
	shared := filepath.Join(dir, "shared")
	if err := os.Symlink("v1", shared); err != nil {
		t.Fatal(err)
	}
	replaced := filepath.Join(dir, "replaced")
	f := NewFiles(keepOwner)
	defer f.Close()
	if err := f.Write(context.Background(), []Write{{Path: filepath.Join(shared, "config.json"), Data: []byte("secret")}, {Path: replaced, Data: []byte("secret")}}); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(v1, "config.json"), []byte("secret"), 0o400)
	// Someone re-points shared to v2, which has its own config.json, and
	// replaces the other file with theirs.
	os.WriteFile(filepath.Join(v2, "config.json"), []byte("unrelated"), 0o644)
	os.Remove(shared)
	os.Symlink("v2", shared)
	os.Remove(replaced)
	os.WriteFile(replaced, []byte("theirs"), 0o644)

	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	checkAbsent(t, filepath.Join(v1, "config.json"))
	checkFile(t, filepath.Join(v2, "config.json"), []byte("unrelated"), 0o644)
	checkFile(t, replaced, []byte("theirs"), 0o644)
}

// A folder made a symlink after the folder was opened does not redirect
// the files written into it.
func TestWriteKeepsToTheFolderOpened(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(dir, "elsewhere")
	os.Mkdir(elsewhere, 0o700)
	target := filepath.Join(dir, "d", "x")
	f := NewFiles(keepOwner)
	defer f.Close()
	f.beforeSwap = func() {
		os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "moved"))
		os.Symlink(elsewhere, filepath.Join(dir, "d"))
	}
	if err := f.Write(context.Background(), []Write{{Path: target, Data: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, "moved", "x"), []byte("v"), 0o400)
	checkAbsent(t, filepath.Join(elsewhere, "x"))
}

func TestWriteLongNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{230, 231, 240, 255} {
		path := filepath.Join(dir, strings.Repeat("n", n))
		if err := writeAll([]Write{{Path: path, Data: []byte("v")}}, keepOwner); err != nil {
			t.Errorf("%d-byte name: %v", n, err)
			continue
		}
		checkFile(t, path, []byte("v"), 0o400)
	}
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temp files left: %v", tf)
	}
	err := writeAll([]Write{{Path: filepath.Join(dir, strings.Repeat("n", 256)), Data: []byte("v")}}, keepOwner)
	if err == nil || !strings.Contains(err.Error(), "file name too long") {
		t.Errorf("256-byte name: %v, want file name too long", err)
	}
}

func TestCreatedFoldersBelongToTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files and folders another owner")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "o"), 0o755)
	path := filepath.Join(dir, "o", "sub", "deeper", "x")
	if err := writeAll([]Write{{Path: path, Data: []byte("v")}}, FileOptions{UID: 65534, GID: 65533}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "o", "sub"), filepath.Join(dir, "o", "sub", "deeper"), path} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 65534 || st.Gid != 65533 {
			t.Errorf("%s belongs to %d:%d, want 65534:65533", p, st.Uid, st.Gid)
		}
	}
	fi, _ := os.Stat(filepath.Join(dir, "o"))
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
		t.Errorf("an existing folder changed owner to %d", st.Uid)
	}
}

// In a folder others can write, a temp file swapped for another file
// before the swap is caught: the path gets its previous file back, and
// the planted file is not put in place.
func TestWriteRefusesAReplacedTempFile(t *testing.T) {
	for _, existed := range []bool{true, false} {
		dir := t.TempDir()
		path := filepath.Join(dir, "target")
		if existed {
			os.WriteFile(path, []byte("previous"), 0o600)
		}
		f := NewFiles(keepOwner)
		f.beforeSwap = func() {
			for _, tmp := range tempFiles(t, dir) {
				os.Rename(tmp, tmp+".moved")
				os.WriteFile(tmp, []byte("planted"), 0o644)
			}
		}
		err := f.Write(context.Background(), []Write{{Path: path, Data: []byte("secret")}})
		f.Close()
		if err == nil || !strings.Contains(err.Error(), "the temp file was replaced") {
			t.Errorf("existed=%v: Write = %v, want the replaced temp file found", existed, err)
		}
		if existed {
			checkFile(t, path, []byte("previous"), 0o600)
		} else if b, _ := os.ReadFile(path); string(b) == "planted" {
			t.Errorf("the planted file was put in place")
		}
		// The temp file moved aside is out of reach by name, but it no
		// longer holds the value.
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if b, _ := os.ReadFile(p); err == nil && !d.IsDir() && bytes.Contains(b, []byte("secret")) {
				t.Errorf("existed=%v: %s holds the value", existed, p)
			}
			return nil
		})
	}
}

// Where the file system cannot exchange names, the previous file is
// linked aside: replaced on success with no backup left, given back when
// a later swap fails.
func TestWriteWithoutExchange(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("previous a"), 0o600)
	os.WriteFile(b, []byte("previous b"), 0o600)
	f := NewFiles(keepOwner)
	defer f.Close()
	f.noExchange = true
	f.beforeSwap = func() {
		os.Remove(b)
		os.Mkdir(b, 0o700)
	}
	if err := f.Write(context.Background(), []Write{{Path: a, Data: []byte("new")}, {Path: b, Data: []byte("new")}}); err == nil {
		t.Fatal("Write over a folder succeeded")
	}
	checkFile(t, a, []byte("previous a"), 0o600)
	f.beforeSwap = nil
	if err := f.Write(context.Background(), []Write{{Path: a, Data: []byte("new")}}); err != nil {
		t.Fatal(err)
	}
	checkFile(t, a, []byte("new"), 0o400)
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temp or backup files left: %v", tf)
	}
}

// Without RENAME_EXCHANGE, a swap that fails after the previous file was
// linked aside leaves no backup behind: that hidden name would hold the
// previous value (under --refresh, the secret's old one) for good.
func TestWriteWithoutExchangeLeavesNoBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a")
	os.WriteFile(path, []byte("previous value"), 0o600)
	f := NewFiles(keepOwner)
	defer f.Close()
	f.noExchange = true
	f.beforeSwap = func() {
		for _, tmp := range tempFiles(t, dir) {
			os.Remove(tmp) // the rename into place fails
		}
	}
	if err := f.Write(context.Background(), []Write{{Path: path, Data: []byte("new")}}); err == nil {
		t.Fatal("Write succeeded without its temp file")
	}
	checkFile(t, path, []byte("previous value"), 0o600)
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temp or backup files left: %v", tf)
	}
}

// With Beneath, no folder below it is reached through a symlink: each is
// opened (or created) by name in the one above it, not followed, so a
// symlink planted at any moment sends nothing elsewhere; Beneath itself
// is never created.
func TestWriteBeneathFollowsNoSymlink(t *testing.T) {
	dir := t.TempDir()
	root, elsewhere := filepath.Join(dir, "root"), filepath.Join(dir, "elsewhere")
	os.Mkdir(root, 0o755)
	os.Mkdir(elsewhere, 0o755)
	os.Mkdir(filepath.Join(root, "a"), 0o755)
	os.Symlink(elsewhere, filepath.Join(root, "g"))
	os.Symlink(elsewhere, filepath.Join(root, "a", "b"))
	opt := keepOwner
	opt.Beneath = root
	for _, rel := range []string{"g/k", "g/new/k", "a/b/k"} {
		err := writeAll([]Write{{Path: filepath.Join(root, rel), Data: []byte("v")}}, opt)
		if err == nil || !strings.Contains(err.Error(), "is a symlink, which smexec does not follow under "+root) {
			t.Errorf("%s: WriteAll = %v, want the symlink refused", rel, err)
		}
	}
	if es, _ := os.ReadDir(elsewhere); len(es) > 0 {
		t.Errorf("written through a symlink: %v", es)
	}
	opt.DirMode = 0o750
	if err := writeAll([]Write{{Path: filepath.Join(root, "x", "y", "k"), Data: []byte("v")}}, opt); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(root, "x", "y", "k"), []byte("v"), 0o400)
	if fi, _ := os.Stat(filepath.Join(root, "x", "y")); fi == nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("created folder: %v, want mode 0750", fi)
	}
	missing := filepath.Join(dir, "missing")
	opt.Beneath = missing
	if err := writeAll([]Write{{Path: filepath.Join(missing, "k"), Data: []byte("v")}}, opt); err == nil {
		t.Error("WriteAll created the missing Beneath folder")
	}
	checkAbsent(t, missing)
}

// A hard link planted at PATH to a file elsewhere (as /etc/shadow could
// be) is replaced as a name: the file it links to keeps its contents,
// mode and link count, by exchange, by link aside and at removal.
func TestWriteOverAHardLinkLeavesItsFile(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "etc"), 0o755)
		os.Mkdir(filepath.Join(dir, "shared"), 0o777)
		shadow := filepath.Join(dir, "etc", "shadow")
		os.WriteFile(shadow, []byte("root:$6$hash"), 0o640)
		path := filepath.Join(dir, "shared", "token")
		if err := os.Link(shadow, path); err != nil {
			t.Fatal(err)
		}
		f := NewFiles(withMode(0o444))
		f.noExchange = noExchange
		if err := f.Write(context.Background(), []Write{{Path: path, Data: []byte("secret")}}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path, []byte("secret"), 0o444)
		if err := f.Remove(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		checkFile(t, shadow, []byte("root:$6$hash"), 0o640)
		var st syscall.Stat_t
		syscall.Stat(shadow, &st)
		if st.Nlink != 1 {
			t.Errorf("noExchange=%v: %s has %d links, want 1", noExchange, shadow, st.Nlink)
		}
		if tf := tempFiles(t, dir); len(tf) > 0 {
			t.Errorf("noExchange=%v: temp files left: %v", noExchange, tf)
		}
	}
}

// A FIFO or a folder put at PATH between the last look and the swap is
// caught with or without RENAME_EXCHANGE: the swap fails, PATH keeps it,
// and nothing of it is moved aside, removed or left behind.
func TestWriteRefusesASpecialFileSwappedIn(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		for _, kind := range []string{"fifo", "folder"} {
			dir := t.TempDir()
			path := filepath.Join(dir, "target")
			os.WriteFile(path, []byte("previous"), 0o600)
			f := NewFiles(keepOwner)
			f.noExchange = noExchange
			f.beforeReplace = func() {
				os.Remove(path)
				if kind == "fifo" {
					syscall.Mkfifo(path, 0o600)
				} else {
					os.Mkdir(path, 0o700)
				}
			}
			err := f.Write(context.Background(), []Write{{Path: path, Data: []byte("secret")}})
			f.Close()
			if err == nil {
				t.Errorf("noExchange=%v, %s: Write succeeded", noExchange, kind)
			}
			fi, lerr := os.Lstat(path)
			if lerr != nil || (kind == "fifo") != (fi.Mode()&fs.ModeNamedPipe != 0) || (kind == "folder") != fi.IsDir() {
				t.Errorf("noExchange=%v, %s: PATH holds %v (%v), want the %s", noExchange, kind, fi, lerr, kind)
			}
			if es, _ := os.ReadDir(dir); len(es) != 1 {
				t.Errorf("noExchange=%v, %s: left in the folder: %v", noExchange, kind, es)
			}
		}
	}
}

// Without renameat2's flags, a file created at an empty PATH just before
// the rename is not overwritten unseen: it is kept like any previous
// file, and a later swap that fails gives it back.
func TestWriteWithoutRenameFlagsKeepsAFileCreatedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	path, bad := filepath.Join(dir, "new"), filepath.Join(dir, "bad")
	f := NewFiles(keepOwner)
	defer f.Close()
	f.noExchange = true
	planted := false
	f.beforeReplace = func() {
		if !planted {
			planted = true
			os.WriteFile(path, []byte("someone's"), 0o644)
			os.Mkdir(bad, 0o700)
		}
	}
	if err := f.Write(context.Background(), []Write{{Path: path, Data: []byte("new")}, {Path: bad, Data: []byte("new")}}); err == nil {
		t.Fatal("Write over a folder succeeded")
	}
	checkFile(t, path, []byte("someone's"), 0o644)
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temp or backup files left: %v", tf)
	}
}

// No file descriptor outlives Close, whatever the writes did: staged,
// swapped, failed, interrupted, removed.
func TestNoDescriptorLeaks(t *testing.T) {
	count := func() int {
		es, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(es)
	}
	dir := t.TempDir()
	before := count()
	for i := range 3 {
		f := NewFiles(keepOwner)
		f.noExchange = i == 1
		a, b := filepath.Join(dir, "x", "a"), filepath.Join(dir, "y", "b")
		if err := f.Write(context.Background(), []Write{{Path: a, Data: []byte("1")}, {Path: b, Data: []byte("1")}}); err != nil {
			t.Fatal(err)
		}
		f.Write(context.Background(), []Write{{Path: a, Data: []byte("2")}, {Path: b, Data: []byte("2")}}) // refresh
		f.Write(context.Background(), []Write{{Path: a, Data: []byte("3")}, {Path: dir, Data: []byte("3")}})
		f.beforeSwap = func() { os.Mkdir(filepath.Join(dir, "z", "c"), 0o700) }
		f.Write(context.Background(), []Write{{Path: a, Data: []byte("4")}, {Path: filepath.Join(dir, "z", "c"), Data: []byte("4")}})
		f.beforeSwap = nil
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f.Write(ctx, []Write{{Path: filepath.Join(dir, "w", "d"), Data: []byte("5")}})
		if i == 2 {
			f.Remove()
		}
		f.Close()
		os.RemoveAll(filepath.Join(dir, "z"))
	}
	if after := count(); after != before {
		t.Errorf("%d descriptors open after Close, %d before", after, before)
	}
}

// A folder put in place of one smexec has just created is not taken for
// it: it keeps its mode and owner, and is not removed when the write
// fails.
func TestCreatedFolderSwappedIsNotChanged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a folder of another owner")
	}
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs")
	os.Mkdir(theirs, 0o777)
	os.Chmod(theirs, 0o777)
	os.Chown(theirs, 65534, 65534)
	os.WriteFile(filepath.Join(theirs, "keep"), nil, 0o644)
	f := NewFiles(FileOptions{UID: 1000, GID: 1000})
	defer f.Close()
	f.afterMkdir = func(path string) {
		os.Rename(path, path+".made")
		os.Rename(theirs, path)
	}
	sub := filepath.Join(dir, "sub")
	f.beforeSwap = func() { os.Mkdir(filepath.Join(dir, "bad"), 0o700) }
	f.Write(context.Background(), []Write{{Path: filepath.Join(sub, "x"), Data: []byte("v")}, {Path: filepath.Join(dir, "bad"), Data: []byte("v")}})
	fi, err := os.Stat(sub)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o777 || st.Uid != 65534 {
		t.Errorf("their folder became %v owned by %d", fi.Mode().Perm(), st.Uid)
	}
}

// writeAll puts every file in place as Files.Write does and lets go of
// them: nothing removes them later.
func writeAll(ws []Write, opt FileOptions) error {
	f := NewFiles(opt)
	defer f.Close()
	return f.Write(context.Background(), ws)
}
