// Package ref owns the grammar of secret references (REFs): the
// ECS-compatible form SECRET-ID[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]]
// for Secrets Manager, the Parameter Store forms (an ssm parameter ARN
// as ECS takes it, or ssm:NAME) with an optional :VERSION or :LABEL
// selector, their validation, and the group/key split that Flyte and
// Union use.
package ref

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Kind is what a reference names: a Secrets Manager secret or a
// Parameter Store parameter.
type Kind int

const (
	// Secret is a Secrets Manager secret, by ARN or name.
	Secret Kind = iota
	// Parameter is an SSM Parameter Store parameter, by ARN
	// (arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME) or ssm:NAME.
	Parameter
)

func (k Kind) String() string {
	if k == Parameter {
		return "parameter"
	}
	return "secret"
}

// Ref is one parsed secret reference. The zero value is not valid; build
// one with Parse.
type Ref struct {
	// Kind says which service holds the value. For a Parameter, JSONKey,
	// VersionStage and VersionID are empty and Selector may be set.
	Kind Kind
	// SecretID is what the service is asked for: for a secret, a full or
	// partial ARN (its first seven fields) or a secret name; for a
	// parameter, its ARN (the first six fields) or its name, without the
	// selector.
	SecretID string
	// JSONKey names a field of the secret's JSON text, as ECS reads it (a
	// top-level member exactly, else a dotted path); empty means the whole
	// value.
	JSONKey string
	// VersionStage and VersionID pin a version; both empty means AWSCURRENT.
	VersionStage string
	VersionID    string
	// Selector is a parameter's version (digits) or label, as SSM reads
	// NAME:SELECTOR; empty means the latest version.
	Selector string

	// Fields of an ARN; all empty for a bare name.
	Partition string
	Region    string
	Account   string
	// Name is the ARN's name field (with its random suffix when the ARN is
	// full), or the bare name. For a parameter it is the parameter's
	// name, with the leading "/" of a hierarchy, whichever form named it.
	Name string

	// tail is how many ':'-separated fields followed the secret id, so that
	// String can give back the form that was parsed.
	tail int
}

const (
	maxNameLen    = 512
	maxStageLen   = 256
	minVersionLen = 32
	maxVersionLen = 64

	// CurrentStage is the stage a reference with no stage and no version id
	// reads.
	CurrentStage = "AWSCURRENT"
)

var (
	nameRE      = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)
	partitionRE = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
)

// Parse reads a REF. Errors describe what is wrong without repeating the
// input; callers add the mapping that held it.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errors.New("empty reference")
	}
	if isParameter(s) {
		return parseParameter(s)
	}
	var r Ref
	var tail []string
	if strings.HasPrefix(s, "arn:") {
		var err error
		if tail, err = r.setARN(strings.Split(s, ":")); err != nil {
			return Ref{}, err
		}
	} else {
		name, rest, found := strings.Cut(s, ":")
		if err := checkName(name); err != nil {
			return Ref{}, err
		}
		r.Name = name
		r.SecretID = name
		if found {
			tail = strings.Split(rest, ":")
		}
	}
	if err := r.setTail(tail); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// setARN sets the secret an ARN's fields f name, and returns the REF's
// tail after them.
func (r *Ref) setARN(f []string) (tail []string, err error) {
	if err := checkARN(f, 7, "secretsmanager", "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME"); err != nil {
		return nil, err
	}
	if f[5] != "secret" {
		return nil, fmt.Errorf("ARN resource type is %q, want secret", f[5])
	}
	if err := checkName(f[6]); err != nil {
		return nil, err
	}
	r.Partition, r.Region, r.Account, r.Name = f[1], f[3], f[4], f[6]
	r.SecretID = strings.Join(f[:7], ":")
	return f[7:], nil
}

// checkARN checks the fields f of an ARN of service whose resource takes
// n fields in all (form shows them): their count, and the partition,
// service, region and account.
func checkARN(f []string, n int, service, form string) error {
	if len(f) < n {
		return errors.New("ARN has too few fields: want " + form)
	}
	switch {
	case !partitionRE.MatchString(f[1]):
		return fmt.Errorf("ARN partition %q is not an AWS partition (aws, aws-cn, aws-us-gov, …)", f[1])
	case f[2] != service:
		return fmt.Errorf("ARN service is %q, want %s", f[2], service)
	case !regionRE.MatchString(f[3]):
		return fmt.Errorf("ARN region %q is not a region name like us-east-1", f[3])
	case !accountRE.MatchString(f[4]):
		return fmt.Errorf("ARN account %q is not 12 digits", f[4])
	}
	return nil
}

// setTail assigns the ECS tail. Up to three fields are key, stage and id;
// with more, the last two are stage and id and the rest is the key, which
// is how a key holding ':' is written.
func (r *Ref) setTail(tail []string) error {
	r.tail = len(tail)
	switch n := len(tail); {
	case n > 3:
		r.JSONKey = strings.Join(tail[:n-2], ":")
		r.VersionStage, r.VersionID = tail[n-2], tail[n-1]
	default:
		fields := append(tail, "", "", "")
		r.JSONKey, r.VersionStage, r.VersionID = fields[0], fields[1], fields[2]
	}
	if n := len(r.VersionStage); n > maxStageLen {
		return fmt.Errorf("version stage is %d characters, at most %d allowed", n, maxStageLen)
	}
	if n := len(r.VersionID); n != 0 && (n < minVersionLen || n > maxVersionLen) {
		return fmt.Errorf("version id is %d characters, want %d to %d", n, minVersionLen, maxVersionLen)
	}
	if strings.ContainsAny(r.VersionStage+r.VersionID, " \t\r\n") {
		return errors.New("version stage and id may not contain white space")
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("secret name is empty")
	case len(name) > maxNameLen:
		return fmt.Errorf("secret name is %d characters, at most %d allowed", len(name), maxNameLen)
	case strings.TrimRight(name, " \t\r\n") != name:
		return errors.New("secret name ends in white space")
	case !nameRE.MatchString(name):
		return errors.New("secret name may hold only A-Z a-z 0-9 / _ + = . @ -")
	}
	return nil
}

// IsParameter reports whether the reference names a Parameter Store
// parameter.
func (r Ref) IsParameter() bool { return r.Kind == Parameter }

// IsARN reports whether the secret id is an ARN rather than a name.
func (r Ref) IsARN() bool { return r.Partition != "" }

// Current reports whether the reference reads the AWSCURRENT version, the
// only one BatchGetSecretValue can return.
func (r Ref) Current() bool {
	if r.Kind == Parameter {
		return r.Selector == ""
	}
	return r.VersionID == "" && (r.VersionStage == "" || r.VersionStage == CurrentStage)
}

// Group is the Flyte/Union secret group: for a secret's ARN, everything
// up to and including ":secret:"; empty for a bare name and a parameter.
func (r Ref) Group() string {
	if !r.IsARN() || r.Kind == Parameter {
		return ""
	}
	return strings.TrimSuffix(r.SecretID, r.Name)
}

// Key is the Flyte/Union secret key: the ARN's name field, or the name
// (a parameter's name).
func (r Ref) Key() string { return r.Name }

// String gives back the reference in the form it was parsed from.
func (r Ref) String() string {
	if r.Kind == Parameter {
		s := r.SecretID
		if !r.IsARN() {
			s = ParameterPrefix + r.Name
		}
		if r.tail > 0 {
			s += ":" + r.Selector
		}
		return s
	}
	if r.tail == 0 {
		return r.SecretID
	}
	fields := []string{r.SecretID, r.JSONKey, r.VersionStage, r.VersionID}
	n := r.tail
	if n > 3 {
		n = 3
	}
	return strings.Join(fields[:1+n], ":")
}
