package target

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckEnvValue(t *testing.T) {
	// The longest value execve takes for NAME: NAME=value and its NUL
	// terminator fill MAX_ARG_STRLEN.
	longest := maxEnvEntry - len("NAME") - 2
	tests := []struct {
		name  string
		value []byte
		want  string // a piece of the error; "" means accepted
	}{
		{"plain", []byte("s3cr3t"), ""},
		{"empty", nil, ""},
		{"newlines and high bytes", []byte("line1\nline2\r\n\xff"), ""},
		{"NUL in the middle", []byte("s3cr\x00t"), "NUL"},
		{"NUL at the end", []byte("s3cr3t\x00"), "NUL"},
		{"the longest value", []byte(strings.Repeat("x", longest)), ""},
		{"one byte too long", []byte(strings.Repeat("x", longest+1)), "too large"},
		{"a megabyte", []byte(strings.Repeat("x", 1<<20)), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckEnvValue("NAME", tt.value)
			if tt.want == "" {
				if err != nil {
					t.Errorf("CheckEnvValue refused a %d-byte value: %v", len(tt.value), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckEnvValue accepted a %d-byte value", len(tt.value))
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "file target") {
				t.Errorf("error %q does not say %q and suggest a file target", msg, tt.want)
			}
			if strings.Contains(msg, "s3cr") || strings.Contains(msg, "xxxx") {
				t.Errorf("error %q holds the value", msg)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	tests := []struct {
		name string
		base []string
		set  map[string]string
		want []string
	}{
		{
			name: "replace in place, append new sorted",
			base: []string{"PATH=/bin", "DB=old", "HOME=/root"},
			set:  map[string]string{"ZED": "z", "DB": "new", "ALPHA": "a", "MID": "m", "B_2": "b2", "B_1": "b1", "BETA": "b"},
			want: []string{"PATH=/bin", "DB=new", "HOME=/root", "ALPHA=a", "BETA=b", "B_1=b1", "B_2=b2", "MID=m", "ZED=z"},
		},
		{
			name: "a name set twice in base is replaced once",
			base: []string{"DB=one", "X=1", "DB=two"},
			set:  map[string]string{"DB": "new"},
			want: []string{"DB=new", "X=1"},
		},
		{
			name: "names not injected keep their duplicates and oddities",
			base: []string{"X=1", "X=2", "NOEQUALS", "=weird"},
			set:  map[string]string{"Y": "y"},
			want: []string{"X=1", "X=2", "NOEQUALS", "=weird", "Y=y"},
		},
		{
			name: "values kept byte for byte",
			base: []string{"A=old"},
			set:  map[string]string{"A": "x=y\nz ", "E": ""},
			want: []string{"A=x=y\nz ", "E="},
		},
		{
			name: "names are case-sensitive",
			base: []string{"db=lower"},
			set:  map[string]string{"DB": "upper"},
			want: []string{"db=lower", "DB=upper"},
		},
		{
			name: "nothing to set",
			base: []string{"A=1", "B=2"},
			want: []string{"A=1", "B=2"},
		},
		{
			name: "empty base",
			set:  map[string]string{"B": "2", "A": "1"},
			want: []string{"A=1", "B=2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := slices.Clone(tt.base)
			got := Environ(base, tt.set)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Environ =\n %q\nwant\n %q", got, tt.want)
			}
			if !slices.Equal(base, tt.base) {
				t.Errorf("Environ changed its base to %q", base)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	environ := []string{"PATH=/bin", "SECRET=x", "HOME=/h", "EMPTY=", "PATHX=no"}
	got := Keep(environ, []string{"HOME", "PATH", "EMPTY", "MISSING"})
	want := []string{"PATH=/bin", "HOME=/h", "EMPTY="}
	if !slices.Equal(got, want) {
		t.Errorf("Keep = %q, want %q", got, want)
	}
	if got := Keep(environ, nil); len(got) != 0 {
		t.Errorf("Keep with no names = %q, want nothing", got)
	}
}

func TestEnvRef(t *testing.T) {
	tests := []struct {
		v, ref string
		ok     bool
	}{
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::", true},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db", true},
		{"smexec:prod/db:password", "prod/db:password", true},
		{"smexec:", "", true}, // refused later by the REF parser, not passed on
		{"prod/db:password", "", false},
		{"arn:aws:s3:::bucket", "", false},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/x", "", false},
		{"postgres://u:p@h/db", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		ref, ok := EnvRef(tt.v)
		if ref != tt.ref || ok != tt.ok {
			t.Errorf("EnvRef(%q) = %q, %v; want %q, %v", tt.v, ref, ok, tt.ref, tt.ok)
		}
	}
}
