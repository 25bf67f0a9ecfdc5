package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/resolve"
	"github.com/smexec/smexec/internal/target"
)

// value is a mapping with its resolved value.
type value struct {
	target.Mapping
	Secret *resolve.Secret
	Data   []byte
}

// preserve drops env mappings whose name is already set in environ, so
// their secrets are not fetched.
func preserve(ms []target.Mapping, environ []string) []target.Mapping {
	set := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	return slices.DeleteFunc(ms, func(m target.Mapping) bool {
		return m.Kind == target.Env && set[m.Name]
	})
}

// resolveAll fetches and renders every mapping. It returns the values of
// those that resolved and a Failure holding every one that did not, one
// line each, naming the mapping.
func resolveAll(ctx context.Context, deps *Deps, af AWSFlags, ms []target.Mapping) ([]value, error) {
	if af.Concurrency < 1 {
		return nil, fail(fmt.Errorf("--concurrency %d: want 1 or more", af.Concurrency))
	}
	if af.Timeout <= 0 {
		return nil, fail(fmt.Errorf("--timeout %v: want a positive duration", af.Timeout))
	}
	clients, source, noBatch, err := af.source(deps)
	if err != nil {
		return nil, err
	}
	// A source built for this call (the agent's client) keeps no
	// connections past it: a --refresh poll builds the next one.
	if c, ok := clients.(interface{ CloseIdleConnections() }); ok {
		defer c.CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(ctx, af.Timeout)
	defer cancel()

	refs := make([]ref.Ref, len(ms))
	for i, m := range ms {
		refs[i] = m.Ref
	}
	r := &resolve.Resolver{Clients: clients, Region: af.Region, NoBatch: af.NoBatch || noBatch, Concurrency: af.Concurrency, Log: deps.Log}
	results := r.Fetch(ctx, refs)

	var vals []value
	var errs []error
	for i, m := range ms {
		res := results[i]
		if res.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Source, res.Err))
			continue
		}
		data, err := resolve.Render(res.Secret, m.Ref.JSONKey)
		if err == nil && m.Kind == target.Env {
			err = target.CheckEnvValue(m.Name, data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: secret %s: %w", m.Source, m.Ref.SecretID, err))
			continue
		}
		vals = append(vals, value{Mapping: m, Secret: res.Secret, Data: data})
		audit(deps.Log, source, m, res.Secret)
	}
	if len(errs) > 0 {
		return vals, fail(errs...)
	}
	return vals, nil
}
