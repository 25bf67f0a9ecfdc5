package target

import (
	"bufio"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/smexec/smexec/internal/ref"
)

const fullARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

func mustRef(t testing.TB, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatalf("ref.Parse(%q): %v", s, err)
	}
	return r
}

func TestParseEnv(t *testing.T) {
	tests := []struct {
		in       string
		wantName string
		wantRef  string
	}{
		{"DB_PASSWORD=prod/db:password", "DB_PASSWORD", "prod/db:password"},
		{"_x=prod/db", "_x", "prod/db"},
		{"a1=" + fullARN + ":password::", "a1", fullARN + ":password::"},
		// The first '=' ends the name; names may hold '='.
		{"K=team/a=b:key", "K", "team/a=b:key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseEnv(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := Mapping{Kind: Env, Name: tt.wantName, Ref: mustRef(t, tt.wantRef)}
			if m != want {
				t.Errorf("ParseEnv(%q) = %#v, want %#v", tt.in, m, want)
			}
		})
	}
}

func TestParseEnvRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "NAME=REF"},
		{"NOEQUALS", "NAME=REF"},
		{"=prod/db", "NAME=REF"},
		{"1X=prod/db", "not a valid name"},
		{"A-B=prod/db", "not a valid name"},
		{"A B=prod/db", "not a valid name"},
		{"É=prod/db", "not a valid name"},
		{"A=", "empty reference"},
		{"A=bad name", "secret name"},
		{"A=arn:aws:ssm:us-east-1:123456789012:parameter:x", "service"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseEnv(tt.in)
			if err == nil {
				t.Fatalf("ParseEnv(%q) = %#v, want an error", tt.in, m)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseEnv(%q) error %q does not say %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseFile(t *testing.T) {
	tests := []struct{ in, wantPath, wantRef string }{
		{"/run/secrets/db=prod/db:password", "/run/secrets/db", "prod/db:password"},
		{"/run//secrets/./x/../db=prod/db", "/run/secrets/db", "prod/db"},
		{"rel/path=prod/db", "rel/path", "prod/db"},
		{"./cert.pem=" + fullARN, "cert.pem", fullARN},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseFile(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := Mapping{Kind: File, Name: tt.wantPath, Ref: mustRef(t, tt.wantRef)}
			if m != want {
				t.Errorf("ParseFile(%q) = %#v, want %#v", tt.in, m, want)
			}
		})
	}
}

func TestParseFileRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "PATH=REF"},
		{"/tmp/x", "PATH=REF"},
		{"=prod/db", "PATH=REF"},
		{"/tmp/a\x00b=prod/db", "NUL"},
		{"/tmp/dir/=prod/db", "ends in /, which names a folder"},
		{"/=prod/db", "ends in /, which names a folder"},
		{"/.=prod/db", "ends in ., which names a folder"},
		{"/tmp/x/..=prod/db", "ends in .., which names a folder"},
		{"./.=prod/db", "ends in ., which names a folder"},
		{"/tmp/x=", "empty reference"},
		{"/tmp/x=prod db", "secret name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseFile(tt.in)
			if err == nil {
				t.Fatalf("ParseFile(%q) = %#v, want an error", tt.in, m)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseFile(%q) error %q does not say %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		name string
	}{
		{"DB=prod/db", Env, "DB"},
		{"DB=prod/db:password", Env, "DB"},
		{"/etc/x=prod/db", File, "/etc/x"},
		{"a/b=prod/db", File, "a/b"},
		{"./x=prod/db", File, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseLine(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tt.kind || m.Name != tt.name {
				t.Errorf("ParseLine(%q) = kind %v name %q, want kind %v name %q", tt.in, m.Kind, m.Name, tt.kind, tt.name)
			}
		})
	}
	for _, in := range []string{"x.pem=prod/db", "NAME", "BAD NAME=prod/db"} {
		if m, err := ParseLine(in); err == nil {
			t.Errorf("ParseLine(%q) = %#v, want an error", in, m)
		}
	}
}

func TestParseMappings(t *testing.T) {
	const text = "# the app's secrets\n" +
		"DB_USER=prod/db:user\n" +
		"\n" +
		"   # an indented comment\n" +
		"/run/secrets/db=prod/db:password\r\n" +
		"  TOKEN=" + fullARN + "\n" +
		"\t\n" +
		"LAST=prod/last" // no final newline
	ms, err := ParseMappings("app.map", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{Kind: Env, Name: "DB_USER", Ref: mustRef(t, "prod/db:user"), Source: "app.map:2 DB_USER=prod/db:user"},
		{Kind: File, Name: "/run/secrets/db", Ref: mustRef(t, "prod/db:password"), Source: "app.map:5 /run/secrets/db=prod/db:password"},
		{Kind: Env, Name: "TOKEN", Ref: mustRef(t, fullARN), Source: "app.map:6 TOKEN=" + fullARN},
		{Kind: Env, Name: "LAST", Ref: mustRef(t, "prod/last"), Source: "app.map:8 LAST=prod/last"},
	}
	if len(ms) != len(want) {
		t.Fatalf("ParseMappings gave %d mappings, want %d: %#v", len(ms), len(want), ms)
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("mapping %d = %#v, want %#v", i, ms[i], want[i])
		}
	}
}

// White space at the end of a line is kept: it belongs to the JSON key,
// and trimming it could turn a key of white space into no key, which reads
// the whole secret. A byte-order mark before the first line is dropped.
func TestParseMappingsKeepsTrailingSpace(t *testing.T) {
	const text = "\ufeffS=h/json: \r\nT=h/json:k\t\n"
	ms, err := ParseMappings("app.map", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Name != "S" || ms[0].Ref.JSONKey != " " || ms[1].Ref.JSONKey != "k\t" {
		t.Fatalf("ParseMappings = %#v, want S with key %q and T with key %q", ms, " ", "k\t")
	}
	if _, err := ParseMappings("app.map", strings.NewReader("A=prod/db  \n")); err == nil || !strings.Contains(err.Error(), "white space") {
		t.Errorf("a name with trailing white space: %v, want an error that says so", err)
	}
}

func TestParseMappingsReportsEveryBadLine(t *testing.T) {
	const text = "GOOD=prod/db\n" + // 1
		"1BAD=prod/db\n" + // 2
		"# fine\n" + // 3
		"NOEQUALS\n" + // 4
		"X=bad name\n" + // 5
		"/tmp/f=\n" + // 6
		"ALSO_GOOD=prod/other\n" + // 7
		"Y=arn:aws:secretsmanager:us-east-1:123:secret:x\n" // 8
	_, err := ParseMappings("bad.map", strings.NewReader(text))
	if err == nil {
		t.Fatal("ParseMappings accepted bad lines")
	}
	msg := err.Error()
	for _, line := range []int{2, 4, 5, 6, 8} {
		if !strings.Contains(msg, fmt.Sprintf("bad.map:%d ", line)) {
			t.Errorf("error does not report line %d:\n%s", line, msg)
		}
	}
	for _, line := range []int{1, 3, 7} {
		if strings.Contains(msg, fmt.Sprintf("bad.map:%d ", line)) {
			t.Errorf("error reports good line %d:\n%s", line, msg)
		}
	}
	if n := len(strings.Split(msg, "\n")); n != 5 {
		t.Errorf("error has %d lines, want one a bad line (5):\n%s", n, msg)
	}
}

func TestParseMappingsEmpty(t *testing.T) {
	ms, err := ParseMappings("empty.map", strings.NewReader("\n# only comments\n\n"))
	if err != nil || len(ms) != 0 {
		t.Errorf("ParseMappings = %v, %v; want nothing", ms, err)
	}
}

func TestParseMappingsReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := ParseMappings("broken.map", iotest.ErrReader(boom))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken.map") {
		t.Errorf("ParseMappings error = %v, want the read error, naming the file", err)
	}
	long := "A=" + strings.Repeat("a", 1<<17) + "\n"
	if _, err := ParseMappings("long.map", strings.NewReader(long)); err == nil || !strings.Contains(err.Error(), "long.map") {
		t.Errorf("ParseMappings of an over-long line = %v, want an error naming the file", err)
	}
}

func TestCheckDuplicates(t *testing.T) {
	env := func(name, src string) Mapping { return Mapping{Kind: Env, Name: name, Source: src} }
	file := func(name, src string) Mapping { return Mapping{Kind: File, Name: name, Source: src} }
	tests := []struct {
		name string
		ms   []Mapping
		want []string // pieces of the error, one a duplicate; none means no error
	}{
		{"none", nil, nil},
		{"distinct", []Mapping{env("A", "-e 1"), env("B", "-e 2"), file("/a", "-f 1"), file("/b", "-f 2")}, nil},
		{"env and file of the same name", []Mapping{env("A", "-e A"), file("A", "-f A")}, nil},
		{"env names differ in case", []Mapping{env("A", "-e a"), env("a", "-e b")}, nil},
		{"env twice", []Mapping{env("A", "-e first"), env("B", "-e other"), env("A", "-e second")},
			[]string{"-e second: target A is already set by -e first"}},
		{"file twice", []Mapping{file("/run/x", "-f first"), file("/run/x", "-s second")},
			[]string{"-s second: target /run/x is already set by -f first"}},
		{"three of one and two of another", []Mapping{
			env("A", "a1"), env("A", "a2"), file("/f", "f1"), env("A", "a3"), file("/f", "f2"),
		}, []string{"a2: target A is already set by a1", "a3: target A is already set by a1", "f2: target /f is already set by f1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDuplicates(tt.ms)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("CheckDuplicates = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckDuplicates = nil, want an error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("error has %d lines, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%s", w, err)
				}
			}
		})
	}
}

func TestCheckDuplicatesAfterParse(t *testing.T) {
	a, err := ParseFile("/run/secrets/db=prod/db")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseFile("/run/secrets/./x/../db=prod/other")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDuplicates([]Mapping{a, b}); err == nil {
		t.Error("two spellings of one path were not found to be the same target")
	}
}

// flyteFile is the file mapping of the Flyte layout under dir for r, as
// --secret makes it.
func flyteFile(dir string, r ref.Ref) (Mapping, error) {
	return FlyteLayout{Dir: dir}.File(r.Group(), r.Key(), r)
}

func TestFlyte(t *testing.T) {
	const dir = "/etc/flyte/secrets"
	tests := []struct{ ref, want string }{
		{fullARN, dir + "/arn:aws:secretsmanager:us-east-1:123456789012:secret:/db-abcdef"},
		{fullARN + ":password::", dir + "/arn:aws:secretsmanager:us-east-1:123456789012:secret:/db-abcdef"},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:Team/DB", dir + "/arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:/team/db"},
		{"Prod/DB", dir + "/prod/db"},
		{"prod/db:password", dir + "/prod/db"},
		{"API_KEY", dir + "/api_key"},
		// '..' that stays inside the dir is harmless.
		{"a/../b", dir + "/b"},
		{"a..b", dir + "/a..b"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r := mustRef(t, tt.ref)
			m, err := flyteFile(dir, r)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != File || m.Name != tt.want || m.Ref != r {
				t.Errorf("Flyte = %#v, want a file mapping to %s of the ref", m, tt.want)
			}
		})
	}
}

func TestFlyteRefusesEscape(t *testing.T) {
	const dir = "/etc/flyte/secrets"
	for _, in := range []string{
		"../../etc/passwd",
		"..",
		"a/../../b",
		"/etc/passwd",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:../../x",
	} {
		t.Run(in, func(t *testing.T) {
			m, err := flyteFile(dir, mustRef(t, in))
			if err == nil {
				t.Fatalf("Flyte = %#v, want an error: the file would leave %s", m, dir)
			}
			if !strings.Contains(err.Error(), "secrets dir") {
				t.Errorf("error %q does not say why", err)
			}
			if m.Name != "" {
				t.Errorf("Flyte returned a mapping to %q with its error", m.Name)
			}
		})
	}
}

// A name that cleans to "." ("." itself, "a/..", or an ARN whose name field
// is "..") would map to the secrets dir itself, where flytekit never looks;
// filepath.IsLocal accepts ".", so Flyte refuses it on its own.
func TestFlyteRefusesTheDirItself(t *testing.T) {
	const dir = "/etc/flyte/secrets"
	for _, in := range []string{
		".",
		"a/..",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:..",
	} {
		t.Run(in, func(t *testing.T) {
			m, err := flyteFile(dir, mustRef(t, in))
			if err == nil {
				t.Errorf("Flyte = file %q, want an error: the name names no file in %s", m.Name, dir)
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"DB=prod/db", "/run/x=prod/db:password::", "./a/../b=" + fullARN, "NAME", "=", "1A=x", "/a\x00b=x", "A=B=C", "A/=x:y:z:w",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseLine(s)
		if err != nil {
			return
		}
		target, refText, ok := strings.Cut(s, "=")
		if !ok {
			t.Fatalf("ParseLine(%q) accepted a line without '='", s)
		}
		if m.Ref.String() != refText {
			t.Fatalf("ParseLine(%q).Ref = %q, want %q", s, m.Ref.String(), refText)
		}
		switch m.Kind {
		case Env:
			if !envNameRE.MatchString(m.Name) || m.Name != target {
				t.Fatalf("ParseLine(%q) gave env name %q", s, m.Name)
			}
		case File:
			if m.Name != filepath.Clean(target) || strings.ContainsRune(m.Name, 0) || !strings.Contains(target, "/") {
				t.Fatalf("ParseLine(%q) gave file path %q", s, m.Name)
			}
		default:
			t.Fatalf("ParseLine(%q) gave kind %v", s, m.Kind)
		}
	})
}

func FuzzParseMappings(f *testing.F) {
	f.Add("# c\nA=prod/db\n\n/x=prod/db:k\nbad line\n")
	f.Add("A=b\r\nB=c")
	f.Add("  DB=prod/db:password::  \n\t# note\n./cert.pem=" + fullARN + "\nrel/dir/=x\n")
	f.Add("A=x\nA=y\n/a/../b=z\n/b=z\n1A=x\n=x\nA\n")
	f.Add("./=x\n/=x\n../=x\n.=x\n")
	f.Fuzz(func(t *testing.T, text string) {
		ms, err := ParseMappings("f", strings.NewReader(text))
		lines := strings.Split(text, "\n")
		for _, m := range ms {
			// The source names the file, the line number and the line as
			// written, and that line parses to this mapping.
			num, line, ok := strings.Cut(strings.TrimPrefix(m.Source, "f:"), " ")
			n, nerr := strconv.Atoi(num)
			if !strings.HasPrefix(m.Source, "f:") || !ok || nerr != nil || n < 1 || n > len(lines) {
				t.Fatalf("mapping source %q does not name a line of the file", m.Source)
			}
			// A long line is quoted shortened, with … after it.
			full := TrimLine(lines[n-1])
			short := len(full) > maxSourceText && strings.HasSuffix(line, "…") && strings.HasPrefix(full, strings.TrimSuffix(line, "…"))
			if full != line && !short {
				t.Fatalf("mapping source %q, but line %d is %q", m.Source, n, lines[n-1])
			}
			again, err := ParseLine(full)
			again.Source = m.Source
			if err != nil || !sameMapping(again, m) {
				t.Fatalf("line %q gave %#v, but alone it gives %#v, %v", line, m, again, err)
			}
		}
		var errLines []string
		if err != nil {
			errLines = strings.Split(err.Error(), "\n")
			for _, line := range errLines {
				if !strings.HasPrefix(line, "f:") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			if strings.Contains(err.Error(), bufio.ErrTooLong.Error()) {
				return // the scanner stopped: the lines after it were never read
			}
		}
		// Every line that is not blank or a comment gave a mapping or an
		// error: none is dropped, none counted twice.
		want := 0
		for _, l := range lines {
			if l = TrimLine(l); l != "" && !strings.HasPrefix(l, "#") {
				want++
			}
		}
		if len(ms)+len(errLines) != want {
			t.Fatalf("%d mappings and %d errors from %d mapping lines:\n%v", len(ms), len(errLines), want, err)
		}
	})
}

func TestParseMappingsLongLineHasLineNumber(t *testing.T) {
	long := "B=" + strings.Repeat("x", 70000)
	_, err := ParseMappings("app.mappings", strings.NewReader("A=db\n"+long+"\n"))
	if err == nil {
		t.Fatal("a 70 KB REF was accepted")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "app.mappings:2 B=xxx") || strings.Contains(msg, "token too long") || len(msg) > 1000 {
		t.Fatalf("error %.300q: want it to name app.mappings:2, shortened", msg)
	}
}

func TestParseLineFlags(t *testing.T) {
	tests := []struct {
		line string
		kind Kind
		name string
		err  string
	}{
		{"--env-path KUBECONFIG=prod/kube", EnvPath, "KUBECONFIG", ""},
		{"--env-path   KUBECONFIG=prod/kube", EnvPath, "KUBECONFIG", ""},
		{"--env A=prod/a", Env, "A", ""},
		{"--file /run/a=prod/a", File, "/run/a", ""},
		{"--mask A=prod/a", 0, "", "--mask is not a mapping flag"},
		{"--env-path 1A=prod/a", 0, "", "not a valid name"},
		{"--odd/path name=prod/a", File, "--odd/path name", ""},
		{"./--env x/y=prod/a", File, "--env x/y", ""},
	}
	for _, tt := range tests {
		m, err := ParseLine(tt.line)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseLine(%q) error = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || m.Kind != tt.kind || m.Name != tt.name {
			t.Errorf("ParseLine(%q) = %v %q, %v; want %v %q", tt.line, m.Kind, m.Name, err, tt.kind, tt.name)
		}
	}
}

func TestCheckDuplicatesSharesEnvNames(t *testing.T) {
	a, _ := ParseEnv("KUBECONFIG=prod/a")
	b, _ := ParseEnvPath("KUBECONFIG=prod/b")
	a.Source, b.Source = "first", "second"
	if err := CheckDuplicates([]Mapping{a, b}); err == nil || !strings.Contains(err.Error(), "already set by first") {
		t.Errorf("CheckDuplicates(-e and --env-path of one name) = %v, want a duplicate", err)
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		name, text string
		values     []string // one for each REF
		want       string   // the value, or a piece of the error
		refs       int
		err        bool
	}{
		{"url", "postgres://{{ urlencode prod/db:username }}:{{urlencode prod/db:password}}@{{ prod/db:host }}:5432/app", []string{"a b", "p@ss/w:rd%", "h"}, "postgres://a%20b:p%40ss%2Fw%3Ard%25@h:5432/app", 3, false},
		{"functions right to left", `{{ json base64 a }}`, []string{"\x00"}, `"AA=="`, 1, false},
		{"json escapes", `{"p": {{ json a:k }}}`, []string{"q\"\n"}, `{"p": "q\"\n"}`, 1, false},
		{"quoted literal", `{{ "{{" }}x{{ a }}}}`, []string{"v"}, "{{xv}}", 1, false},
		{"a lone }} is text", `}}{{a}}`, []string{"v"}, "}}v", 1, false},
		{"a secret named like a function", `{{ urlencode }}`, []string{"v w"}, "v w", 1, false},
		{"unclosed", `x{{ a`, nil, "{{ at byte 1 has no }}", 0, true},
		{"no REF", `plain`, nil, "holds no {{ REF }}", 0, true},
		{"function without REF", `{{ urlencode  }}`, nil, "", 1, false},
		{"empty", `{{ }}`, nil, "no REF", 0, true},
		{"bad REF", `{{ a:b:c:d:e }}`, nil, "template: {{ a:b:c:d:e }}", 0, true},
		{"bad literal", `{{ "x }}`, nil, "quoted literal", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := ParseTemplate(tt.text)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ParseTemplate(%q) = %v, want an error with %q", tt.text, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.text, err)
			}
			if n := len(tm.Refs()); n != tt.refs {
				t.Fatalf("%d REFs, want %d", n, tt.refs)
			}
			if tt.values == nil {
				return
			}
			vals := make([][]byte, len(tt.values))
			for i, v := range tt.values {
				vals[i] = []byte(v)
			}
			if got := string(tm.Render(vals)); got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTemplateMapping(t *testing.T) {
	m, err := ParseTemplateMapping("URL=x{{ a:b }}y=z")
	if err != nil || m.Kind != Env || m.Name != "URL" || m.Template.String() != "x{{ a:b }}y=z" {
		t.Fatalf("ParseTemplateMapping = %+v, %v", m, err)
	}
	m, err = ParseTemplateMapping("./conf/../app.ini={{ a }}")
	if err != nil || m.Kind != File || m.Name != "app.ini" {
		t.Fatalf("ParseTemplateMapping(file) = %+v, %v", m, err)
	}
	back, err := ParseLine("--template ./conf/../app.ini={{ a }}")
	if err != nil || back.Kind != File || back.Name != "app.ini" || back.Template == nil {
		t.Fatalf("ParseLine(--template) = %+v, %v; want the file template", back, err)
	}
	if _, err := ParseTemplateMapping("1X={{ a }}"); err == nil {
		t.Error("ParseTemplateMapping accepted a bad env name")
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"x{{ a }}y", `{{ "{{" }}`, "{{ urlencode json a:b::AWSCURRENT }}", "{{", "}}{{}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTemplate(s)
		if err != nil {
			return
		}
		vals := make([][]byte, len(tm.Refs()))
		for i := range vals {
			vals[i] = []byte("v")
		}
		tm.Render(vals)
		if tm.String() != s {
			t.Fatalf("String() = %q, want %q", tm.String(), s)
		}
	})
}

func TestEnvFromName(t *testing.T) {
	tests := []struct {
		prefix, key, want, err string
	}{
		{"", "password", "password", ""},
		{"DB_", "password", "DB_password", ""},
		{"", "db-host", "", "not a valid name"},
		{"", "1x", "", "not a valid name"},
		{"", "LD_PRELOAD", "", "changes what code the command runs"},
		{"LD_", "PRELOAD", "", "changes what code the command runs"},
		{"", "PATH", "", "changes what code"},
		{"", "NODE_OPTIONS", "", "changes what code"},
		{"", "SMEXEC_ENV", "", "changes what code"},
		{"", "DYLD_INSERT_LIBRARIES", "", "changes what code"},
		{"DB_", "PATH", "DB_PATH", ""},
	}
	for _, tt := range tests {
		got, err := EnvFromName(tt.prefix, tt.key)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("EnvFromName(%q, %q) = %q, %v; want an error with %q", tt.prefix, tt.key, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("EnvFromName(%q, %q) = %q, %v; want %q", tt.prefix, tt.key, got, err, tt.want)
		}
	}
}

// sameMapping compares mappings, a template by its text.
func sameMapping(a, b Mapping) bool {
	at, bt := a.Template, b.Template
	a.Template, b.Template = nil, nil
	if (at == nil) != (bt == nil) || at != nil && at.String() != bt.String() {
		return false
	}
	return a == b
}
