// Package ecstask owns reading ECS task definitions: the secrets of each
// container, and what each valueFrom is to smexec.
package ecstask

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/smexec/smexec/internal/ref"
)

// TaskDefinition is the part of an ECS task definition smexec reads.
type TaskDefinition struct {
	Family     string      `json:"family"`
	Revision   int         `json:"revision"`
	Containers []Container `json:"containerDefinitions"`
}

// Container is one container definition.
type Container struct {
	Name    string   `json:"name"`
	Secrets []Secret `json:"secrets"`
}

// Secret is one entry of a container's "secrets".
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// Parse reads a task definition in either shape the AWS CLI deals in:
// the output of describe-task-definition ({"taskDefinition": {...}}) or
// the input of register-task-definition (the definition itself).
func Parse(data []byte) (*TaskDefinition, error) {
	// A byte-order mark, as some Windows editors write, is not JSON.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not a task definition: %w", err)
	}
	if inner, ok := top["taskDefinition"]; ok {
		if err := json.Unmarshal(inner, &top); err != nil {
			return nil, fmt.Errorf("not a task definition: taskDefinition: %w", err)
		}
		data = inner
	}
	if _, ok := top["containerDefinitions"]; !ok {
		return nil, errors.New("not a task definition: no containerDefinitions (want the output of aws ecs describe-task-definition or the input of register-task-definition)")
	}
	var td TaskDefinition
	if err := json.Unmarshal(data, &td); err != nil {
		return nil, fmt.Errorf("not a task definition: %w", err)
	}
	return &td, nil
}

// Kind is what a valueFrom names.
type Kind int

const (
	// SecretsManager is a Secrets Manager ARN: the valueFrom is the REF.
	SecretsManager Kind = iota
	// Reference is an SSM parameter under /aws/reference/secretsmanager/,
	// which Parameter Store resolves to the Secrets Manager secret named
	// after that prefix: the REF is that secret.
	Reference
	// SSM is any other SSM parameter, by ARN or, as ECS reads a valueFrom
	// that is not an ARN, by name: the REF is the ARN, or ssm:NAME.
	SSM
)

const referencePrefix = "/aws/reference/secretsmanager/"

// Classify says what valueFrom names and the REF smexec reads for it. A
// valueFrom that smexec would not accept is an error.
func Classify(valueFrom string) (string, Kind, error) {
	if !strings.HasPrefix(valueFrom, "arn:") {
		if id, ok := strings.CutPrefix(valueFrom, referencePrefix); ok && plainID(id) {
			return id, Reference, nil
		}
		return parameter(ref.ParameterPrefix + valueFrom)
	}
	f := strings.SplitN(valueFrom, ":", 6)
	if len(f) == 6 && f[2] == "ssm" {
		name, _ := strings.CutPrefix(f[5], "parameter")
		if id, ok := strings.CutPrefix(name, referencePrefix); ok && plainID(id) {
			r := strings.Join([]string{"arn", f[1], "secretsmanager", f[3], f[4], "secret", id}, ":")
			if _, err := ref.Parse(r); err == nil {
				return r, Reference, nil
			}
		}
		return parameter(valueFrom)
	}
	if _, err := ref.Parse(valueFrom); err != nil {
		return "", 0, err
	}
	return valueFrom, SecretsManager, nil
}

// parameter checks the REF of a parameter.
func parameter(r string) (string, Kind, error) {
	if _, err := ref.Parse(r); err != nil {
		return "", 0, fmt.Errorf("an SSM parameter: %w", err)
	}
	return r, SSM, nil
}

// plainID reports whether id is a secret name with nothing after it, the
// only form smexec turns a Parameter Store reference into.
func plainID(id string) bool {
	r, err := ref.Parse(id)
	return err == nil && !strings.Contains(id, ":") && r.SecretID == id
}
