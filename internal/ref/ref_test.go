package ref

import (
	"strings"
	"testing"
)

const (
	fullARN    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
	partialARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"
	arnGroup   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	// versionID is the 36-character shape Secrets Manager gives version ids.
	versionID = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Ref
	}{
		{"full ARN", fullARN, Ref{
			SecretID: fullARN, Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "db-AbCdEf",
		}},
		{"partial ARN", partialARN, Ref{
			SecretID: partialARN, Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "prod/db",
		}},
		{"bare name", "prod/db", Ref{SecretID: "prod/db", Name: "prod/db"}},
		{"bare name with every allowed character", "Az09/_+=.@-", Ref{SecretID: "Az09/_+=.@-", Name: "Az09/_+=.@-"}},
		{"name that starts like arn but is not an ARN", "arnold", Ref{SecretID: "arnold", Name: "arnold"}},

		// One to three tail fields, some empty.
		{"full ARN with key", fullARN + ":password", Ref{
			SecretID: fullARN, JSONKey: "password", Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "db-AbCdEf", tail: 1,
		}},
		{"full ARN with key and empty stage and id", fullARN + ":password::", Ref{
			SecretID: fullARN, JSONKey: "password", Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "db-AbCdEf", tail: 3,
		}},
		{"full ARN with stage only", fullARN + "::AWSPREVIOUS:", Ref{
			SecretID: fullARN, VersionStage: "AWSPREVIOUS", Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "db-AbCdEf", tail: 3,
		}},
		{"full ARN with version id only", fullARN + ":::" + versionID, Ref{
			SecretID: fullARN, VersionID: versionID, Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "db-AbCdEf", tail: 3,
		}},
		{"partial ARN with key, stage and id", partialARN + ":user:AWSCURRENT:" + versionID, Ref{
			SecretID: partialARN, JSONKey: "user", VersionStage: "AWSCURRENT", VersionID: versionID,
			Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "prod/db", tail: 3,
		}},
		{"partial ARN with key and stage", partialARN + ":user:AWSPENDING", Ref{
			SecretID: partialARN, JSONKey: "user", VersionStage: "AWSPENDING",
			Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "prod/db", tail: 2,
		}},
		{"name with key", "prod/db:password", Ref{SecretID: "prod/db", Name: "prod/db", JSONKey: "password", tail: 1}},
		{"name with empty key", "prod/db:", Ref{SecretID: "prod/db", Name: "prod/db", tail: 1}},
		{"name with two empty fields", "prod/db::", Ref{SecretID: "prod/db", Name: "prod/db", tail: 2}},
		{"name with three empty fields", "prod/db:::", Ref{SecretID: "prod/db", Name: "prod/db", tail: 3}},
		{"name with stage", "prod/db::AWSPREVIOUS", Ref{SecretID: "prod/db", Name: "prod/db", VersionStage: "AWSPREVIOUS", tail: 2}},
		{"name with gjson path key", "prod/db:db.primary.host", Ref{SecretID: "prod/db", Name: "prod/db", JSONKey: "db.primary.host", tail: 1}},
		{"name with array index key", "prod/db:hosts.0", Ref{SecretID: "prod/db", Name: "prod/db", JSONKey: "hosts.0", tail: 1}},
		{"key may hold white space", "prod/db:a b", Ref{SecretID: "prod/db", Name: "prod/db", JSONKey: "a b", tail: 1}},

		// More than three tail fields: the last two are stage and id.
		{"name with key holding a colon", "prod/db:url:with:colon::", Ref{
			SecretID: "prod/db", Name: "prod/db", JSONKey: "url:with:colon", tail: 5,
		}},
		{"full ARN with key holding a colon and a stage", fullARN + ":a:b:AWSPREVIOUS:", Ref{
			SecretID: fullARN, JSONKey: "a:b", VersionStage: "AWSPREVIOUS",
			Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "db-AbCdEf", tail: 4,
		}},
		{"key holding a colon and a version id", "prod/db:a:b::" + versionID, Ref{
			SecretID: "prod/db", Name: "prod/db", JSONKey: "a:b", VersionID: versionID, tail: 4,
		}},
		{"key that is only colons", "prod/db::::", Ref{SecretID: "prod/db", Name: "prod/db", JSONKey: ":", tail: 4}},

		// Other partitions and regions.
		{"aws-cn partition", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db-AbCdEf", Ref{
			SecretID:  "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db-AbCdEf",
			Partition: "aws-cn", Region: "cn-north-1", Account: "123456789012", Name: "db-AbCdEf",
		}},
		{"aws-us-gov partition", "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db-AbCdEf:k", Ref{
			SecretID: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db-AbCdEf", JSONKey: "k",
			Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "123456789012", Name: "db-AbCdEf", tail: 1,
		}},
		{"aws-iso-b partition", "arn:aws-iso-b:secretsmanager:us-isob-east-1:123456789012:secret:x", Ref{
			SecretID:  "arn:aws-iso-b:secretsmanager:us-isob-east-1:123456789012:secret:x",
			Partition: "aws-iso-b", Region: "us-isob-east-1", Account: "123456789012", Name: "x",
		}},
		{"two-digit region number", "arn:aws:secretsmanager:ap-southeast-10:123456789012:secret:x", Ref{
			SecretID:  "arn:aws:secretsmanager:ap-southeast-10:123456789012:secret:x",
			Partition: "aws", Region: "ap-southeast-10", Account: "123456789012", Name: "x",
		}},

		// Limits, at the edge.
		{"name of 512 characters", strings.Repeat("n", 512), Ref{SecretID: strings.Repeat("n", 512), Name: strings.Repeat("n", 512)}},
		{"stage of 256 characters", "prod/db::" + strings.Repeat("S", 256), Ref{
			SecretID: "prod/db", Name: "prod/db", VersionStage: strings.Repeat("S", 256), tail: 2,
		}},
		{"version id of 32 characters", "prod/db:::" + strings.Repeat("v", 32), Ref{
			SecretID: "prod/db", Name: "prod/db", VersionID: strings.Repeat("v", 32), tail: 3,
		}},
		{"version id of 64 characters", "prod/db:::" + strings.Repeat("v", 64), Ref{
			SecretID: "prod/db", Name: "prod/db", VersionID: strings.Repeat("v", 64), tail: 3,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want the input back %q", s, tt.in)
			}
			again, err := Parse(got.String())
			if err != nil {
				t.Fatalf("Parse(String()): %v", err)
			}
			if again != got {
				t.Errorf("Parse(String()) = %#v, want %#v", again, got)
			}
			if got.IsARN() != strings.HasPrefix(tt.in, "arn:") {
				t.Errorf("IsARN() = %v for %q", got.IsARN(), tt.in)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// want is a piece of the error message that says what is wrong.
		want string
	}{
		{"empty", "", "empty"},
		{"ARN with six fields", "arn:aws:secretsmanager:us-east-1:123456789012:secret", "too few fields"},
		{"ARN with two fields", "arn:aws", "too few fields"},
		{"name with trailing space", "prod/db ", "ends in white space"},
		{"ARN name with trailing tab", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf\t", "ends in white space"},
		{"ARN of another service", "arn:aws:s3:us-east-1:123456789012:secret:db-AbCdEf", "service"},
		{"ARN of another resource type", "arn:aws:secretsmanager:us-east-1:123456789012:parameter:db-AbCdEf", "resource type"},
		{"ARN with upper-case region", "arn:aws:secretsmanager:US-EAST-1:123456789012:secret:db-AbCdEf", "region"},
		{"ARN with region lacking a number", "arn:aws:secretsmanager:us-east:123456789012:secret:db-AbCdEf", "region"},
		{"ARN with empty region", "arn:aws:secretsmanager::123456789012:secret:db-AbCdEf", "region"},
		{"ARN with 11-digit account", "arn:aws:secretsmanager:us-east-1:12345678901:secret:db-AbCdEf", "account"},
		{"ARN with 13-digit account", "arn:aws:secretsmanager:us-east-1:1234567890123:secret:db-AbCdEf", "account"},
		{"ARN with letters in account", "arn:aws:secretsmanager:us-east-1:12345678901x:secret:db-AbCdEf", "account"},
		{"ARN with foreign partition", "arn:gcp:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "partition"},
		{"ARN with empty partition", "arn::secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "partition"},
		{"ARN with empty name", "arn:aws:secretsmanager:us-east-1:123456789012:secret:", "name is empty"},
		{"ARN with bad name character", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db*x", "name may hold only"},
		{"name with a space", "prod db", "name may hold only"},
		{"name with a star", "prod/*", "name may hold only"},
		{"name with a non-ASCII letter", "prod/dé", "name may hold only"},
		{"empty name before a key", ":password", "name is empty"},
		{"name of 513 characters", strings.Repeat("n", 513), "513"},
		{"ARN name of 513 characters", arnGroup + strings.Repeat("n", 513), "513"},
		{"stage of 257 characters", "prod/db::" + strings.Repeat("S", 257) + ":", "257"},
		{"stage of 257 characters in the long form", "prod/db:a:b:" + strings.Repeat("S", 257) + ":", "257"},
		{"version id of 31 characters", "prod/db:::" + strings.Repeat("v", 31), "31"},
		{"version id of 65 characters", "prod/db:::" + strings.Repeat("v", 65), "65"},
		{"version id of one character", fullARN + ":k:AWSCURRENT:1", "version id"},
		{"three fields where the third is too short to be an id", "prod/db:a:b:c", "version id"},
		{"stage with a space", "prod/db::AWS CURRENT", "white space"},
		{"version id with a tab", "prod/db:::" + strings.Repeat("v", 20) + "\t" + strings.Repeat("v", 20), "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", tt.in, got)
			}
			if got != (Ref{}) {
				t.Errorf("Parse(%q) returned %#v with its error, want the zero Ref", tt.in, got)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("Parse(%q) error %q does not mention %q", tt.in, msg, tt.want)
			}
			// The caller names the mapping; the error must not repeat it.
			if tt.in != "" && strings.Contains(msg, tt.in) {
				t.Errorf("Parse(%q) error %q echoes the whole input", tt.in, msg)
			}
		})
	}
}

func TestGroupKey(t *testing.T) {
	tests := []struct {
		in        string
		group     string
		key       string
		wantIsARN bool
	}{
		{fullARN, arnGroup, "db-AbCdEf", true},
		{fullARN + ":password:AWSPREVIOUS", arnGroup, "db-AbCdEf", true},
		{partialARN, arnGroup, "prod/db", true},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:Team/Key-AbCdEf", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:", "Team/Key-AbCdEf", true},
		// A name that ends like the group must not lose that part of itself.
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:secret", arnGroup, "secret", true},
		{"prod/db", "", "prod/db", false},
		{"prod/db:password", "", "prod/db", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if g := r.Group(); g != tt.group {
				t.Errorf("Group() = %q, want %q", g, tt.group)
			}
			if k := r.Key(); k != tt.key {
				t.Errorf("Key() = %q, want %q", k, tt.key)
			}
			if r.IsARN() != tt.wantIsARN {
				t.Errorf("IsARN() = %v, want %v", r.IsARN(), tt.wantIsARN)
			}
			if tt.wantIsARN && r.Group()+r.Key() != r.SecretID {
				t.Errorf("Group()+Key() = %q, want the secret id %q", r.Group()+r.Key(), r.SecretID)
			}
		})
	}
}

func TestCurrent(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"prod/db", true},
		{"prod/db:password", true},
		{"prod/db:password::", true},
		{"prod/db::AWSCURRENT", true},
		{fullARN + "::AWSCURRENT:", true},
		{"prod/db::AWSPREVIOUS", false},
		{"prod/db::awscurrent", false}, // stages are case-sensitive
		{"prod/db:::" + versionID, false},
		{"prod/db::AWSCURRENT:" + versionID, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Current(); got != tt.want {
				t.Errorf("Current() = %v, want %v", got, tt.want)
			}
		})
	}
}

// String gives back the text a Ref was parsed from.
func TestStringRoundTrip(t *testing.T) {
	for _, in := range []string{
		fullARN,
		fullARN + ":password::",
		"prod/db:url:with:colon:AWSPREVIOUS:",
		"prod/db:password",
	} {
		t.Run(in, func(t *testing.T) {
			r, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != in {
				t.Errorf("String() = %q, want %q", got, in)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"prod/db",
		"prod/db:password",
		"prod/db:password::",
		"prod/db::AWSPREVIOUS:",
		"prod/db:a:b:AWSCURRENT:" + versionID,
		"prod/db::::",
		":",
		"arn:",
		"arn:aws",
		fullARN,
		fullARN + ":password::",
		fullARN + "::AWSPREVIOUS:",
		fullARN + ":a:b:c::",
		partialARN + ":user:AWSCURRENT:" + versionID,
		"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db-AbCdEf",
		"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db-AbCdEf:k",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:..",
		"arn:aws:ssm:us-east-1:123456789012:parameter:x",
		"arn:aws:ssm:us-east-1:123456789012:parameter/x",
		"arn:aws:ssm:us-east-1:123456789012:parameter/prod/db:3",
		"arn:aws:ssm:us-east-1:123456789012:parameter/aws/reference/secretsmanager/db:AWSPREVIOUS",
		"ssm:/prod/db/password",
		"ssm:plain:blue",
		"ssm:/prod/db:12",
		"ssm:/prod/db:1:password",
		"ssm:",
		"ssm::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if r != (Ref{}) {
				t.Fatalf("Parse(%q) returned %#v with error %v", s, r, err)
			}
			return
		}
		if r.SecretID == "" || r.Name == "" {
			t.Fatalf("Parse(%q) = %#v: empty secret id or name", s, r)
		}
		if r.String() != s {
			t.Fatalf("Parse(%q).String() = %q, want the input back", s, r.String())
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but Parse(String()=%q): %v", s, r.String(), err)
		}
		if again != r {
			t.Fatalf("Parse(String()) = %#v, want %#v", again, r)
		}
		if r.IsParameter() {
			checkParameter(t, s, r)
			return
		}
		if r.IsARN() && r.Group()+r.Key() != r.SecretID {
			t.Fatalf("Group()+Key() = %q, want %q", r.Group()+r.Key(), r.SecretID)
		}
		if !r.IsARN() && (r.Group() != "" || strings.Contains(r.SecretID, ":")) {
			t.Fatalf("bare name %#v has a group or a colon", r)
		}
		if n := len(r.VersionID); n != 0 && (n < minVersionLen || n > maxVersionLen) {
			t.Fatalf("Parse(%q) accepted a version id of %d characters", s, n)
		}
		if len(r.VersionStage) > maxStageLen || len(r.Name) > maxNameLen {
			t.Fatalf("Parse(%q) accepted an over-long stage or name", s)
		}
	})
}
