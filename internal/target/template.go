package target

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/smexec/smexec/internal/ref"
)

// Template is one value built from several: literal text with
// {{ REF }} placeholders, each replaced by the value REF names, passed
// through the functions written before it: {{ urlencode prod/db:password }}.
type Template struct {
	text  string
	parts []part
}

// part is literal text, or one placeholder.
type part struct {
	lit   string
	ref   *ref.Ref
	funcs []string // applied right to left, as written
}

// funcs are the functions a placeholder may apply to its value.
var funcs = map[string]func([]byte) []byte{
	"urlencode": urlEncode,
	"json":      jsonString,
	"base64":    func(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) },
}

// ParseTemplate reads a template's text. In {{ … }}, white space around
// the content is dropped; the content is a REF, optionally preceded by
// function names and a space each (urlencode, json, base64), or a quoted
// Go string, which is written as it is: {{ "{{" }} is a literal {{.
func ParseTemplate(text string) (*Template, error) {
	t := &Template{text: text}
	rest := text
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		t.parts = append(t.parts, part{lit: rest[:open]})
		end := strings.Index(rest[open+2:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("template: {{ at byte %d has no }}", len(text)-len(rest)+open)
		}
		content := strings.Trim(rest[open+2:open+2+end], " \t")
		p, err := parsePlaceholder(content)
		if err != nil {
			return nil, fmt.Errorf("template: {{ %s }}: %w", content, err)
		}
		t.parts = append(t.parts, p)
		rest = rest[open+2+end+2:]
	}
	if len(t.Refs()) == 0 {
		return nil, errors.New("template holds no {{ REF }}: nothing to inject")
	}
	return t, nil
}

func parsePlaceholder(s string) (part, error) {
	if strings.HasPrefix(s, `"`) {
		lit, err := strconv.Unquote(s)
		if err != nil {
			return part{}, errors.New(`a quoted literal must be a Go string, such as "{{"`)
		}
		return part{lit: lit}, nil
	}
	var p part
	for {
		word, rest, ok := strings.Cut(s, " ")
		if !ok || funcs[word] == nil {
			break
		}
		p.funcs = append(p.funcs, word)
		s = strings.TrimLeft(rest, " \t")
	}
	if s == "" {
		return part{}, errors.New("no REF")
	}
	r, err := ref.Parse(s)
	if err != nil {
		return part{}, err
	}
	p.ref = &r
	return p, nil
}

// String is the template as written.
func (t *Template) String() string { return t.text }

// Refs are the template's REFs, in order, one for each placeholder.
func (t *Template) Refs() []ref.Ref {
	var rs []ref.Ref
	for _, p := range t.parts {
		if p.ref != nil {
			rs = append(rs, *p.ref)
		}
	}
	return rs
}

// Render builds the value from values, one for each of Refs in order.
func (t *Template) Render(values [][]byte) []byte {
	var b []byte
	i := 0
	for _, p := range t.parts {
		if p.ref == nil {
			b = append(b, p.lit...)
			continue
		}
		v := values[i]
		i++
		for j := len(p.funcs) - 1; j >= 0; j-- {
			v = funcs[p.funcs[j]](v)
		}
		b = append(b, v...)
	}
	return b
}

// urlEncode percent-encodes every byte but RFC 3986's unreserved
// characters (A-Z a-z 0-9 - . _ ~), so that the value is safe as a URL's
// user, password, path segment or query value alike; a space is %20,
// never +.
func urlEncode(v []byte) []byte {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(v))
	for _, c := range v {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			out = append(out, c)
		default:
			out = append(out, '%', hex[c>>4], hex[c&15])
		}
	}
	return out
}

// jsonString writes v as a JSON string, quotes included; bytes that are
// not UTF-8 become U+FFFD, as JSON has no way to carry them.
func jsonString(v []byte) []byte {
	b, _ := json.Marshal(string(v))
	return b
}

// ParseTemplateMapping reads TARGET=TEMPLATE: a TARGET holding '/' is a
// file path, any other an env var name, as in a mappings file.
func ParseTemplateMapping(s string) (Mapping, error) {
	t, text, ok := strings.Cut(s, "=")
	if !ok || t == "" {
		return Mapping{}, errors.New("want TARGET=TEMPLATE")
	}
	tmpl, err := ParseTemplate(text)
	if err != nil {
		return Mapping{}, err
	}
	var m Mapping
	if strings.Contains(t, "/") {
		// ParseFile checks and cleans the path; the REF is a stand-in.
		if m, err = ParseFile(t + "=x"); err != nil {
			return Mapping{}, err
		}
	} else {
		if !envNameRE.MatchString(t) {
			return Mapping{}, fmt.Errorf("env name %q is not a valid name ([A-Za-z_][A-Za-z0-9_]*)", t)
		}
		m = Mapping{Kind: Env, Name: t}
	}
	m.Ref, m.Template = ref.Ref{}, tmpl
	return m, nil
}
