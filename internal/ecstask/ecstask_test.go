package ecstask

import (
	"strings"
	"testing"

	"github.com/smexec/smexec/internal/ref"
)

func TestParseBothShapes(t *testing.T) {
	const def = `{"family":"api","revision":3,"containerDefinitions":[{"name":"web","secrets":[{"name":"A","valueFrom":"arn:x"}]},{"name":"log"}]}`
	for name, in := range map[string]string{
		"register input":             def,
		"describe-task-definition":   `{"taskDefinition":` + def + `,"tags":[]}`,
		"after a byte-order mark":    "\ufeff" + def,
		"unknown fields are ignored": `{"taskDefinition":` + strings.Replace(def, `"family"`, `"cpu":"256","family"`, 1) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			td, err := Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if td.Family != "api" || td.Revision != 3 || len(td.Containers) != 2 ||
				td.Containers[0].Name != "web" || len(td.Containers[0].Secrets) != 1 ||
				td.Containers[0].Secrets[0] != (Secret{"A", "arn:x"}) || td.Containers[1].Secrets != nil {
				t.Errorf("Parse = %+v", td)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":                `family: api`,
		"no containers":           `{"family":"api"}`,
		"describe, no containers": `{"taskDefinition":{"family":"api"}}`,
		"wrong types":             `{"containerDefinitions":{"name":"web"}}`,
		"array":                   `[{"containerDefinitions":[]}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if td, err := Parse([]byte(in)); err == nil || !strings.HasPrefix(err.Error(), "not a task definition") {
				t.Errorf("Parse = %+v, %v; want a 'not a task definition' error", td, err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	const sm = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	tests := []struct {
		in   string
		ref  string
		kind Kind
	}{
		{sm + "prod/db-AbCdEf", sm + "prod/db-AbCdEf", SecretsManager},
		{sm + "prod/db-AbCdEf:password::", sm + "prod/db-AbCdEf:password::", SecretsManager},
		{sm + "prod/db-AbCdEf::AWSPREVIOUS:", sm + "prod/db-AbCdEf::AWSPREVIOUS:", SecretsManager},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x", SecretsManager},
		// SSM parameters, by ARN and, since ECS reads any other valueFrom
		// as one, by name.
		{"arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/host", "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/host", SSM},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/plain", "arn:aws:ssm:us-east-1:123456789012:parameter/plain", SSM},
		{"/prod/db/host", "ssm:/prod/db/host", SSM},
		{"prod-db-host", "ssm:prod-db-host", SSM},
		{"/prod/db/host:3", "ssm:/prod/db/host:3", SSM},
		// Parameter Store references to Secrets Manager secrets.
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/aws/reference/secretsmanager/prod/db",
			"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db", Reference},
		{"/aws/reference/secretsmanager/prod/db", "prod/db", Reference},
		// A reference with a selector is read through Parameter Store.
		{"arn:aws:ssm:us-east-1:123456789012:parameter/aws/reference/secretsmanager/x:AWSPREVIOUS",
			"arn:aws:ssm:us-east-1:123456789012:parameter/aws/reference/secretsmanager/x:AWSPREVIOUS", SSM},
		{"/aws/reference/secretsmanager/x:AWSPREVIOUS", "ssm:/aws/reference/secretsmanager/x:AWSPREVIOUS", SSM},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, k, err := Classify(tt.in)
			if err != nil || r != tt.ref || k != tt.kind {
				t.Errorf("Classify = %q, %v, %v; want %q, %v", r, k, err, tt.ref, tt.kind)
			}
		})
	}
}

func TestClassifyRefusesBadARNs(t *testing.T) {
	for _, in := range []string{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret",
		"arn:aws:secretsmanager:US:123456789012:secret:x",
		"arn:aws:s3:::bucket/key",
		"arn:aws:kms:us-east-1:123456789012:key/abc",
		// Names SSM does not allow, which ECS would fail on too.
		"prod/db",
		"/aws/reference/secretsmanager/",
		"/aws/reference/secretsmanager/a b",
		"/prod/db:1:password",
		"arn:aws:ssm:us-east-1:123456789012:parameter/x:1:2",
	} {
		t.Run(in, func(t *testing.T) {
			if r, k, err := Classify(in); err == nil {
				t.Errorf("Classify = %q, %v; want an error", r, k)
			}
		})
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"arn:aws:ssm:us-east-1:123456789012:parameter/aws/reference/secretsmanager/x", "/aws/reference/secretsmanager/x", "x", "arn:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, k, err := Classify(s)
		if err != nil {
			return
		}
		if _, perr := ref.Parse(r); perr != nil {
			t.Fatalf("Classify(%q) = %q, %v: not a REF: %v", s, r, k, perr)
		}
	})
}
