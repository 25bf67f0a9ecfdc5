package target

import (
	"strings"
	"testing"
)

const arnGroup = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"

func TestNewFlyteLayoutReadsPrefixesAsFlytekit(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		env     string
		file    string
	}{
		{"unset: flytekit's defaults", nil, "_FSEC_", ""},
		{"set", []string{"FLYTE_SECRETS_ENV_PREFIX=MY_", "FLYTE_SECRETS_FILE_PREFIX=pre-"}, "MY_", "pre-"},
		// flytekit reads an empty variable as unset (`env or file or default`).
		{"empty is unset", []string{"FLYTE_SECRETS_ENV_PREFIX=", "FLYTE_SECRETS_FILE_PREFIX="}, "_FSEC_", ""},
		// and strips what it reads.
		{"trimmed", []string{"FLYTE_SECRETS_ENV_PREFIX= P_ ", "FLYTE_SECRETS_FILE_PREFIX=  "}, "P_", ""},
		{"other names ignored", []string{"FLYTE_SECRETS_ENV_PREFIXX=no", "XFLYTE_SECRETS_FILE_PREFIX=no"}, "_FSEC_", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewFlyteLayout("/d", tt.environ)
			if l.Dir != "/d" || l.EnvPrefix != tt.env || l.FilePrefix != tt.file {
				t.Errorf("NewFlyteLayout = %+v, want env prefix %q, file prefix %q", l, tt.env, tt.file)
			}
		})
	}
}

// The names below are what flytekit's SecretsManager computes in
// get_secrets_env_var and get_secrets_file for the same (group, key).
func TestFlyteLayoutNames(t *testing.T) {
	l := FlyteLayout{Dir: "/etc/flyte/secrets", EnvPrefix: "_FSEC_"}
	tests := []struct {
		group, key string
		env, file  string
	}{
		{arnGroup, "db-AbCdEf",
			"_FSEC_ARN:AWS:SECRETSMANAGER:US-EAST-1:123456789012:SECRET:_DB-ABCDEF",
			"/etc/flyte/secrets/arn:aws:secretsmanager:us-east-1:123456789012:secret:/db-abcdef"},
		{arnGroup, "Prod/DB-AbCdEf:password",
			"_FSEC_ARN:AWS:SECRETSMANAGER:US-EAST-1:123456789012:SECRET:_PROD/DB-ABCDEF:PASSWORD",
			"/etc/flyte/secrets/arn:aws:secretsmanager:us-east-1:123456789012:secret:/prod/db-abcdef:password"},
		// An empty group is left out, with its separator.
		{"", "Api_Key", "_FSEC_API_KEY", "/etc/flyte/secrets/api_key"},
		{"team", "", "_FSEC_TEAM", "/etc/flyte/secrets/team"},
	}
	for _, tt := range tests {
		t.Run(tt.group+"|"+tt.key, func(t *testing.T) {
			r := mustRef(t, "prod/db")
			e, err := l.Env(tt.group, tt.key, r)
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind != Env || e.Name != tt.env || e.Ref != r {
				t.Errorf("Env = %#v, want env %s", e, tt.env)
			}
			f, err := l.File(tt.group, tt.key, r)
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != File || f.Name != tt.file || f.Ref != r {
				t.Errorf("File = %#v, want file %s", f, tt.file)
			}
		})
	}
}

// flytekit puts the file prefix before the lowered key, unchanged, and
// the env prefix before the uppered name, unchanged.
func TestFlyteLayoutPrefixes(t *testing.T) {
	l := FlyteLayout{Dir: "/s", EnvPrefix: "My_", FilePrefix: "Pre-"}
	r := mustRef(t, "x")
	e, err := l.Env("Grp", "Key", r)
	if err != nil || e.Name != "My_GRP_KEY" {
		t.Errorf("Env = %q, %v; want My_GRP_KEY", e.Name, err)
	}
	f, err := l.File("Grp", "Key", r)
	if err != nil || f.Name != "/s/grp/Pre-key" {
		t.Errorf("File = %q, %v; want /s/grp/Pre-key", f.Name, err)
	}
	f, err = l.File("", "Key", r)
	if err != nil || f.Name != "/s/Pre-key" {
		t.Errorf("File without group = %q, %v; want /s/Pre-key", f.Name, err)
	}
}

func TestFlyteLayoutRefuses(t *testing.T) {
	l := FlyteLayout{Dir: "/s", EnvPrefix: "_FSEC_"}
	r := mustRef(t, "x")
	tests := []struct {
		name, group, key, want string
		env                    bool
	}{
		{"both empty", "", "", "both empty", false},
		{"both empty env", "", "", "both empty", true},
		{"'=' in an env name", "", "a=b", "'='", true},
		{"non-ASCII", "g", "straße", "ASCII", false},
		{"non-ASCII env", "İ", "k", "ASCII", true},
		{"escape", "g", "../../x", "secrets dir", false},
		{"absolute key", "", "/etc/passwd", "secrets dir", false},
		{"key naming a folder", "g", "db/", "names a folder", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Mapping
			var err error
			if tt.env {
				m, err = l.Env(tt.group, tt.key, r)
			} else {
				m, err = l.File(tt.group, tt.key, r)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %#v, %v; want an error about %s", m, err, tt.want)
			}
		})
	}
	// '=' is fine in a file name.
	if _, err := l.File("", "a=b", r); err != nil {
		t.Errorf("File(a=b): %v", err)
	}
}

func TestFlyteJoinAsTheSidecar(t *testing.T) {
	for _, tt := range []struct{ group, key, want string }{
		{arnGroup, "db-AbCdEf", arnGroup + "db-AbCdEf"},
		{strings.TrimSuffix(arnGroup, ":"), "db-AbCdEf", arnGroup + "db-AbCdEf"},
		{arnGroup + ":", ":db-AbCdEf", arnGroup + "db-AbCdEf"},
		{arnGroup, "db-AbCdEf:password", arnGroup + "db-AbCdEf:password"},
	} {
		if got := FlyteJoin(tt.group, tt.key); got != tt.want {
			t.Errorf("FlyteJoin(%q, %q) = %q, want %q", tt.group, tt.key, got, tt.want)
		}
	}
}
