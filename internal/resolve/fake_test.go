package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// version is one version of a fake secret.
type version struct {
	id     string
	stages []string
	str    *string
	bin    []byte
}

// fakeSecret is a secret held by a fakeAPI.
type fakeSecret struct {
	name     string
	arn      string // the full ARN, with its 6-character suffix
	versions []version
}

// read is one secret version asked for, by GetSecretValue or as one id of
// a BatchGetSecretValue call. A read of AWSCURRENT has stage "".
type read struct{ id, versionID, stage string }

// fakeAPI is one region's Secrets Manager, answering from memory the way
// the real one does: a secret is found by name, full ARN or partial ARN.
type fakeAPI struct {
	// region goes into the ARNs of secrets made with add; "" is us-east-1.
	region  string
	secrets []*fakeSecret
	// fail maps a secret id, as asked for, to the error reads of it get.
	// In a batch, an API error becomes an entry of Errors; any other
	// error fails the whole call.
	fail map[string]error
	// batchFail is fail for reads inside BatchGetSecretValue calls alone.
	batchFail map[string]error
	// batchErr, when set, answers every BatchGetSecretValue call.
	batchErr error
	// hook, when set, runs inside every GetSecretValue call.
	hook func()
	// before, when set, runs first in every call, with the operation's
	// name; an error it returns is the call's answer (a throttle, say).
	before func(op string) error
	// entries, when set, replaces the SecretValues of a batch answer.
	entries func(ids []string) []types.SecretValueEntry

	mu      sync.Mutex
	reads   map[read]int
	gets    int
	batches int
	calls   []string // operations in the order they came
}

// add makes a secret with one version, at AWSCURRENT.
func (f *fakeAPI) add(name, value string) *fakeAPI {
	v := value
	return f.addVersions(name, version{id: currentID, stages: []string{"AWSCURRENT"}, str: &v})
}

func (f *fakeAPI) addVersions(name string, vs ...version) *fakeAPI {
	region, partition := f.region, "aws"
	if region == "" {
		region = "us-east-1"
	}
	if strings.HasPrefix(region, "cn-") {
		partition = "aws-cn"
	}
	f.secrets = append(f.secrets, &fakeSecret{
		name:     name,
		arn:      "arn:" + partition + ":secretsmanager:" + region + ":123456789012:secret:" + name + "-AbCdEf",
		versions: vs,
	})
	return f
}

var (
	currentID  = strings.Repeat("c", 32)
	previousID = strings.Repeat("p", 32)
)

func (f *fakeAPI) record(r read, batch bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reads == nil {
		f.reads = map[read]int{}
	}
	f.reads[r]++
	if !batch {
		f.gets++
	}
}

func (f *fakeAPI) readCounts() map[read]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[read]int{}
	for k, v := range f.reads {
		m[k] = v
	}
	return m
}

func (f *fakeAPI) lookup(id string) *fakeSecret {
	for _, s := range f.secrets {
		partial := strings.HasPrefix(id, "arn:") && len(s.arn) == len(id)+7 && strings.HasPrefix(s.arn, id+"-")
		// A name reads the caller's account's secret of that name.
		byName := id == s.name && strings.Contains(s.arn, ":123456789012:secret:")
		if byName || id == s.arn || partial {
			return s
		}
	}
	return nil
}

func notFound(msg string) error {
	return &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: msg}
}

func (f *fakeAPI) GetSecretValue(ctx context.Context, in *sm.GetSecretValueInput, _ ...func(*sm.Options)) (*sm.GetSecretValueOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, &smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "GetSecretValue", Err: err}
	}
	f.mu.Lock()
	f.calls = append(f.calls, opGet)
	f.mu.Unlock()
	if f.before != nil {
		if err := f.before(opGet); err != nil {
			return nil, err
		}
	}
	id, vid, stage := aws.ToString(in.SecretId), aws.ToString(in.VersionId), aws.ToString(in.VersionStage)
	counted := stage
	if vid == "" && stage == "AWSCURRENT" {
		counted = ""
	}
	f.record(read{id, vid, counted}, false)
	if f.hook != nil {
		f.hook()
	}
	if err := f.fail[id]; err != nil {
		return nil, err
	}
	s := f.lookup(id)
	if s == nil {
		return nil, notFound("Secrets Manager can't find the specified secret.")
	}
	if vid == "" && stage == "" {
		stage = "AWSCURRENT"
	}
	for _, v := range s.versions {
		if (vid == "" || v.id == vid) && (stage == "" || slices.Contains(v.stages, stage)) {
			return &sm.GetSecretValueOutput{
				ARN: &s.arn, Name: &s.name, VersionId: &v.id, VersionStages: v.stages,
				SecretString: v.str, SecretBinary: v.bin,
			}, nil
		}
	}
	if vid != "" {
		return nil, notFound("Secrets Manager can't find the specified secret value for VersionId: " + vid)
	}
	return nil, notFound("Secrets Manager can't find the specified secret value for staging label: " + stage)
}

func (f *fakeAPI) BatchGetSecretValue(ctx context.Context, in *sm.BatchGetSecretValueInput, _ ...func(*sm.Options)) (*sm.BatchGetSecretValueOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, &smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "BatchGetSecretValue", Err: err}
	}
	f.mu.Lock()
	f.batches++
	f.calls = append(f.calls, opBatch)
	f.mu.Unlock()
	if f.before != nil {
		if err := f.before(opBatch); err != nil {
			return nil, err
		}
	}
	if f.batchErr != nil {
		return nil, f.batchErr
	}
	if len(in.SecretIdList) > 20 {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "too many secret ids"}
	}
	out := &sm.BatchGetSecretValueOutput{}
	for _, id := range in.SecretIdList {
		f.record(read{id: id}, true)
		err := f.fail[id]
		if be := f.batchFail[id]; be != nil {
			err = be
		}
		if err != nil {
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				return nil, err
			}
			out.Errors = append(out.Errors, types.APIErrorType{
				SecretId: ptr(id), ErrorCode: ptr(ae.ErrorCode()), Message: ptr(ae.ErrorMessage()),
			})
			continue
		}
		s := f.lookup(id)
		if s == nil {
			out.Errors = append(out.Errors, types.APIErrorType{
				SecretId: ptr(id), ErrorCode: ptr("ResourceNotFoundException"),
				Message: ptr("Secrets Manager can't find the specified secret."),
			})
			continue
		}
		if f.entries != nil {
			continue
		}
		for _, v := range s.versions {
			if slices.Contains(v.stages, "AWSCURRENT") {
				out.SecretValues = append(out.SecretValues, types.SecretValueEntry{
					ARN: &s.arn, Name: &s.name, VersionId: ptr(v.id), VersionStages: v.stages,
					SecretString: v.str, SecretBinary: v.bin,
				})
			}
		}
	}
	if f.entries != nil {
		out.SecretValues = f.entries(in.SecretIdList)
	}
	return out, nil
}

func ptr(s string) *string { return &s }

// fakeClients hands out one fakeAPI a region and records the regions it
// was asked for. Region "" is the configured one.
type fakeClients struct {
	apis map[string]*fakeAPI
	// params is each region's Parameter Store; nil: the clients read
	// secrets only.
	params map[string]*fakeSSM
	// err, when set, is the answer for region "".
	err error
	// selfRetrying stands for the SDK with the user's retry settings:
	// the resolver then makes one call a read.
	selfRetrying bool

	mu    sync.Mutex
	asked map[string]int
}

func (c *fakeClients) Client(_ context.Context, region string) (API, error) {
	c.mu.Lock()
	if c.asked == nil {
		c.asked = map[string]int{}
	}
	c.asked[region]++
	c.mu.Unlock()
	if region == "" && c.err != nil {
		return nil, c.err
	}
	api, ok := c.apis[region]
	if !ok {
		return nil, fmt.Errorf("test has no client for region %q", region)
	}
	return api, nil
}

func (c *fakeClients) RetriesItself(context.Context) bool { return c.selfRetrying }

func (c *fakeClients) regions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var rs []string
	for r := range c.asked {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

func (c *fakeClients) ParamClient(_ context.Context, region string) (ParamAPI, error) {
	if c.params == nil {
		return nil, ErrNoParameters
	}
	if region == "" && c.err != nil {
		return nil, c.err
	}
	api, ok := c.params[region]
	if !ok {
		return nil, fmt.Errorf("test has no parameter client for region %q", region)
	}
	return api, nil
}
