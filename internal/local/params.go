package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/resolve"
)

// Parameters. A key "ssm:NAME" holds the Parameter Store parameter NAME:
// a string (one version, type String), or {"value": STRING, "type": T}
// or {"versions": [{"value": STRING, "labels": [...]}, ...], "type": T},
// versions numbered from 1 in order, the last one the latest.

type param struct {
	name     string
	typ      string
	versions []paramVersion
}

type paramVersion struct {
	value  string
	labels []string
}

// maxParamSize is the largest value Parameter Store holds (the advanced
// tier's 8 KB).
const maxParamSize = 8192

func parseParam(name string, raw json.RawMessage) (*param, error) {
	r, err := ref.Parse(ref.ParameterPrefix + name)
	if err != nil {
		return nil, err
	}
	if r.Selector != "" || strings.Contains(name, ":") {
		return nil, errors.New("the key must be ssm: and the parameter's name, without a version or label")
	}
	if strings.HasPrefix(name, ref.ReferencePrefix) {
		return nil, fmt.Errorf("a reference to a secret is not stored: add the secret itself, and %s… reads it", ref.ReferencePrefix)
	}
	p := &param{name: name, typ: "String"}
	var v string
	if json.Unmarshal(raw, &v) == nil {
		if err := checkParamSize(len(v)); err != nil {
			return nil, err
		}
		p.versions = []paramVersion{{value: v}}
		return p, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, errors.New(`want a string, or an object with "value" or "versions" and an optional "type"`)
	}
	for k := range obj {
		if !slices.Contains([]string{"value", "versions", "type"}, k) {
			return nil, fmt.Errorf(`unknown key %q (want "value" or "versions", and "type")`, k)
		}
	}
	if raw := obj["type"]; raw != nil {
		var t string
		if json.Unmarshal(raw, &t) != nil || !slices.Contains([]string{"String", "StringList", "SecureString"}, t) {
			return nil, errors.New(`"type" must be "String", "StringList" or "SecureString"`)
		}
		p.typ = t
	}
	switch val, vs := obj["value"], obj["versions"]; {
	case val != nil && vs != nil:
		return nil, errors.New(`give "value" or "versions", not both: the last of "versions" is the latest`)
	case val != nil:
		if json.Unmarshal(val, &v) != nil {
			return nil, errors.New(`"value" must be a string: Parameter Store holds text`)
		}
		if err := checkParamSize(len(v)); err != nil {
			return nil, err
		}
		p.versions = []paramVersion{{value: v}}
	case vs != nil:
		var list []struct {
			Value  *string  `json:"value"`
			Labels []string `json:"labels"`
		}
		if json.Unmarshal(vs, &list) != nil || len(list) == 0 {
			return nil, errors.New(`"versions" must be a non-empty array of {"value": STRING, "labels": [...]}`)
		}
		seen := map[string]bool{}
		for i, e := range list {
			if e.Value == nil {
				return nil, fmt.Errorf(`versions[%d]: want "value"`, i)
			}
			if err := checkParamSize(len(*e.Value)); err != nil {
				return nil, fmt.Errorf("versions[%d]: %w", i, err)
			}
			for _, l := range e.Labels {
				if _, err := ref.Parse(ref.ParameterPrefix + "x:" + l); err != nil || l == "" || l[0] >= '0' && l[0] <= '9' {
					return nil, fmt.Errorf("versions[%d]: label %q is not a label SSM allows", i, l)
				}
				if seen[l] {
					return nil, fmt.Errorf("label %q is on two versions", l)
				}
				seen[l] = true
			}
			p.versions = append(p.versions, paramVersion{value: *e.Value, labels: e.Labels})
		}
	default:
		return nil, errors.New(`want "value" or "versions"`)
	}
	return p, nil
}

func checkParamSize(n int) error {
	if n > maxParamSize {
		return fmt.Errorf("the value is %d bytes, more than the %d Parameter Store holds", n, maxParamSize)
	}
	return nil
}

// ParamClient returns f itself, whatever the region.
func (f *File) ParamClient(context.Context, string) (resolve.ParamAPI, error) { return f, nil }

// GetParameters answers from the file as Parameter Store would. The
// resolver asks a file for one name a call (it reads a file without
// batches), so a name the file lacks is an error that says where to add
// it; with several names it is listed in InvalidParameters.
func (f *File) GetParameters(_ context.Context, names []string, _ func(error)) (*resolve.ParamsOutput, error) {
	out := &resolve.ParamsOutput{}
	for _, asked := range names {
		p, err := f.param(asked)
		if err != nil {
			if len(names) == 1 {
				return nil, err
			}
			out.InvalidParameters = append(out.InvalidParameters, asked)
			continue
		}
		out.Parameters = append(out.Parameters, *p)
	}
	return out, nil
}

// param finds the parameter version asked names: NAME or a parameter ARN
// (by its name; region and account are not compared), with an optional
// selector. A reference to a secret reads the secret of the file.
func (f *File) param(asked string) (*resolve.Parameter, error) {
	r, err := ref.Parse(ref.ParameterPrefix + asked)
	if strings.HasPrefix(asked, "arn:") {
		r, err = ref.Parse(asked)
	}
	if err != nil {
		return nil, &Error{Cause: "not a parameter name: " + err.Error()}
	}
	arn := asked
	if r.Selector != "" || strings.HasSuffix(arn, ":") {
		arn = arn[:strings.LastIndexByte(arn, ':')]
	}
	if !r.IsARN() {
		arn = "local:ssm:" + r.Name
	}
	if id, ok := strings.CutPrefix(r.Name, ref.ReferencePrefix); ok {
		return f.reference(id, r.Selector, arn, r.Name)
	}
	p, ok := f.params[r.Name]
	if !ok {
		return nil, &Error{Cause: "not in " + f.path, Hint: fmt.Sprintf("add %q to %s, or check the name", ref.ParameterPrefix+r.Name, f.path)}
	}
	n := len(p.versions)
	if r.Selector != "" {
		n = 0
		for i, v := range p.versions {
			if strconv.Itoa(i+1) == r.Selector || slices.Contains(v.labels, r.Selector) {
				n = i + 1
			}
		}
		if n == 0 {
			return nil, &Error{
				Cause: fmt.Sprintf("no version or label %s in %s", r.Selector, f.path),
				Hint:  fmt.Sprintf("versions of %q are numbered from 1 in the order of \"versions\", labels are each version's \"labels\" (docs/local.md)", ref.ParameterPrefix+r.Name),
			}
		}
	}
	v := p.versions[n-1].value
	return &resolve.Parameter{Name: p.name, ARN: arn, Type: p.typ, Value: &v, Version: int64(n)}, nil
}

// reference reads the secret a /aws/reference/secretsmanager/ parameter
// names, at the stage or version id its selector gives, as Parameter
// Store does.
func (f *File) reference(id, sel, arn, name string) (*resolve.Parameter, error) {
	in := &sm.GetSecretValueInput{SecretId: &id}
	if sel != "" {
		if len(sel) >= 32 && strings.Count(sel, "-") == 4 {
			in.VersionId = &sel
		} else {
			in.VersionStage = &sel
		}
	}
	out, err := f.GetSecretValue(context.Background(), in)
	if err != nil {
		return nil, err
	}
	if out.SecretString == nil {
		return nil, &Error{Cause: "the secret " + id + " is binary, which Parameter Store does not reference"}
	}
	return &resolve.Parameter{Name: name, ARN: arn, Type: "SecureString", Value: out.SecretString}, nil
}
