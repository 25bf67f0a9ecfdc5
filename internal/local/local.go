// Package local resolves references against a JSON file of secrets
// instead of Secrets Manager, so that a developer can run the real
// entrypoint, with the same REFs, offline. It owns the file's schema (see
// docs/local.md) and the guard that keeps it out of production.
package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/resolve"
)

// File is a loaded secrets file. It is both the resolve.Clients and, for
// every region, the resolve.API.
type File struct {
	path    string
	secrets map[string]*secret
	params  map[string]*param // by parameter name, without "ssm:"
}

type secret struct {
	name     string
	versions []*version
}

type version struct {
	id     string
	stages []string
	str    *string
	bin    []byte
}

const current = ref.CurrentStage

// descriptorKeys are the keys of an object that describes a secret rather
// than being its JSON value.
var descriptorKeys = []string{"value", "binary", "id", "versions"}

// Load reads and checks the secrets file at path. Its errors name the
// file and the secret, never a value.
func Load(path string) (*File, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	// A byte-order mark, as some Windows editors write, is not JSON.
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	f := &File{path: path, secrets: map[string]*secret{}, params: map[string]*param{}}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("%s: %s", path, jsonProblem(b, err))
	}
	if top == nil {
		return nil, fmt.Errorf("%s: want a JSON object of secret names to values", path)
	}
	names := make([]string, 0, len(top))
	for name := range top {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if pname, ok := strings.CutPrefix(name, ref.ParameterPrefix); ok {
			p, err := parseParam(pname, top[name])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: parameter %q: %w", path, name, err))
				continue
			}
			f.params[pname] = p
			continue
		}
		s, err := parseSecret(name, top[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: secret %q: %w", path, name, err))
			continue
		}
		f.secrets[name] = s
	}
	return f, errors.Join(errs...)
}

// maxFileSize bounds what Load reads: far more than any file of secrets
// of at most MaxValueSize each needs, and a stop for a path such as
// /dev/zero that never ends.
const maxFileSize = 64 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB, more than a file of secrets needs", path, maxFileSize>>20)
	}
	return b, nil
}

// jsonProblem says where the file is not JSON without quoting it: a
// syntax error's text may hold a character of a value.
func jsonProblem(b []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(b[:se.Offset], []byte("\n"))
		col := int(se.Offset) - bytes.LastIndexByte(b[:se.Offset], '\n') - 1
		return fmt.Sprintf("not valid JSON near line %d, column %d", line, col)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "want a JSON object of secret names to values"
	}
	return "not valid JSON"
}

func parseSecret(name string, raw json.RawMessage) (*secret, error) {
	r, err := ref.Parse(name)
	if err != nil {
		return nil, err
	}
	if r.IsARN() || r.SecretID != name {
		return nil, errors.New("the key must be the secret's name, not an ARN or a REF")
	}
	s := &secret{name: name}
	obj, isDescriptor := descriptor(raw)
	if !isDescriptor {
		str, err := text(raw)
		if err != nil {
			return nil, err
		}
		if err := checkSize(len(str)); err != nil {
			return nil, err
		}
		s.versions = []*version{{stages: []string{current}, str: &str}}
		return s.withIDs(), nil
	}
	if obj["value"] != nil || obj["binary"] != nil {
		v, err := parseVersion(obj)
		if err != nil {
			return nil, err
		}
		v.stages = []string{current}
		s.versions = append(s.versions, v)
	} else if obj["id"] != nil {
		return nil, errors.New(`"id" is the id of the current version and needs "value" or "binary" beside it`)
	}
	if raw := obj["versions"]; raw != nil {
		var vs []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &vs); err != nil {
			return nil, errors.New(`"versions" must be an array of objects`)
		}
		for i, vo := range vs {
			for k := range vo {
				if !slices.Contains([]string{"value", "binary", "id", "stages"}, k) {
					return nil, fmt.Errorf("versions[%d]: unknown key %q (want value or binary, and id, stages)", i, k)
				}
			}
			v, err := parseVersion(vo)
			if err != nil {
				return nil, fmt.Errorf("versions[%d]: %w", i, err)
			}
			if raw := vo["stages"]; raw != nil {
				if err := json.Unmarshal(raw, &v.stages); err != nil {
					return nil, fmt.Errorf("versions[%d]: \"stages\" must be an array of strings", i)
				}
			}
			s.versions = append(s.versions, v)
		}
	}
	if len(s.versions) == 0 {
		return nil, errors.New(`want "value", "binary" or "versions"`)
	}
	s.withIDs()
	return s, s.check()
}

// checkSize refuses a value larger than Secrets Manager holds, so that
// what works from the file works in AWS.
func checkSize(n int) error {
	if n > resolve.MaxValueSize {
		return fmt.Errorf("the value is %d bytes, more than the %d Secrets Manager holds", n, resolve.MaxValueSize)
	}
	return nil
}

// descriptor reports whether raw is an object that describes the secret
// (its keys are all among descriptorKeys, one of value, binary or
// versions among them) rather than being the secret's JSON value.
func descriptor(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || len(obj) == 0 {
		return nil, false
	}
	for k := range obj {
		if !slices.Contains(descriptorKeys, k) {
			return nil, false
		}
	}
	return obj, obj["value"] != nil || obj["binary"] != nil || obj["versions"] != nil
}

// parseVersion reads value or binary, and id, of one version.
func parseVersion(obj map[string]json.RawMessage) (*version, error) {
	v := &version{}
	switch val, bin := obj["value"], obj["binary"]; {
	case val != nil && bin != nil:
		return nil, errors.New(`give "value" or "binary", not both`)
	case val != nil:
		str, err := text(val)
		if err != nil {
			return nil, fmt.Errorf(`"value": %w`, err)
		}
		v.str = &str
	case bin != nil:
		var b64 string
		if json.Unmarshal(bin, &b64) != nil {
			return nil, errors.New(`"binary" must be a base64 string`)
		}
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf(`"binary" is not base64: %w`, err)
		}
		v.bin = b
	default:
		return nil, errors.New(`want "value" or "binary"`)
	}
	if err := checkSize(len(v.bin) + len(aws.ToString(v.str))); err != nil {
		return nil, err
	}
	if raw := obj["id"]; raw != nil {
		if json.Unmarshal(raw, &v.id) != nil {
			return nil, errors.New(`"id" must be a string`)
		}
		if n := len(v.id); n < 32 || n > 64 || strings.ContainsAny(v.id, ": \t\r\n") {
			return nil, fmt.Errorf("version id %q must be 32 to 64 characters without ':' or white space, as a REF needs", v.id)
		}
	}
	return v, nil
}

// text is a value's SecretString: a JSON string as its text, an object or
// array as its compact JSON text, the form Secrets Manager's console
// stores.
func text(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case len(raw) > 0 && (raw[0] == '{' || raw[0] == '['):
		var b bytes.Buffer
		err := json.Compact(&b, raw)
		return b.String(), err
	}
	return "", errors.New(`want a string, a JSON object or array, or {"binary": BASE64}; write a number or true/false as a string`)
}

// withIDs gives each version without an id one derived from the secret's
// name and the version's place, shaped like Secrets Manager's, so that a
// REF can name it; check prints it.
func (s *secret) withIDs() *secret {
	for i, v := range s.versions {
		if v.id == "" {
			h := sha256.Sum256([]byte(fmt.Sprintf("smexec-local\x00%s\x00%d", s.name, i)))
			x := hex.EncodeToString(h[:16])
			v.id = x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
		}
	}
	return s
}

// check holds the file to Secrets Manager's rules: version ids are
// unique, and a stage is on one version at most.
func (s *secret) check() error {
	ids := map[string]bool{}
	stages := map[string]bool{}
	for _, v := range s.versions {
		if ids[v.id] {
			return fmt.Errorf("version id %q is used twice", v.id)
		}
		ids[v.id] = true
		for _, st := range v.stages {
			if st == "" || strings.ContainsAny(st, ": \t\r\n") {
				return fmt.Errorf("stage %q is empty or holds ':' or white space", st)
			}
			if stages[st] {
				if st == current {
					return errors.New(`stage AWSCURRENT is on two versions (the top-level "value" or "binary" is AWSCURRENT)`)
				}
				return fmt.Errorf("stage %q is on two versions", st)
			}
			stages[st] = true
		}
	}
	return nil
}

// Client returns f itself, whatever the region.
func (f *File) Client(context.Context, string) (resolve.API, error) { return f, nil }

// lookup finds the secret an id names: a name as it is; an ARN by its
// name field, as written and then without a 6-character suffix, so that
// REFs copied from production work unchanged.
func (f *File) lookup(id string) (*secret, bool) {
	if !strings.HasPrefix(id, "arn:") {
		s, ok := f.secrets[id]
		return s, ok
	}
	fields := strings.Split(id, ":")
	if len(fields) < 7 {
		return nil, false
	}
	name := fields[6]
	if s, ok := f.secrets[name]; ok {
		return s, true
	}
	if base, ok := resolve.TrimARNSuffix(name); ok {
		s, ok := f.secrets[base]
		return s, ok
	}
	return nil, false
}

// GetSecretValue answers from the file as Secrets Manager would.
func (f *File) GetSecretValue(_ context.Context, in *sm.GetSecretValueInput, _ ...func(*sm.Options)) (*sm.GetSecretValueOutput, error) {
	id := aws.ToString(in.SecretId)
	s, ok := f.lookup(id)
	if !ok {
		hint := fmt.Sprintf("add %q to %s, or check the name", id, f.path)
		if names := namesOf(id); len(names) > 0 {
			hint = fmt.Sprintf("an ARN is looked up by its name, as written and without a 6-character suffix: add %s to %s", strings.Join(names, " or "), f.path)
		}
		return nil, &Error{Cause: "not in " + f.path, Hint: hint}
	}
	vid, stage := aws.ToString(in.VersionId), aws.ToString(in.VersionStage)
	if vid == "" && stage == "" {
		stage = current
	}
	var found *version
	for _, v := range s.versions {
		if (vid == "" || v.id == vid) && (stage == "" || slices.Contains(v.stages, stage)) {
			found = v
			break
		}
	}
	if found == nil {
		what := "stage " + stage
		switch {
		case vid != "" && stage != "":
			what = "id " + vid + " at stage " + stage
		case vid != "":
			what = "id " + vid
		}
		return nil, &Error{
			Cause: fmt.Sprintf("no version with %s in %s", what, f.path),
			Hint:  fmt.Sprintf("add it to %q in %s: a top-level \"value\" is AWSCURRENT, others go under \"versions\" with their \"stages\" (docs/local.md)", s.name, f.path),
		}
	}
	arn := id
	if !strings.HasPrefix(id, "arn:") {
		arn = "local:" + s.name
	}
	out := &sm.GetSecretValueOutput{
		ARN:           &arn,
		Name:          &s.name,
		VersionId:     &found.id,
		VersionStages: slices.Clone(found.stages),
		SecretBinary:  found.bin,
	}
	if found.str != nil {
		str := *found.str
		out.SecretString = &str
	}
	return out, nil
}

// BatchGetSecretValue is not offered: the resolver reads a file one
// secret at a time.
func (f *File) BatchGetSecretValue(context.Context, *sm.BatchGetSecretValueInput, ...func(*sm.Options)) (*sm.BatchGetSecretValueOutput, error) {
	return nil, &Error{Cause: "a local file has no BatchGetSecretValue"}
}

// namesOf lists, quoted, the names an ARN is looked up by.
func namesOf(id string) []string {
	fields := strings.Split(id, ":")
	if !strings.HasPrefix(id, "arn:") || len(fields) < 7 {
		return nil
	}
	names := []string{fmt.Sprintf("%q", fields[6])}
	if base, ok := resolve.TrimARNSuffix(fields[6]); ok {
		names = append(names, fmt.Sprintf("%q", base))
	}
	return names
}

// Error is a secret the file does not hold, said for a developer.
type Error struct {
	Cause string
	Hint  string
}

func (e *Error) Error() string                 { return e.Cause }
func (e *Error) Explain() (cause, hint string) { return e.Cause, e.Hint }
