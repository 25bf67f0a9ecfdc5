package ref

import (
	"strings"
	"testing"
)

const paramARN = "arn:aws:ssm:eu-west-1:123456789012:parameter"

func TestParseParameterAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Ref
	}{
		{"short form of a hierarchy", "ssm:/prod/db/password", Ref{Kind: Parameter, SecretID: "/prod/db/password", Name: "/prod/db/password"}},
		{"short form of a plain name", "ssm:db_password", Ref{Kind: Parameter, SecretID: "db_password", Name: "db_password"}},
		{"short form with a version", "ssm:/prod/db:3", Ref{Kind: Parameter, SecretID: "/prod/db", Name: "/prod/db", Selector: "3", tail: 1}},
		{"short form with a label", "ssm:/prod/db:blue-1", Ref{Kind: Parameter, SecretID: "/prod/db", Name: "/prod/db", Selector: "blue-1", tail: 1}},
		{"short form with an empty selector", "ssm:/prod/db:", Ref{Kind: Parameter, SecretID: "/prod/db", Name: "/prod/db", tail: 1}},
		{"ARN of a hierarchy", paramARN + "/prod/db", Ref{
			Kind: Parameter, SecretID: paramARN + "/prod/db", Name: "/prod/db", Partition: "aws", Region: "eu-west-1", Account: "123456789012",
		}},
		{"ARN of a plain name", paramARN + "/db", Ref{
			Kind: Parameter, SecretID: paramARN + "/db", Name: "db", Partition: "aws", Region: "eu-west-1", Account: "123456789012",
		}},
		{"ARN with a version", paramARN + "/prod/db:12", Ref{
			Kind: Parameter, SecretID: paramARN + "/prod/db", Name: "/prod/db", Selector: "12", Partition: "aws", Region: "eu-west-1", Account: "123456789012", tail: 1,
		}},
		{"ARN in another partition", "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x", Ref{
			Kind: Parameter, SecretID: "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x", Name: "x", Partition: "aws-cn", Region: "cn-north-1", Account: "123456789012",
		}},
		{"reference to a secret", "ssm:/aws/reference/secretsmanager/prod/db+x@y", Ref{
			Kind: Parameter, SecretID: "/aws/reference/secretsmanager/prod/db+x@y", Name: "/aws/reference/secretsmanager/prod/db+x@y",
		}},
		{"reference to a secret at a stage", "ssm:/aws/reference/secretsmanager/db:AWSPREVIOUS", Ref{
			Kind: Parameter, SecretID: "/aws/reference/secretsmanager/db", Name: "/aws/reference/secretsmanager/db", Selector: "AWSPREVIOUS", tail: 1,
		}},
		{"public parameter", "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", Ref{
			Kind: Parameter, SecretID: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", Name: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
		}},
		// A bare name stays a secret, even one that looks like a path.
		{"bare name is a secret", "prod/db", Ref{SecretID: "prod/db", Name: "prod/db"}},
		{"secret named like the prefix", "ssmkeys:password", Ref{SecretID: "ssmkeys", Name: "ssmkeys", JSONKey: "password", tail: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) =\n %#v\nwant\n %#v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestParseParameterRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"JSON key after a selector", "ssm:/prod/db:3:password", "no JSON key"},
		{"JSON key in the ECS form", paramARN + "/prod/db:password::", "no JSON key"},
		{"empty name", "ssm:", "name is empty"},
		{"empty name before a selector", "ssm::3", "name is empty"},
		{"hierarchy without its leading slash", "ssm:prod/db", "start with it"},
		{"empty level", "ssm:/prod//db", "empty level"},
		{"trailing slash", "ssm:/prod/db/", "empty level"},
		{"space in a name", "ssm:/prod/d b", "may hold only"},
		{"secret-name character outside a reference", "ssm:/prod/a+b", "may hold only"},
		{"name of 2049 characters", "ssm:" + strings.Repeat("n", 2049), "2049"},
		{"version zero", "ssm:/prod/db:0", "not a version number"},
		{"label starting with a digit", "ssm:/prod/db:3x", "may not start with a digit"},
		{"label starting with aws", "ssm:/prod/db:AWSblue", "may not start with aws"},
		{"label with a star", "ssm:/prod/db:bl*e", "label may hold only"},
		{"label of 101 characters", "ssm:/prod/db:" + strings.Repeat("l", 101), "101"},
		{"ARN without parameter/", paramARN + ":x", "names no parameter/NAME"},
		{"secret ARN with the ssm service", "arn:aws:ssm:us-east-1:123456789012:secret:db", "service secretsmanager"},
		{"ARN with five fields", "arn:aws:ssm:eu-west-1:123456789012", "too few fields"},
		{"ARN with a bad region", "arn:aws:ssm:EU:123456789012:parameter/x", "region"},
		{"ARN with a bad account", "arn:aws:ssm:eu-west-1:1234:parameter/x", "account"},
		{"ARN with a bad partition", "arn:gcp:ssm:eu-west-1:123456789012:parameter/x", "partition"},
		{"ARN with an empty name", paramARN + "/", "name is empty"},
		{"ARN with an empty level", paramARN + "//x", "empty level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", tt.in, got)
			}
			if got != (Ref{}) {
				t.Errorf("Parse(%q) returned %#v with its error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error %q does not mention %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParameterCurrentGroupKey(t *testing.T) {
	r, _ := Parse("ssm:/prod/db")
	if !r.Current() || !r.IsParameter() || r.IsARN() || r.Group() != "" || r.Key() != "/prod/db" {
		t.Errorf("ssm:/prod/db: Current %v IsParameter %v IsARN %v Group %q Key %q", r.Current(), r.IsParameter(), r.IsARN(), r.Group(), r.Key())
	}
	r, _ = Parse(paramARN + "/prod/db:blue")
	if r.Current() || !r.IsARN() || r.Group() != "" || r.Key() != "/prod/db" {
		t.Errorf("ARN with label: Current %v IsARN %v Group %q Key %q", r.Current(), r.IsARN(), r.Group(), r.Key())
	}
}

func TestPinned(t *testing.T) {
	for in, want := range map[string]bool{
		"ssm:/a": false, "ssm:/a:3": true, "ssm:/a:blue": false, "ssm:/a:": false,
		paramARN + "/a:12": true, "ssm:/aws/reference/secretsmanager/db:AWSCURRENT": false,
		"db": false, "db::AWSPREVIOUS": false, "db:::" + versionID: true,
	} {
		if r, err := Parse(in); err != nil || r.Pinned() != want {
			t.Errorf("Parse(%q).Pinned() = %v (%v), want %v", in, r.Pinned(), err, want)
		}
	}
}

// checkParameter holds a parsed parameter to the grammar's promises.
func checkParameter(t *testing.T, s string, r Ref) {
	t.Helper()
	if r.JSONKey != "" || r.VersionStage != "" || r.VersionID != "" {
		t.Fatalf("Parse(%q) = %#v: a parameter with a JSON key or a secret's version", s, r)
	}
	if strings.Contains(r.SecretID, ":") != r.IsARN() || strings.Contains(r.Name, ":") {
		t.Fatalf("Parse(%q) = %#v: a ':' in the id or name", s, r)
	}
	if strings.Contains(r.Name, "/") && r.Name[0] != '/' || len(r.Name) > maxParameterNameLen {
		t.Fatalf("Parse(%q) accepted the name %q", s, r.Name)
	}
	if r.Group() != "" || r.Key() != r.Name {
		t.Fatalf("Parse(%q): group %q key %q", s, r.Group(), r.Key())
	}
}
