package cli

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

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
	fetch, _ := splitPreserved(ms, environ)
	return fetch
}

// splitPreserved splits ms into the mappings to fetch and the env
// mappings --preserve-env keeps as environ has them.
func splitPreserved(ms []target.Mapping, environ []string) (fetch, kept []target.Mapping) {
	set := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	for _, m := range ms {
		if m.Kind == target.Env && set[m.Name] {
			kept = append(kept, m)
		} else {
			fetch = append(fetch, m)
		}
	}
	return fetch, kept
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
	start := time.Now()
	logPlan(deps.Log, ms, source, af, noBatch)
	r := &resolve.Resolver{Clients: clients, Region: af.Region, NoBatch: af.NoBatch || noBatch, Concurrency: af.Concurrency, Log: deps.Log}
	results := r.Fetch(ctx, refs)

	var vals []value
	var errs []error
	for i, m := range ms {
		res := results[i]
		if res.Err != nil {
			errs = append(errs, mappingErr(m.Source, m.Ref.SecretID, res.Err))
			continue
		}
		data, err := resolve.Render(res.Secret, m.Ref.JSONKey)
		if err == nil && m.Kind == target.Env {
			err = target.CheckEnvValue(m.Name, data)
		}
		if err != nil {
			errs = append(errs, mappingErr(m.Source, m.Ref.SecretID, fmt.Errorf("%s %s: %w", m.Ref.Kind, m.Ref.SecretID, err)))
			continue
		}
		vals = append(vals, value{Mapping: m, Secret: res.Secret, Data: data})
		audit(deps.Log, source, m, res.Secret)
	}
	logDebug(deps, "resolved", "mappings", len(ms), "failed", len(errs), "took", time.Since(start))
	if len(errs) > 0 {
		return vals, fail(errs...)
	}
	return vals, nil
}

// logPlan says at debug what resolving will do: how many mappings, how
// many distinct secret versions in how many regions, from where, and
// whether batched. Never a value.
func logPlan(log *slog.Logger, ms []target.Mapping, source string, af AWSFlags, noBatch bool) {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	type version struct{ id, stage, vid string }
	secrets := map[version]bool{}
	regions := map[string]bool{}
	for _, m := range ms {
		secrets[version{m.Ref.SecretID, m.Ref.VersionStage, m.Ref.VersionID}] = true
		region := m.Ref.Region
		if region == "" {
			region = af.Region
		}
		if region == "" {
			region = "(default)"
		}
		regions[region] = true
	}
	log.Debug("resolving", "mappings", len(ms), "secrets", len(secrets), "regions", strings.Join(slices.Sorted(maps.Keys(regions)), ","),
		"source", source, "batch", !(af.NoBatch || noBatch), "concurrency", af.Concurrency, "timeout", af.Timeout)
}
