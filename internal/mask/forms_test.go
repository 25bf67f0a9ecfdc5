package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// claimedForms returns the forms of v that docs/supervise.md says are
// hidden, by name.
func claimedForms(v []byte) map[string][]byte {
	t := bytes.TrimSpace(v)
	fs := map[string][]byte{"raw": t}
	for _, w := range [][]byte{v, t} {
		for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding, "base64 unpadded": base64.RawStdEncoding} {
			e := enc.EncodeToString(w)
			fs[name+" of "+fmt.Sprintf("%d bytes", len(w))] = []byte(e)
			for _, width := range []int{76, 64} {
				if len(e) > width {
					fs[fmt.Sprintf("%s wrapped at %d of %d bytes", name, width, len(w))] = []byte(wrap(e, width, "\n"))
					fs[fmt.Sprintf("%s wrapped at %d with CRLF of %d bytes", name, width, len(w))] = []byte(wrap(e, width, "\r\n"))
				}
			}
		}
	}
	b64 := base64.StdEncoding.EncodeToString(t)
	fs["base64, query-escaped"] = []byte(url.QueryEscape(b64))
	fs["base64, slashes JSON-escaped"] = []byte(strings.ReplaceAll(b64, "/", `\/`))
	if utf8.Valid(t) {
		q, _ := json.Marshal(string(t))
		fs["JSON, Go"] = q[1 : len(q)-1]
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(string(t))
		fs["JSON, no HTML escaping"] = bytes.TrimSuffix(b.Bytes(), []byte("\n"))[1 : b.Len()-2]
		fs["JSON, ASCII only (Python)"] = []byte(jsonASCII(string(t), false, "%04x"))
		fs["JSON, ASCII only, upper-case hex"] = []byte(jsonASCII(string(t), false, "%04X"))
		fs["JSON, ASCII only, slash escaped (PHP)"] = []byte(jsonASCII(string(t), true, "%04x"))
	}
	fs["query escape (Go, quote_plus)"] = []byte(url.QueryEscape(string(t)))
	fs["path escape (Go)"] = []byte(url.PathEscape(string(t)))
	fs["every reserved byte, upper (quote safe='')"] = []byte(percent(t, "-._~", "%%%02X"))
	fs["every reserved byte, lower"] = []byte(percent(t, "-._~", "%%%02x"))
	fs["encodeURIComponent"] = []byte(percent(t, "-._~!'()*", "%%%02X"))
	fs["every byte, upper"] = []byte(percent(t, "", "%%%02X"))
	return fs
}

func wrap(e string, width int, nl string) string {
	var b strings.Builder
	for len(e) > width {
		b.WriteString(e[:width] + nl)
		e = e[width:]
	}
	return b.String() + e
}

// jsonASCII escapes s as Python's json.dumps does by default: every
// non-ASCII rune as \uXXXX (surrogate pairs past U+FFFF); and "/" as "\/"
// too if slash, as PHP's json_encode does.
func jsonASCII(s string, slash bool, hex string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= 0x7f && r < 0x10000:
			fmt.Fprintf(&b, `\u`+hex, r)
		case r >= 0x10000:
			r -= 0x10000
			fmt.Fprintf(&b, `\u`+hex+`\u`+hex, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// percent escapes every byte of v but ASCII letters, digits and keep.
func percent(v []byte, keep, format string) string {
	var b strings.Builder
	for _, c := range v {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, format, c)
	}
	return b.String()
}

// Every form the docs name is hidden whole, inside other text, in one
// write and one byte a write.
func TestMaskClaimedForms(t *testing.T) {
	values := []string{
		"hunter22",
		"p@ss w/rd:+&=?#%\"\\<>é😀",
		"café-crème/brûlée",
		"tab\there\bback\fform\x01-1",
		pem,
		strings.Repeat("s3cr3t-k3y_with/slash+plus ", 12),
		"\x00\x01\xfe\xffbinary\x80\x81",
		"value-with-newline\n",
	}
	for _, v := range values {
		for name, f := range claimedForms([]byte(v)) {
			if len(f) < MinLen {
				continue
			}
			in := "<" + string(f) + ">\n"
			got := maskString(t, in, v)
			if strings.Contains(got, string(f)) || !strings.Contains(got, Replacement) {
				t.Errorf("%q, %s: %q came out as %q", v, name, in, got)
				continue
			}
			want := "<" + Replacement + ">\n"
			if strings.HasPrefix(name, "base64") && !strings.Contains(name, "unpadded") {
				pad := string(f[len(bytes.TrimRight(f, "=")):])
				if strings.Contains(name, "query") {
					pad = strings.Repeat("%3D", strings.Count(string(f), "%3D"))
				}
				want = "<" + Replacement + pad + ">\n"
			}
			if got != want {
				t.Errorf("%q, %s: %q came out as %q, want %q", v, name, in, got, want)
			}
			var chunks [][]byte
			for i := 0; i < len(in); i++ {
				chunks = append(chunks, []byte(in[i:i+1]))
			}
			if bytewise := maskChunks(t, secretsOf(v), chunks...); bytewise != got {
				t.Errorf("%q, %s: one byte a write gave %q, whole %q", v, name, bytewise, got)
			}
		}
	}
}
