package local

import (
	"context"
	"strings"
	"testing"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/resolve"
)

const paramSample = `{
  "prod/db": {"password": "from-the-secret"},
  "ssm:/app/plain": "plain value",
  "ssm:/app/hosts": {"type": "StringList", "value": "a,b,c"},
  "ssm:/app/key": {"type": "SecureString", "versions": [
    {"value": "one", "labels": ["old"]},
    {"value": "two"}
  ]},
  "ssm:flat": "flat value"
}`

func TestParameters(t *testing.T) {
	f, err := load(t, paramSample)
	if err != nil {
		t.Fatal(err)
	}
	r := &resolve.Resolver{Clients: f, NoBatch: true}
	tests := []struct{ ref, want, version, typ string }{
		{"ssm:/app/plain", "plain value", "1", "String"},
		{"ssm:/app/hosts", "a,b,c", "1", "StringList"},
		{"ssm:/app/key", "two", "2", "SecureString"},
		{"ssm:/app/key:1", "one", "1", "SecureString"},
		{"ssm:/app/key:old", "one", "1", "SecureString"},
		{"ssm:flat", "flat value", "1", "String"},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/app/key:2", "two", "2", "SecureString"},
		{"ssm:/aws/reference/secretsmanager/prod/db", `{"password":"from-the-secret"}`, "0", "SecureString"},
	}
	var in []string
	for _, tt := range tests {
		in = append(in, tt.ref)
	}
	got := r.Fetch(context.Background(), refsOf(t, in...))
	for i, tt := range tests {
		res := got[i]
		if res.Err != nil {
			t.Errorf("%s: %v", tt.ref, res.Err)
			continue
		}
		if *res.Secret.String != tt.want || res.Secret.VersionID != tt.version || res.Secret.Type != tt.typ {
			t.Errorf("%s = %q version %s type %s, want %q %s %s", tt.ref, *res.Secret.String, res.Secret.VersionID, res.Secret.Type, tt.want, tt.version, tt.typ)
		}
	}
}

func TestParameterMisses(t *testing.T) {
	f, err := load(t, paramSample)
	if err != nil {
		t.Fatal(err)
	}
	r := &resolve.Resolver{Clients: f, NoBatch: true}
	got := r.Fetch(context.Background(), refsOf(t, "ssm:/app/nope", "ssm:/app/key:3", "ssm:/app/key:blue"))
	for i, want := range []string{"parameter /app/nope: not in ", "parameter /app/key: no version or label 3 in ", "parameter /app/key: no version or label blue in "} {
		if got[i].Err == nil || !strings.HasPrefix(got[i].Err.Error(), want) {
			t.Errorf("result %d: %v, want %q…", i, got[i].Err, want)
		}
		if resolve.Hint(got[i].Err) == "" {
			t.Errorf("result %d has no hint", i)
		}
	}
	if h := resolve.Hint(got[0].Err); !strings.Contains(h, `"ssm:/app/nope"`) {
		t.Errorf("hint %q does not say which key to add", h)
	}
}

func TestBadParameters(t *testing.T) {
	for _, tt := range []struct{ file, want string }{
		{`{"ssm:/a": 5}`, `want a string`},
		{`{"ssm:/a": {"value": 5}}`, `must be a string`},
		{`{"ssm:/a": {"value": "x", "type": "Number"}}`, `"type" must be`},
		{`{"ssm:/a": {"value": "x", "versions": [{"value": "y"}]}}`, `not both`},
		{`{"ssm:/a": {"versions": []}}`, `non-empty`},
		{`{"ssm:/a": {"versions": [{"value": "x", "labels": ["l"]}, {"value": "y", "labels": ["l"]}]}}`, `two versions`},
		{`{"ssm:/a": {"versions": [{"value": "x", "labels": ["9x"]}]}}`, `not a label`},
		{`{"ssm:/a": {"value": "x", "labels": ["l"]}}`, `unknown key`},
		{`{"ssm:/a:1": "x"}`, `without a version`},
		{`{"ssm:a/b": "x"}`, `start with it`},
		{`{"ssm:/aws/reference/secretsmanager/db": "x"}`, `not stored`},
		{`{"ssm:/a": "` + strings.Repeat("x", 8193) + `"}`, `8193 bytes`},
	} {
		_, err := load(t, tt.file)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.60s: %v, want %q", tt.file, err, tt.want)
		}
	}
}

func refsOf(t *testing.T, ss ...string) []ref.Ref {
	t.Helper()
	var rs []ref.Ref
	for _, s := range ss {
		rs = append(rs, mustRef(t, s))
	}
	return rs
}
