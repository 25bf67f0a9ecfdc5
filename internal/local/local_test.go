package local

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/resolve"
)

const idPrev = "11111111-2222-3333-4444-555555555555"

const sample = `{
  "plain": "a string",
  "db": {"user": "app", "pass": "SENTINEL-PW",  "port": 5432},
  "cert": {"binary": "AAEC/w=="},
  "list": ["a", 1],
  "looks": {"value": {"value": "inner", "versions": 1}},
  "rotated": {
    "value": "current-value",
    "id": "cccccccc-cccc-cccc-cccc-cccccccccccc",
    "versions": [
      {"id": "` + idPrev + `", "stages": ["AWSPREVIOUS"], "value": {"k": "old"}},
      {"stages": ["canary", "blue"], "binary": "/w=="},
      {"value": "no stage"}
    ]
  },
  "onlyversions": {"versions": [{"stages": ["AWSCURRENT"], "value": "cur"}]},
  "nocurrent": {"versions": [{"stages": ["AWSPENDING"], "value": "pending"}]},
  "prod/db-AbCdEf": "named with a suffix"
}`

func load(t *testing.T, text string) (*File, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

func get(f *File, id, stage, vid string) (*sm.GetSecretValueOutput, error) {
	in := &sm.GetSecretValueInput{SecretId: aws.String(id)}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	return f.GetSecretValue(context.Background(), in)
}

func TestValues(t *testing.T) {
	f, err := load(t, sample)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, stage, vid string
		str                  string
		bin                  string
		stages               string
		arn                  string
	}{
		{"a string", "plain", "", "", "a string", "", "AWSCURRENT", "local:plain"},
		{"an object, compacted", "db", "", "", `{"user":"app","pass":"SENTINEL-PW","port":5432}`, "", "AWSCURRENT", "local:db"},
		{"binary", "cert", "", "", "", "\x00\x01\x02\xff", "AWSCURRENT", "local:cert"},
		{"an array", "list", "", "", `["a",1]`, "", "AWSCURRENT", "local:list"},
		{"a value that looks like a descriptor, wrapped", "looks", "", "", `{"value":"inner","versions":1}`, "", "AWSCURRENT", "local:looks"},
		{"current of a rotated secret", "rotated", "", "", "current-value", "", "AWSCURRENT", "local:rotated"},
		{"AWSCURRENT named", "rotated", "AWSCURRENT", "", "current-value", "", "AWSCURRENT", "local:rotated"},
		{"previous by stage", "rotated", "AWSPREVIOUS", "", `{"k":"old"}`, "", "AWSPREVIOUS", "local:rotated"},
		{"previous by id", "rotated", "", idPrev, `{"k":"old"}`, "", "AWSPREVIOUS", "local:rotated"},
		{"by id and stage", "rotated", "AWSPREVIOUS", idPrev, `{"k":"old"}`, "", "AWSPREVIOUS", "local:rotated"},
		{"a custom stage, binary", "rotated", "blue", "", "", "\xff", "canary,blue", "local:rotated"},
		{"current among versions", "onlyversions", "", "", "cur", "", "AWSCURRENT", "local:onlyversions"},
		{"full ARN by its name", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:plain-XyZ123", "", "", "a string", "", "AWSCURRENT", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:plain-XyZ123"},
		{"partial ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:plain", "", "", "a string", "", "AWSCURRENT", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:plain"},
		{"an ARN whose name ends like a suffix, found as written", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", "", "", "named with a suffix", "", "AWSCURRENT", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := get(f, tt.id, tt.stage, tt.vid)
			if err != nil {
				t.Fatal(err)
			}
			if tt.bin != "" {
				if out.SecretString != nil || string(out.SecretBinary) != tt.bin {
					t.Errorf("binary %q, string %v", out.SecretBinary, out.SecretString)
				}
			} else if out.SecretString == nil || *out.SecretString != tt.str || out.SecretBinary != nil {
				t.Errorf("string %v, want %q", out.SecretString, tt.str)
			}
			if got := strings.Join(out.VersionStages, ","); got != tt.stages {
				t.Errorf("stages %s, want %s", got, tt.stages)
			}
			if *out.ARN != tt.arn {
				t.Errorf("ARN %s, want %s", *out.ARN, tt.arn)
			}
			if n := len(*out.VersionId); n < 32 || n > 64 {
				t.Errorf("version id %q cannot be named in a REF", *out.VersionId)
			}
		})
	}
}

func TestDerivedIDsAreStableAndNameable(t *testing.T) {
	f1, _ := load(t, sample)
	f2, _ := load(t, sample)
	a, _ := get(f1, "rotated", "blue", "")
	b, _ := get(f2, "rotated", "blue", "")
	if *a.VersionId != *b.VersionId {
		t.Fatalf("ids differ between loads: %s %s", *a.VersionId, *b.VersionId)
	}
	r, err := ref.Parse("rotated::blue:" + *a.VersionId)
	if err != nil {
		t.Fatalf("a REF cannot name the derived id: %v", err)
	}
	if out, err := get(f1, r.SecretID, "", r.VersionID); err != nil || string(out.SecretBinary) != "\xff" {
		t.Fatalf("by derived id: %v %v", out, err)
	}
}

func TestNotFound(t *testing.T) {
	f, _ := load(t, sample)
	tests := []struct {
		name, id, stage, vid string
		cause, hint          string
	}{
		{"a missing name", "nope", "", "", "not in ", `add "nope" to `},
		{"a missing ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf", "", "", "not in ", `add "nope-AbCdEf" or "nope" to `},
		{"no current version", "nocurrent", "", "", "no version with stage AWSCURRENT in ", `"value" is AWSCURRENT`},
		{"a missing stage", "rotated", "AWSPENDING", "", "no version with stage AWSPENDING in ", "versions"},
		{"a missing id", "rotated", "", "99999999-2222-3333-4444-555555555555", "no version with id 99999999-2222-3333-4444-555555555555 in ", "versions"},
		{"id and stage that disagree", "rotated", "AWSCURRENT", idPrev, "no version with id " + idPrev + " at stage AWSCURRENT in ", "versions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := get(f, tt.id, tt.stage, tt.vid)
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Cause, tt.cause) || !strings.Contains(e.Hint, tt.hint) {
				t.Fatalf("err %v hint %q; want cause %q, hint with %q", err, resolveHint(err), tt.cause, tt.hint)
			}
		})
	}
}

func resolveHint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

func TestBadFiles(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"not JSON, no value quoted", "{\n  \"a\": SENTINEL\n}", "not valid JSON near line 2, column 8"},
		{"not an object", `["a"]`, "want a JSON object of secret names to values"},
		{"null", `null`, "want a JSON object"},
		{"a number value", `{"a": 5}`, `secret "a": want a string, a JSON object or array`},
		{"bad name", `{"a:b": "x"}`, `secret "a:b": the key must be the secret's name`},
		{"an ARN as key", `{"arn:aws:secretsmanager:us-east-1:123456789012:secret:x": "x"}`, "the key must be the secret's name"},
		{"bad base64", `{"a": {"binary": "SENTINEL!"}}`, `"binary" is not base64`},
		{"value and binary", `{"a": {"value": "x", "binary": "AA=="}}`, `give "value" or "binary", not both`},
		{"AWSCURRENT twice", `{"a": {"value": "x", "versions": [{"stages": ["AWSCURRENT"], "value": "y"}]}}`, "stage AWSCURRENT is on two versions"},
		{"a stage twice", `{"a": {"versions": [{"stages": ["s"], "value": "x"}, {"stages": ["s"], "value": "y"}]}}`, `stage "s" is on two versions`},
		{"an id twice", `{"a": {"value": "x", "id": "` + idPrev + `", "versions": [{"id": "` + idPrev + `", "value": "y"}]}}`, "used twice"},
		{"a short id", `{"a": {"value": "x", "id": "v1"}}`, `version id "v1" must be 32 to 64 characters`},
		{"a version without a value", `{"a": {"versions": [{"stages": ["x"]}]}}`, `versions[0]: want "value" or "binary"`},
		{"an unknown version key", `{"a": {"versions": [{"value": "x", "stage": ["x"]}]}}`, `versions[0]: unknown key "stage"`},
		{"versions not an array", `{"a": {"versions": {"value": "x"}}}`, `"versions" must be an array`},
		{"stages not strings", `{"a": {"versions": [{"value": "x", "stages": "AWSCURRENT"}]}}`, `"stages" must be an array of strings`},
		{"a bad stage", `{"a": {"versions": [{"value": "x", "stages": ["a b"]}]}}`, `stage "a b" is empty or holds`},
		{"a string over 65536 bytes", `{"a": "` + strings.Repeat("S", 65537) + `"}`, `secret "a": the value is 65537 bytes, more than the 65536 Secrets Manager holds`},
		{"10 MB of open brackets", `{"a": "` + strings.Repeat("[", 10<<20) + `"}`, "more than the 65536"},
		{"an object over 65536 bytes", `{"a": {"k": "` + strings.Repeat("S", 65536) + `"}}`, "more than the 65536"},
		{"a value over 65536 bytes", `{"a": {"value": "` + strings.Repeat("S", 65537) + `"}}`, "more than the 65536"},
		{"a binary over 65536 bytes", `{"a": {"binary": "` + base64.StdEncoding.EncodeToString(make([]byte, 65537)) + `"}}`, "more than the 65536"},
		{"an old version over 65536 bytes", `{"a": {"value": "x", "versions": [{"stages": ["old"], "value": "` + strings.Repeat("S", 65537) + `"}]}}`, "versions[0]: the value is 65537 bytes"},
		{"an id without a value", `{"a": {"id": "` + idPrev + `", "versions": [{"value": "x"}]}}`, `"id" is the id of the current version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SENTINEL") {
				t.Errorf("error %q quotes a value", err)
			}
		})
	}
}

// Secrets Manager's own limit is allowed, and a byte-order mark before
// the file's JSON is skipped.
func TestLimitAndByteOrderMark(t *testing.T) {
	f, err := load(t, "\ufeff"+`{"a": "`+strings.Repeat("S", 65536)+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := get(f, "a", "", "")
	if err != nil || len(*out.SecretString) != 65536 {
		t.Fatalf("get = %v, %v; want the 65536-byte value", out, err)
	}
}

func TestEveryBadSecretIsReported(t *testing.T) {
	_, err := load(t, `{"a": 1, "b": "ok", "c": true}`)
	if err == nil || !strings.Contains(err.Error(), `secret "a"`) || !strings.Contains(err.Error(), `secret "c"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
}

// The resolver uses the file's own words: where to add what is missing,
// not the region hints meant for Secrets Manager.
func TestResolverExplainsMisses(t *testing.T) {
	f, _ := load(t, sample)
	r := &resolve.Resolver{Clients: f, NoBatch: true}
	res := r.Fetch(context.Background(), []ref.Ref{mustRef(t, "nope"), mustRef(t, "db:user")})
	if err := res[0].Err; err == nil || !strings.HasPrefix(err.Error(), "secret nope: not in ") || !strings.Contains(resolve.Hint(err), `add "nope"`) {
		t.Errorf("err %v, hint %q", err, resolve.Hint(err))
	}
	if res[1].Err != nil {
		t.Fatal(res[1].Err)
	}
	if v, err := resolve.Render(res[1].Secret, "user"); err != nil || string(v) != "app" {
		t.Errorf("db:user = %q, %v", v, err)
	}
}

func TestProductionSign(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	sa := t.TempDir()
	tests := []struct {
		name  string
		env   []string
		saDir string
		want  string
	}{
		{"a laptop", []string{"HOME=/home/dev", "AWS_PROFILE=dev"}, none, ""},
		{"Lambda or ECS", []string{"AWS_EXECUTION_ENV=AWS_ECS_FARGATE"}, none, "AWS_EXECUTION_ENV is set"},
		{"ECS metadata v4", []string{"ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/x"}, none, "ECS_CONTAINER_METADATA_URI_V4 is set"},
		{"ECS metadata v3", []string{"ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/x"}, none, "ECS_CONTAINER_METADATA_URI is set"},
		{"Kubernetes by env", []string{"KUBERNETES_SERVICE_HOST=10.0.0.1"}, none, "KUBERNETES_SERVICE_HOST is set"},
		{"Kubernetes by service account", nil, sa, sa + " exists"},
		{"set to empty still counts", []string{"AWS_EXECUTION_ENV="}, none, "AWS_EXECUTION_ENV is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := productionSign(tt.env, tt.saDir); got != tt.want {
				t.Errorf("productionSign = %q, want %q", got, tt.want)
			}
		})
	}
}

func mustRef(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
