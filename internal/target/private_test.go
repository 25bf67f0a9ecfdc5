package target

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivateDir(t *testing.T) {
	tests := []struct {
		name string
		shm  func(t *testing.T) string
		want func(shm, tmp string) string // the parent the folder must be in
	}{
		{"on shm where there is one", func(t *testing.T) string { return t.TempDir() }, func(shm, _ string) string { return shm }},
		{"in TMPDIR without shm", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, func(_, tmp string) string { return tmp }},
		{"in TMPDIR where shm is a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, nil, 0o600)
			return p
		}, func(_, tmp string) string { return tmp }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := shm
			defer func() { shm = old }()
			shm = tt.shm(t)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			dir, err := PrivateDir()
			if err != nil {
				t.Fatal(err)
			}
			defer os.Remove(dir)
			if want := tt.want(shm, tmp); filepath.Dir(dir) != want || !strings.HasPrefix(filepath.Base(dir), "smexec-") {
				t.Errorf("PrivateDir() = %s, want smexec-… in %s", dir, want)
			}
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
				t.Errorf("PrivateDir() made %v, %v; want a folder of mode 0700", fi.Mode(), err)
			}
		})
	}
}
