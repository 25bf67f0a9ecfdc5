package ref

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The Parameter Store forms:
//
//	arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME [":" SELECTOR]
//	ssm:NAME [":" SELECTOR]
//
// The ARN is what ECS takes in a valueFrom; the name of a hierarchy
// (/prod/db/password) loses its leading "/" there
// (…:parameter/prod/db/password). ssm:NAME is smexec's short form for a
// parameter of the configured region: a bare name stays a Secrets
// Manager secret. SELECTOR is a version (digits) or a label, as SSM's
// GetParameters reads NAME:SELECTOR. Parameters have no JSON keys: ECS
// reads none for Parameter Store, so a second ':' field is refused.

// ParameterPrefix starts the short form of a parameter reference.
const ParameterPrefix = "ssm:"

// ReferencePrefix is the Parameter Store path under which a parameter
// stands for the Secrets Manager secret named after it.
const ReferencePrefix = "/aws/reference/secretsmanager/"

const (
	// maxParameterNameLen is SSM's bound on a parameter name.
	maxParameterNameLen = 2048
	// maxLabelLen is SSM's bound on a label.
	maxLabelLen = 100
)

var (
	parameterNameRE = regexp.MustCompile(`^[A-Za-z0-9/_.-]+$`)
	// A Parameter Store reference to a secret holds a secret's name.
	referenceNameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)
	versionRE       = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	labelRE         = regexp.MustCompile(`^[A-Za-z_.-][A-Za-z0-9_.-]*$`)
	// The selector of a reference to a secret is its stage or version id.
	referenceSelectorRE = regexp.MustCompile(`^[A-Za-z0-9_.+=@-]+$`)
)

// Pinned reports whether the reference names a version that never
// changes: a secret's version id, or a parameter's version number (a
// label, like a stage, can move).
func (r Ref) Pinned() bool {
	if r.Kind == Parameter {
		return r.Selector != "" && r.Selector[0] >= '0' && r.Selector[0] <= '9' && !strings.HasPrefix(r.Name, ReferencePrefix)
	}
	return r.VersionID != ""
}

// isParameter reports whether s is written in one of the parameter forms.
func isParameter(s string) bool {
	if strings.HasPrefix(s, ParameterPrefix) {
		return true
	}
	f := strings.SplitN(s, ":", 4)
	return len(f) == 4 && f[0] == "arn" && f[2] == "ssm"
}

func parseParameter(s string) (Ref, error) {
	r := Ref{Kind: Parameter}
	var tail []string
	if rest, ok := strings.CutPrefix(s, ParameterPrefix); ok {
		name, sel, found := strings.Cut(rest, ":")
		if err := checkParameterName(name); err != nil {
			return Ref{}, err
		}
		r.Name, r.SecretID = name, name
		if found {
			tail = strings.Split(sel, ":")
		}
	} else {
		var err error
		if tail, err = r.setParameterARN(strings.Split(s, ":")); err != nil {
			return Ref{}, err
		}
	}
	switch len(tail) {
	case 0:
	case 1:
		r.tail, r.Selector = 1, tail[0]
	default:
		return Ref{}, errors.New("a parameter takes one selector (NAME:VERSION or NAME:LABEL) and no JSON key: ECS reads no JSON keys from Parameter Store")
	}
	if err := checkSelector(r.Name, r.Selector); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// setParameterARN sets the parameter an ARN's fields f name, and returns
// the REF's tail after them.
func (r *Ref) setParameterARN(f []string) (tail []string, err error) {
	if err := checkARN(f, 6, "ssm", "arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME"); err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(f[5], "parameter/")
	if !ok {
		return nil, errors.New("ARN of service ssm names no parameter/NAME (a Secrets Manager ARN has service secretsmanager)")
	}
	// The ARN of /prod/db is …:parameter/prod/db: a name with a "/" is a
	// hierarchy, which SSM names with a leading "/".
	name := rest
	if strings.Contains(rest, "/") {
		name = "/" + rest
	}
	if err := checkParameterName(name); err != nil {
		return nil, err
	}
	r.Partition, r.Region, r.Account, r.Name = f[1], f[3], f[4], name
	r.SecretID = strings.Join(f[:6], ":")
	return f[6:], nil
}

func checkParameterName(name string) error {
	valid := parameterNameRE
	if strings.HasPrefix(name, ReferencePrefix) {
		valid = referenceNameRE
	}
	switch {
	case name == "":
		return errors.New("parameter name is empty")
	case len(name) > maxParameterNameLen:
		return fmt.Errorf("parameter name is %d characters, at most %d allowed", len(name), maxParameterNameLen)
	case !valid.MatchString(name):
		return errors.New("parameter name may hold only A-Z a-z 0-9 / _ . -")
	case strings.Contains(name, "/") && name[0] != '/':
		return errors.New("parameter name holds '/' but does not start with it: a hierarchy is written /a/b")
	case strings.Contains(name, "//") || strings.HasSuffix(name, "/"):
		return errors.New("parameter name has an empty level between '/'")
	}
	return nil
}

// checkSelector checks a version or label the way SSM reads them: all
// digits is a version, anything else a label, which may not start with
// a digit. A reference to a secret takes the secret's stage or version id.
func checkSelector(name, sel string) error {
	switch {
	case sel == "":
		return nil
	case strings.HasPrefix(name, ReferencePrefix):
		if len(sel) > maxStageLen || !referenceSelectorRE.MatchString(sel) {
			return errors.New("the selector of a Secrets Manager reference is a version stage or id")
		}
		return nil
	case sel[0] >= '0' && sel[0] <= '9':
		if !versionRE.MatchString(sel) {
			return fmt.Errorf("parameter selector %q starts with a digit but is not a version number: a label may not start with a digit", sel)
		}
		return nil
	case len(sel) > maxLabelLen:
		return fmt.Errorf("parameter label is %d characters, at most %d allowed", len(sel), maxLabelLen)
	case !labelRE.MatchString(sel):
		return errors.New("parameter label may hold only A-Z a-z 0-9 _ . -")
	case hasFoldPrefix(sel, "aws") || hasFoldPrefix(sel, "ssm"):
		return errors.New("parameter label may not start with aws or ssm")
	}
	return nil
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
