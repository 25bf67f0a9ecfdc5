package resolve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func str(s string) *Secret { return &Secret{String: &s} }

func bin(b []byte) *Secret { return &Secret{Binary: b} }

// doc is a secret's JSON text that the table below reads fields of.
const doc = `{
	"user": "admin",
	"password": "p@ss\"w0rd\n\u00e9\ud83d\ude00\/",
	"empty": "",
	"port": 5432,
	"big": 12345678901234567890,
	"float": 1.5e10,
	"negzero": -0.0,
	"precise": 0.1000000000000000055511151231257827,
	"million": 1234567,
	"on": true,
	"off": false,
	"nothing": null,
	"obj": {"a": 1, "b": [true, null]},
	"list": [1, "two", {"three": 3}],
	"db": {"primary": {"host": "db1.internal", "port": 5432}},
	"hosts": ["h0", "h1"],
	"a:b": "colon"
}`

func TestRenderValues(t *testing.T) {
	tests := []struct {
		name   string
		secret *Secret
		key    string
		want   string
	}{
		{"string, no key, byte for byte", str("  line1\r\nline2\n\t\x00\xff "), "", "  line1\r\nline2\n\t\x00\xff "},
		{"JSON string, no key, not parsed", str(doc), "", doc},
		{"empty string, no key", str(""), "", ""},
		{"binary, no key", bin([]byte{0, 1, 2, 0xff, '\n'}), "", "\x00\x01\x02\xff\n"},
		{"string field", str(doc), "user", "admin"},
		{"string field unescaped", str(doc), "password", "p@ss\"w0rd\n\u00e9\U0001F600/"},
		{"empty string field", str(doc), "empty", ""},
		{"integer as written", str(doc), "port", "5432"},
		{"integer that a float64 would round, as written", str(doc), "big", "12345678901234567890"},
		{"exponent as written", str(doc), "float", "1.5e10"},
		{"negative zero as written", str(doc), "negzero", "-0.0"},
		{"long fraction as written", str(doc), "precise", "0.1000000000000000055511151231257827"},
		{"million not in e notation", str(doc), "million", "1234567"},
		{"true", str(doc), "on", "true"},
		{"false", str(doc), "off", "false"},
		{"object as its JSON text", str(doc), "obj", `{"a": 1, "b": [true, null]}`},
		{"array as its JSON text", str(doc), "list", `[1, "two", {"three": 3}]`},
		{"nested path", str(doc), "db.primary.host", "db1.internal"},
		{"nested number", str(doc), "db.primary.port", "5432"},
		{"array index", str(doc), "hosts.0", "h0"},
		{"second array index", str(doc), "hosts.1", "h1"},
		{"key holding a colon", str(doc), "a:b", "colon"},
		{"top-level array index", str(`["x","y"]`), "1", "y"},
		{"compact object", str(`{"k":"v"}`), "k", "v"},
		// A key that names a top-level member means that member, as ECS
		// reads it: dots, wildcards, modifiers and spaces are literal.
		{"dotted top-level key", str(`{"a.b":"dotted"}`), "a.b", "dotted"},
		{"spring-style dotted key", str(`{"spring.datasource.password":"p"}`), "spring.datasource.password", "p"},
		{"literal member before a nested path", str(`{"db.password":"LITERAL","db":{"password":"NESTED"}}`), "db.password", "LITERAL"},
		{"literal member after a nested path", str(`{"db":{"password":"NESTED"},"db.password":"LITERAL"}`), "db.password", "LITERAL"},
		{"wildcard is literal", str(`{"key1":"k1","key*":"star"}`), "key*", "star"},
		{"question mark is literal", str(`{"key1":"k1","key?":"q"}`), "key?", "q"},
		{"modifier name is literal", str(`{"@keys":"at"}`), "@keys", "at"},
		{"pipe is literal", str(`{"a":{"b":1},"a|b":"pipe"}`), "a|b", "pipe"},
		{"hash is literal", str(`{"#":"hash","a":[1]}`), "#", "hash"},
		{"query is literal", str(`{"a":[{"b":1}],"a.#(b==1)":"q"}`), "a.#(b==1)", "q"},
		{"backslash is literal", str(`{"a\\.b":"bs","a":{"b":"nested"}}`), `a\.b`, "bs"},
		{"escaped key is compared unescaped", str(`{"caf\u00e9":"e"}`), "café", "e"},
		{"space key", str(`{" ":"space","":"empty"}`), " ", "space"},
		{"last duplicate wins", str(`{"a":"first","a":"second"}`), "a", "second"},
		{"last duplicate wins in a nested object", str(`{"db":{"p":"first","p":"second"}}`), "db.p", "second"},
		{"nested path when no member matches", str(`{"db":{"primary":{"host":"h"}}}`), "db.primary.host", "h"},
		{"nested number literal", str(`{"db":{"port":1.50}}`), "db.port", "1.50"},
		{"array index in a path", str(`{"hosts":["h0","h1"]}`), "hosts.1", "h1"},
		{"empty member name in a path", str(`{"a":{"":{"b":"e"}}}`), "a..b", "e"},
		{"nested array index", str(`[["a","b"],["c"]]`), "0.1", "b"},
		{"deep but within the limit", str(strings.Repeat("[", 5000) + `"x"` + strings.Repeat("]", 5000)), strings.TrimSuffix(strings.Repeat("0.", 5000), "."), "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.secret, tt.key)
			if err != nil {
				t.Fatalf("Render(key %q): %v", tt.key, err)
			}
			if !bytes.Equal(got, []byte(tt.want)) {
				t.Errorf("Render(key %q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret *Secret
		key    string
		// want is a piece of the error that says what is wrong.
		want string
	}{
		{"null field", str(doc), "nothing", "null"},
		{"missing key", str(doc), "nosuchkey", "not found"},
		{"missing nested key", str(doc), "db.primary.user", "not found"},
		{"index past the end", str(doc), "hosts.2", "not found"},
		{"key into a scalar", str(doc), "user.name", "not found"},
		{"key on a JSON string value", str(`"just a string"`), "k", "not found"},
		{"invalid JSON", str(`hunter2-not-json`), "password", "not valid JSON"},
		{"truncated JSON", str(`{"password": "hunter2-sekrit"`), "password", "not valid JSON"},
		{"JSON with trailing garbage", str(`{"password": "hunter2-sekrit"} trailing`), "password", "not valid JSON"},
		{"empty string with key", str(""), "password", "not valid JSON"},
		{"wildcard does not match another key", str(`{"key1":"k1"}`), "key*", "not found"},
		{"question mark does not match another key", str(`{"key1":"k1"}`), "key?", "not found"},
		{"modifier does not run", str(`{"a":"b"}`), "@keys", "not found"},
		{"modifier after a path does not run", str(`{"a":{"b":"c"}}`), "a|@reverse", "not found"},
		{"count does not run", str(`{"a":[1,2]}`), "a.#", "not found"},
		{"query does not run", str(`{"a":[{"b":"x","c":"hunter2"}]}`), "a.#(b==x).c", "not found"},
		{"escape is not a path escape", str(`{"a.b":"dotted"}`), `a\.b`, "not found"},
		{"space is not trimmed", str(`{"password":"hunter2"}`), " password", "not found"},
		{"empty segment names no member", str(`{"a":{"b":"hunter2"}}`), "a..b", "not found"},
		{"index with a sign", str(`{"a":["hunter2"]}`), "a.+0", "not found"},
		{"index with a leading zero", str(`{"a":["x","hunter2"]}`), "a.01", "not found"},
		{"negative index", str(`{"a":["hunter2"]}`), "a.-1", "not found"},
		{"index past the end of a nested array", str(`{"a":["hunter2"]}`), "a.1", "not found"},
		{"member of an array", str(`{"a":["hunter2"]}`), "a.b", "not found"},
		{"too deep", str(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), "0", "deeper than"},
		{"10 MB of open brackets", str(strings.Repeat("[", 10<<20)), "a", "deeper than"},
		{"binary with key", bin([]byte(`{"password": "hunter2-sekrit"}`)), "password", "binary"},
		{"empty binary with key", bin(nil), "k", "binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.secret, tt.key)
			if err == nil {
				t.Fatalf("Render(key %q) = %q, want an error", tt.key, got)
			}
			if got != nil {
				t.Errorf("Render returned %q with its error", got)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not mention %q", msg, tt.want)
			}
			for _, secret := range []string{"hunter2", "sekrit", "admin", "p@ss", "db1.internal", "just a string"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q holds secret text %q", msg, secret)
				}
			}
		})
	}
}

// A secret whose invalid JSON is in the key must still not end up in the
// error through the value.
func TestFieldErrorQuotesOnlyTheKey(t *testing.T) {
	const value = "not json at all: s3cr3t-v4lue"
	_, err := Field(value, "password")
	if err == nil {
		t.Fatal("Field accepted invalid JSON")
	}
	if !strings.Contains(err.Error(), strconv.Quote("password")) {
		t.Errorf("error %q does not name the key", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q holds the value", err)
	}
}

func FuzzField(f *testing.F) {
	f.Add(doc, "password")
	f.Add(doc, "db.primary.host")
	f.Add(doc, "hosts.0")
	f.Add(doc, "nothing")
	f.Add(doc, "big")
	f.Add(`{"a":"secret-value"}`, "b")
	f.Add(`{"a":"secret-value"`, "a")
	f.Add(`not json s3cr3t`, "a")
	f.Add(`[1,2,3]`, "#")
	f.Add(`{"a":{"b":"c"}}`, "a|@reverse")
	f.Add(`{"a":"\ud800"}`, "a")
	f.Fuzz(func(t *testing.T, text, key string) {
		// Render never panics, with either kind of secret.
		whole, err := Render(str(text), "")
		if err != nil || string(whole) != text {
			t.Fatalf("Render without key = %q, %v; want the text back", whole, err)
		}
		if out, err := Render(bin([]byte(text)), key); key != "" && err == nil {
			t.Fatalf("Render of a binary secret with key %q = %q, want an error", key, out)
		}
		if key == "" {
			return
		}
		out, err := Render(str(text), key)
		if err == nil {
			return
		}
		if out != nil {
			t.Fatalf("Render(key %q) returned %q with error %v", key, out, err)
		}
		if leaks(err.Error(), text, key) {
			t.Fatalf("error %q holds the secret text %q", err, text)
		}
	})
}

// leaks reports whether msg holds the secret text other than where the
// key, which the user wrote, is quoted. Text made only of letters, spaces
// and a little punctuation could be a word of the message itself, so only
// text of four bytes or more that holds some other byte counts.
func leaks(msg, text, key string) bool {
	if len(text) < 4 || strings.Trim(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ;:,.'()-") == "" {
		return false
	}
	msg = strings.ReplaceAll(msg, strconv.Quote(key), "")
	msg = strings.ReplaceAll(msg, key, "")
	return strings.Contains(msg, text)
}

// plainKey is a JSON key that is also a gjson path to itself, as the keys
// of ECS valueFrom references are.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// FuzzRender builds a JSON secret around fuzzed values, the way a secret
// written by a JSON encoder holds them, and checks that Render gives each
// value back exactly: a string field as its text, a number as the literal
// written, an object as its JSON text, and the whole secret byte for byte.
func FuzzRender(f *testing.F) {
	f.Add("password", "p@ss\"w0rd\n\u00e9\U0001F600/", int64(5432), 1.5e10)
	f.Add("user", "", int64(-1), 0.1)
	f.Add("0", "<script>&amp;</script>", int64(1)<<62, math.Copysign(0, -1))
	f.Add("a-b_c", "\x00\x01\t\\u0000", int64(0), 1e-300)
	f.Add("k", "\u2028\u2029\ufeff", int64(-9223372036854775808), 123456789.0)
	f.Fuzz(func(t *testing.T, key, value string, n int64, x float64) {
		if !plainKey.MatchString(key) || !utf8.ValidString(value) || math.IsInf(x, 0) || math.IsNaN(x) {
			return
		}
		intLit := strconv.FormatInt(n, 10)
		floatLit := strconv.FormatFloat(x, 'g', -1, 64)
		inner, err := json.Marshal(map[string]string{key: value})
		if err != nil {
			t.Fatal(err)
		}
		quoted, _ := json.Marshal(value)
		text := fmt.Sprintf(`{"obj": %s, "list": [%s, %s], "int": %s, "float": %s}`, inner, inner, quoted, intLit, floatLit)
		if !json.Valid([]byte(text)) {
			t.Fatalf("built invalid JSON %q", text)
		}
		s := str(text)
		for _, c := range []struct{ key, want string }{
			{"", text},
			{"obj." + key, value},
			{"list.0." + key, value},
			{"list.1", value},
			{"obj", string(inner)},
			{"int", intLit},
			{"float", floatLit},
		} {
			got, err := Render(s, c.key)
			if err != nil || string(got) != c.want {
				t.Fatalf("Render(%q, %q) = %q, %v; want %q", text, c.key, got, err, c.want)
			}
		}
		// A key that is not there is an error that does not quote the value.
		if _, err := Render(s, "obj."+key+"-missing"); err == nil || leaks(err.Error(), value, "obj."+key+"-missing") {
			t.Fatalf("Render of a missing key: %v", err)
		}
	})
}

// FuzzFieldDeepWide feeds Field nesting as deep and arrays and objects as
// wide as the fuzzer likes, balanced or cut short: it must answer with
// the field or an error, never overflow the stack or panic, and a path
// that reaches the innermost value must find it while the nesting is
// within the limit.
func FuzzFieldDeepWide(f *testing.F) {
	f.Add(uint16(1), uint16(1), true, true, "x")
	f.Add(uint16(maxDepth), uint16(0), false, true, "")
	f.Add(uint16(maxDepth+1), uint16(3), true, true, "k")
	f.Add(uint16(40000), uint16(2), false, false, "[")
	f.Add(uint16(3), uint16(5000), true, false, "a.b")
	f.Fuzz(func(t *testing.T, depth, width uint16, objects, closed bool, leaf string) {
		open, step := "[", "0"
		if objects {
			open, step = `{"k":`, "k"
		}
		var b strings.Builder
		b.WriteString(strings.Repeat(open, int(depth)))
		// A wide array at the bottom, its last element the leaf.
		b.WriteString("[")
		for i := 0; i < int(width); i++ {
			b.WriteString(`{"k":1,"k":[2]},`)
		}
		leafJSON, _ := json.Marshal(leaf)
		b.Write(leafJSON)
		b.WriteString("]")
		if closed {
			closer := "]"
			if objects {
				closer = "}"
			}
			b.WriteString(strings.Repeat(closer, int(depth)))
		}
		text := b.String()
		key := strings.TrimPrefix(strings.Repeat("."+step, int(depth))+"."+strconv.Itoa(int(width)), ".")
		got, err := Field(text, key)
		switch {
		case int(depth)+1 > maxDepth:
			if err == nil || !strings.Contains(err.Error(), "deeper than") {
				t.Fatalf("depth %d: got %q, %v; want a depth error", depth+1, got, err)
			}
		case !closed && depth > 0:
			if err == nil {
				t.Fatalf("unclosed JSON: got %q, want an error", got)
			}
		case err != nil || string(got) != leaf && utf8.ValidString(leaf):
			t.Fatalf("depth %d width %d: got %q, %v; want %q", depth, width, got, err, leaf)
		}
	})
}

// FuzzFieldMatchesECS checks Field against Go's encoding/json, which the
// ECS agent decodes a secret with: a key that names a top-level member
// gives that member (the last of duplicates), a string as its text.
func FuzzFieldMatchesECS(f *testing.F) {
	f.Add(`{"a":"first","a":"second"}`, "a")
	f.Add(`{"key1":"k1","key*":"star"}`, "key*")
	f.Add(`{"db.password":"LITERAL","db":{"password":"NESTED"}}`, "db.password")
	f.Add(`{"@keys":"x","a\u0040b":"esc"}`, "a@b")
	f.Add(`{" ":"space","k":1.50}`, "k")
	f.Fuzz(func(t *testing.T, text, key string) {
		if key == "" || !utf8.ValidString(text) || !json.Valid([]byte(text)) || depth(text) > maxDepth {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(text), &m) != nil || m == nil {
			return
		}
		raw, ok := m[key]
		if !ok {
			return
		}
		got, err := Field(text, key)
		var want []byte
		switch {
		case string(raw) == "null":
			if err == nil {
				t.Fatalf("Field(%q, %q) = %q, want an error for null", text, key, got)
			}
			return
		case raw[0] == '"':
			var s string
			if json.Unmarshal(raw, &s) != nil {
				t.Fatal("encoding/json could not decode its own string")
			}
			want = []byte(s)
		default:
			want = raw
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Field(%q, %q) = %q, %v; encoding/json gives %q", text, key, got, err, want)
		}
	})
}
