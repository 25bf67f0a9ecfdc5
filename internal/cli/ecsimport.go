package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/smexec/smexec/internal/ecstask"
	"github.com/smexec/smexec/internal/target"
)

// ECSImportCmd prints the --mappings file equivalent to an ECS task
// definition's secrets.
type ECSImportCmd struct {
	File      string `arg:"" name:"FILE" help:"Task definition JSON: the output of aws ecs describe-task-definition or the input of register-task-definition; - reads stdin."`
	Container string `placeholder:"NAME" help:"Print only the secrets of container NAME."`
}

// maxTaskDefinition bounds what ecs-import reads.
const maxTaskDefinition = 16 << 20

func (c *ECSImportCmd) Run(deps *Deps) error {
	in := deps.Stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return fail(fmt.Errorf("ecs-import: %w", err))
		}
		defer f.Close()
		in = f
	}
	// ECS holds a task definition of at most 64 KiB; a path such as
	// /dev/zero never ends.
	data, err := io.ReadAll(io.LimitReader(in, maxTaskDefinition+1))
	if err != nil {
		return fail(fmt.Errorf("ecs-import: %w", err))
	}
	if len(data) > maxTaskDefinition {
		return fail(fmt.Errorf("ecs-import %s: larger than %d MiB, more than a task definition holds", c.File, maxTaskDefinition>>20))
	}
	td, err := ecstask.Parse(data)
	if err != nil {
		return fail(fmt.Errorf("ecs-import %s: %w", c.File, err))
	}
	containers := td.Containers
	if c.Container != "" {
		containers = nil
		var names []string
		for _, ct := range td.Containers {
			names = append(names, ct.Name)
			if ct.Name == c.Container {
				containers = append(containers, ct)
			}
		}
		if containers == nil {
			return fail(fmt.Errorf("--container %s: no such container in %s (it has %s)", c.Container, c.File, strings.Join(names, ", ")))
		}
	}

	var b strings.Builder
	var errs, warnings []error
	setBy := map[string][]string{} // env name: the containers that set it
	name := td.Family
	if td.Revision > 0 {
		name = fmt.Sprintf("%s:%d", td.Family, td.Revision)
	}
	// Text from the task definition goes into comments escaped: a line
	// break in it would start a line of its own, a mapping.
	fmt.Fprintf(&b, "# smexec mappings from the ECS task definition %s, by smexec ecs-import:\n", escape(name))
	fmt.Fprintf(&b, "# each entry of a container's \"secrets\" as NAME=valueFrom.\n")
	for _, ct := range containers {
		fmt.Fprintf(&b, "# container %s\n", escape(ct.Name))
		var ms []target.Mapping
		for _, s := range ct.Secrets {
			src := fmt.Sprintf("container %s: %s=%s", ct.Name, s.Name, s.ValueFrom)
			r, kind, err := ecstask.Classify(s.ValueFrom)
			if err == nil && strings.ContainsAny(r, "\r\n") {
				err = errors.New("the JSON key holds a line break, which a mappings file cannot carry; use -e NAME=REF")
			}
			if err == nil {
				var m target.Mapping
				if m, err = target.ParseEnv(s.Name + "=" + r); err == nil {
					m.Source = src
					ms = append(ms, m)
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("ecs-import %s: %s: %w", c.File, src, err))
				continue
			}
			switch kind {
			case ecstask.Reference:
				fmt.Fprintf(&b, "# from the Parameter Store reference %s\n", escape(s.ValueFrom))
			}
			fmt.Fprintf(&b, "%s=%s\n", s.Name, r)
			setBy[s.Name] = append(setBy[s.Name], ct.Name)
		}
		if err := target.CheckDuplicates(ms); err != nil {
			errs = append(errs, fmt.Errorf("ecs-import %s: %w", c.File, err))
		}
	}
	if len(errs) > 0 {
		return fail(errs...)
	}
	for _, ct := range containers {
		for _, s := range ct.Secrets {
			if by := setBy[s.Name]; len(by) > 1 && by[0] == ct.Name {
				warnings = append(warnings, fmt.Errorf("%s is set by containers %s; smexec reads one mappings file a container: use --container NAME", s.Name, strings.Join(by, ", ")))
				setBy[s.Name] = by[:1:1]
			}
		}
	}
	for _, w := range warnings {
		warn(deps, w.Error())
	}
	_, err = io.WriteString(deps.Stdout, b.String())
	return err
}
