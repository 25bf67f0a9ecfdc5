package resolve

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/smithy-go"
)

// fakeParam is one version of a fake parameter.
type fakeParam struct {
	value  string
	typ    string
	labels []string
}

// fakeSSM is one region's Parameter Store, answering GetParameters from
// memory as the real one does: a name or an ARN of the caller's account,
// with an optional :VERSION or :LABEL; what it cannot answer is listed
// in InvalidParameters.
type fakeSSM struct {
	region string // "" is us-east-1
	params map[string][]fakeParam
	// refName: answer a /aws/reference/secretsmanager/ parameter with the
	// secret's name, as moto does, rather than the parameter's.
	refName bool
	// deny fails a whole call that names one of these, as IAM does.
	deny map[string]error
	// before, when set, runs first in every call; an error it returns is
	// the call's answer.
	before func() error
	// answer, when set, replaces the Parameters of an answer.
	answer func(names []string) []Parameter

	mu    sync.Mutex
	calls [][]string // the names of each call, in order
}

func (f *fakeSSM) put(name string, versions ...fakeParam) *fakeSSM {
	if f.params == nil {
		f.params = map[string][]fakeParam{}
	}
	f.params[name] = append(f.params[name], versions...)
	return f
}

func (f *fakeSSM) arn(name string) string {
	region := f.region
	if region == "" {
		region = "us-east-1"
	}
	return "arn:aws:ssm:" + region + ":123456789012:parameter/" + strings.TrimPrefix(name, "/")
}

func (f *fakeSSM) GetParameters(_ context.Context, names []string, _ func(error)) (*ParamsOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, slices.Clone(names))
	f.mu.Unlock()
	if len(names) > ParamBatchSize {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "Member must have length less than or equal to 10"}
	}
	if f.before != nil {
		if err := f.before(); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		if err := f.deny[n]; err != nil {
			return nil, err
		}
	}
	out := &ParamsOutput{}
	for _, asked := range names {
		id, sel, _ := strings.Cut(asked, ":")
		if strings.HasPrefix(asked, "arn:") {
			fs := strings.SplitN(asked, ":", 7)
			id, sel = fs[5], ""
			if len(fs) == 7 {
				sel = fs[6]
			}
			if fs[4] != "123456789012" {
				out.InvalidParameters = append(out.InvalidParameters, asked)
				continue
			}
			id = strings.TrimPrefix(id, "parameter/")
			if strings.Contains(id, "/") {
				id = "/" + id
			}
		}
		vs := f.params[id]
		var found *fakeParam
		version := 0
		for i := range vs {
			if sel == "" || sel == strconv.Itoa(i+1) || slices.Contains(vs[i].labels, sel) {
				found, version = &vs[i], i+1
			}
		}
		if found == nil {
			out.InvalidParameters = append(out.InvalidParameters, asked)
			continue
		}
		name := id
		if f.refName {
			name = strings.TrimPrefix(id, "/aws/reference/secretsmanager/")
		}
		p := Parameter{Name: name, ARN: f.arn(id), Type: found.typ, Value: ptr(found.value), Version: int64(version)}
		if sel != "" {
			p.Selector = ":" + sel
		}
		out.Parameters = append(out.Parameters, p)
	}
	if f.answer != nil {
		out.Parameters = f.answer(names)
	}
	return out, nil
}

func (f *fakeSSM) callNames() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}
