package cli

import (
	"strconv"
	"strings"
	"testing"
)

func TestOwnerRefusesIdsThatWrap(t *testing.T) {
	for _, tc := range []struct {
		in       string
		uid, gid int
	}{
		{"0", 0, -1},
		{"65534:65534", 65534, 65534},
		{"4294967294:4294967294", 4294967294, 4294967294},
		{"5:0", 5, 0},
	} {
		var o owner
		if err := o.UnmarshalText([]byte(tc.in)); err != nil || o.uid != tc.uid || o.gid != tc.gid {
			t.Errorf("%q: got %+v, %v; want %d:%d", tc.in, o, err, tc.uid, tc.gid)
		}
	}
	for _, bad := range []string{"4294967295", "4294967296:5", "0:4294967295", "99999999999", "18446744073709551616", "-1", "+5", "1:", ":1", "a", "", "1:2:3", " 1"} {
		var o owner
		if err := o.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted as %+v", bad, o)
		}
	}
}

// FuzzOwner: what is accepted is decimal ids in 0..4294967294, read back
// exactly.
func FuzzOwner(f *testing.F) {
	for _, s := range []string{"0", "65534:65534", "4294967295", "4294967296:5", "1:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var o owner
		if o.UnmarshalText([]byte(s)) != nil {
			return
		}
		if o.uid < 0 || o.uid > maxID || o.gid < -1 || o.gid > maxID {
			t.Fatalf("%q: ids %d:%d out of range", s, o.uid, o.gid)
		}
		u, g, hasG := strings.Cut(s, ":")
		if n, err := strconv.ParseUint(u, 10, 64); err != nil || int(n) != o.uid {
			t.Fatalf("%q: uid %d", s, o.uid)
		}
		if hasG {
			if n, err := strconv.ParseUint(g, 10, 64); err != nil || int(n) != o.gid {
				t.Fatalf("%q: gid %d", s, o.gid)
			}
		} else if o.gid != -1 {
			t.Fatalf("%q: gid %d without one given", s, o.gid)
		}
	})
}
