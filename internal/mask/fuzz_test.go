package mask

import (
	"bytes"
	"encoding/base64"
	"slices"
	"testing"
)

// FuzzMask cuts the input into writes where cuts says: each byte of cuts is
// the length of the next write, and one with the high bit set also flushes
// after it. Whatever the cuts, no form of a secret (that has no "*" of its
// own) comes out; without a mid-stream flush the output is exactly that of
// masking the whole input at once, so with no secret in the input it is the
// input. So that encoded forms meet in the input, a byte 0xff followed by a
// byte x is replaced by form x>>1 of secret x&1.
func FuzzMask(f *testing.F) {
	f.Add([]byte("password=hunter22\n"), "hunter22", "", []byte{3, 5})
	f.Add([]byte("abcdef abcd cdef"), "abcd", "cdef", []byte{1, 1, 1, 1})
	f.Add([]byte("1abcdefgh2"), "cdef", "abcdefgh", []byte{4, 2})
	f.Add([]byte("aaaaaaaab"), "aaab", "aaaa", []byte{2})
	f.Add([]byte("pw=hunt"+"er22!"), "hunter22", "", []byte{7 | 0x80})
	f.Add([]byte("Basic "+base64.StdEncoding.EncodeToString([]byte("user:s3cr3t-pw"))), "s3cr3t-pw", "user", []byte{9})
	f.Add([]byte(`{"k":"a\nb\u003cc\u0026d"}`), "a\nb<c&d", "", []byte{8})
	f.Add([]byte("plain output\n"), "", "", []byte{})
	f.Add([]byte("a\xff\x00\xff\x03\xff\x09b"), "s3cr3t-pw", "3cr3", []byte{2, 3, 1, 8})
	f.Add([]byte("\xff\x14\xff\x15\xff\x0a"), "user:pass", "ass\nword", []byte{})
	f.Add([]byte("caf\\u00e9-cr\\u00E8me\\/x %63af%C3%a9-cr%c3%A8me/x"), "café-crème/x", "", []byte{5, 9})
	f.Add([]byte("TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFDN1ZKVFV0\r\nOVVzOGNLag==\nnext"), "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", "", []byte{76, 1, 1})
	f.Add([]byte("hunter2\nnext\n"), "hunter2\n", "  abc  ", []byte{7, 1})
	f.Add([]byte("\\ud83d\\ude00-s3cr \\ud83d\\u12 %2 %zz \\"), "😀-s3cr", "\\", []byte{3, 3, 3})
	f.Fuzz(func(t *testing.T, in []byte, s1, s2 string, cuts []byte) {
		secrets := secretsOf(s1, s2)
		in = spliceForms(in, secrets)
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secrets))
		flushed := false
		rest := in
		for _, c := range cuts {
			n := min(int(c&0x7f), len(rest))
			if _, err := m.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
			if c&0x80 != 0 {
				if err := m.Flush(); err != nil {
					t.Fatal(err)
				}
				flushed = flushed || len(rest) > 0
			}
		}
		if _, err := m.Write(rest); err != nil {
			t.Fatal(err)
		}
		if err := m.Flush(); err != nil {
			t.Fatal(err)
		}
		got := out.Bytes()

		for _, s := range secrets {
			if !Masked(s) {
				continue
			}
			for _, form := range claimedForms(s) {
				if len(form) >= MinLen && !bytes.Contains(form, []byte("*")) && bytes.Contains(got, form) {
					t.Fatalf("form %q of secret %q is in the output %q", form, s, got)
				}
			}
		}
		if reference(in, secrets) == string(in) && !bytes.Equal(got, in) {
			t.Fatalf("nothing to mask in %q, but the output is %q", in, got)
		}
		if !flushed {
			if want := reference(in, secrets); string(got) != want {
				t.Fatalf("masking %q with %q: got %q, want %q", in, secrets, got, want)
			}
		}
	})
}

// spliceForms replaces each 0xff x in in by form x>>1 of secret x&1.
func spliceForms(in []byte, secrets [][]byte) []byte {
	var out []byte
	for i := 0; i < len(in); i++ {
		if in[i] != 0xff || i+1 == len(in) {
			out = append(out, in[i])
			continue
		}
		i++
		fs := sortedForms(secrets[in[i]&1])
		out = append(out, fs[int(in[i]>>1)%len(fs)]...)
	}
	return out
}

// sortedForms is claimedForms in a fixed order.
func sortedForms(v []byte) [][]byte {
	m := claimedForms(v)
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([][]byte, len(names))
	for i, n := range names {
		out[i] = m[n]
	}
	return out
}

// FuzzMaskSwap swaps in a new Set for the same values between writes:
// that must change nothing, so the output is exactly that of masking the
// whole input at once (a rotation opens no gap).
func FuzzMaskSwap(f *testing.F) {
	f.Add([]byte("xxabcdefghyy"), "abcd", "cdefgh", []byte{3, 1, 2})
	f.Add([]byte("a \\u00e9t\\u00e9-s3cr3t %41%42CD-key b"), "été-s3cr3t", "ABCD-key", []byte{4, 3, 9, 2})
	f.Add([]byte("czNjcjN0LXMzY3IzdC1zM2NyM3QtczNjcjN0LXMzY3IzdC1zM2NyM3QtczNj\ncjN0LXMzY3IzdA==\n"), "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t", "", []byte{60, 1})
	f.Fuzz(func(t *testing.T, in []byte, s1, s2 string, cuts []byte) {
		secrets := secretsOf(s1, s2)
		in = spliceForms(in, secrets)
		var out bytes.Buffer
		m := NewWriter(&out, Compile(secrets))
		rest := in
		for _, c := range cuts {
			n := min(int(c), len(rest))
			if _, err := m.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
			m.Swap(Compile(secrets))
		}
		if _, err := m.Write(rest); err != nil {
			t.Fatal(err)
		}
		if err := m.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := reference(in, secrets); out.String() != want {
			t.Fatalf("masking %q with %q, swapping at %v: got %q, want %q", in, secrets, cuts, out.String(), want)
		}
	})
}
