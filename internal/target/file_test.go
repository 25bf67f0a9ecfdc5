package target

import (
	"bytes"
	"errors"
	"io/fs"
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
			if err := WriteAll(ws, tt.opt); err != nil {
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
	if err := WriteAll([]Write{{Path: path, Data: []byte("new")}}, keepOwner); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, []byte("new"), 0o400)
	// A second run must get past the 0400 file it wrote the first time.
	if err := WriteAll([]Write{{Path: path, Data: []byte("newer")}}, keepOwner); err != nil {
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
	if err := WriteAll(ws, keepOwner); err != nil {
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
	err := WriteAll([]Write{{Path: path, Data: []byte("x"), Source: "-f d=prod/db"}}, keepOwner)
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
			err := WriteAll(ws, keepOwner)
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
	err := WriteAll(ws, keepOwner)
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
	if err := WriteAll([]Write{{Path: path, Data: []byte("x")}}, FileOptions{UID: uid, GID: gid}); err != nil {
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
