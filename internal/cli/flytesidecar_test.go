package cli

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestSidecarPath(t *testing.T) {
	for _, tc := range []struct {
		name, want string // want "" means refused
	}{
		{"/arn:aws:secretsmanager:us-east-1:123456789012:secret:/prod/db-abcdef", "arn:aws:secretsmanager:us-east-1:123456789012:secret:/prod/db-abcdef"},
		{"/group/key:password", "group/key:password"},
		{"key", "key"},               // no leading '/': relative to the root all the same
		{"//g//k/", "g/k"},           // cleaned
		{"/g/./k", "g/k"},            // cleaned
		{"/g/../k", "k"},             // cleaned, and still inside
		{"/../k", ""},                // leaves the root
		{"/g/../../k", ""},           // leaves the root
		{"..", ""},                   // leaves the root
		{"/", ""},                    // the root itself
		{"/.", ""},                   // the root itself
		{"", ""},                     // nothing
		{"/g/k\x00", ""},             // NUL
		{"/g/..k", "g/..k"},          // a name that starts with ".." is a name
		{"/g/k/..", "g"},             // cleaned to the group's folder: a folder is refused later, by the write
		{"/a/b/c/../../../..", ""},   // leaves the root
		{"/a/b/c/../../../../x", ""}, // leaves the root
	} {
		got, err := sidecarPath(tc.name)
		if tc.want == "" {
			if err == nil {
				t.Errorf("sidecarPath(%q) = %q, want it refused", tc.name, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("sidecarPath(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// FuzzSidecarPath: whatever SECRET_FILENAME holds, an accepted path joined
// to the root stays strictly inside it.
func FuzzSidecarPath(f *testing.F) {
	for _, s := range []string{"/g/k", "/../x", "a/../../b", "/", "//x//", "/g/k:json:AWSCURRENT:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		rel, err := sidecarPath(name)
		if err != nil {
			return
		}
		const root = "/tmp"
		p := filepath.Join(root, rel)
		if !strings.HasPrefix(p, root+"/") || strings.Contains(p, "\x00") {
			t.Fatalf("sidecarPath(%q) = %q, which joins to %q, outside %s", name, rel, p, root)
		}
		if rel != filepath.Clean(rel) {
			t.Fatalf("sidecarPath(%q) = %q, not clean", name, rel)
		}
	})
}

func TestFolderMode(t *testing.T) {
	for file, want := range map[fs.FileMode]fs.FileMode{
		0o400: 0o700, 0o600: 0o700, 0o440: 0o750, 0o444: 0o755, 0o404: 0o705,
		0o666: 0o755, 0o460: 0o750, 0o406: 0o705, 0o004: 0o705, 0o040: 0o750,
	} {
		if got := folderMode(file); got != want {
			t.Errorf("folderMode(%#o) = %#o, want %#o", file, got, want)
		}
	}
}
