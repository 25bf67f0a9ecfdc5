package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/ref"
	"github.com/smexec/smexec/internal/resolve"
	"github.com/smexec/smexec/internal/rotate"
	"github.com/smexec/smexec/internal/target"
)

// value is a mapping with its resolved value; rotate owns the type, as a
// refresh replaces values.
type value = rotate.Value

// splitPreserved splits ms into the mappings to fetch and the env
// mappings --preserve-env keeps as environ has them.
func splitPreserved(ms []target.Mapping, environ []string) (fetch, kept []target.Mapping) {
	set := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	for _, m := range ms {
		if m.Kind.IsEnv() && set[m.Name] && !m.FromEnv {
			kept = append(kept, m)
		} else {
			fetch = append(fetch, m)
		}
	}
	return fetch, kept
}

// resolveTargets fetches and renders ms as exec and export run them: with
// preserveEnv the env targets already set in the environment are kept
// (returned, not fetched), and the names of --env-from are settled
// against every mapping. An interrupt caught meanwhile is the outcome.
func resolveTargets(intr *launch.Interrupts, deps *Deps, af AWSFlags, ms []target.Mapping, preserveEnv bool) (vals []value, kept []target.Mapping, err error) {
	fetch := ms
	if preserveEnv {
		fetch, kept = splitPreserved(ms, deps.Environ)
	}
	vals, err = resolveAll(intr.Context(), deps, af, fetch)
	if i := intr.Caught(); i != nil {
		return nil, nil, i
	}
	if err == nil {
		vals, err = settleEnvFrom(vals, ms, deps.Environ, preserveEnv)
	}
	return vals, kept, err
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

	// One fetch plan for every REF, a template's too: first[i] is where
	// mapping i's REFs start.
	var refs []ref.Ref
	first := make([]int, len(ms)+1)
	for i, m := range ms {
		first[i] = len(refs)
		if m.Template != nil {
			refs = append(refs, m.Template.Refs()...)
		} else {
			refs = append(refs, m.Ref)
		}
	}
	first[len(ms)] = len(refs)
	start := time.Now()
	logPlan(deps.Log, len(ms), refs, source, af, noBatch)
	r := &resolve.Resolver{Clients: clients, Region: af.Region, NoBatch: af.NoBatch || noBatch, Concurrency: af.Concurrency, Log: deps.Log}
	results := r.Fetch(ctx, refs)

	var vals []value
	var errs []error
	for i, m := range ms {
		if m.Template != nil {
			v, err := renderTemplate(m, refs[first[i]:first[i+1]], results[first[i]:first[i+1]])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			vals = append(vals, v)
			for j, r := range refs[first[i]:first[i+1]] {
				one := m // one audit record a placeholder, with its REF
				one.Ref = r
				audit(deps.Log, source, one, results[first[i]+j].Secret)
			}
			continue
		}
		res := results[first[i]]
		if res.Err != nil {
			errs = append(errs, mappingErr(m.Source, m.Ref.SecretID, res.Err))
			continue
		}
		if m.Kind == target.EnvFrom {
			vs, err := envFrom(m, res.Secret)
			if err != nil {
				errs = append(errs, mappingErr(m.Source, m.Ref.SecretID, fmt.Errorf("secret %s: %w", m.Ref.SecretID, err)))
				continue
			}
			vals = append(vals, vs...)
			audit(deps.Log, source, m, res.Secret)
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
func logPlan(log *slog.Logger, mappings int, refs []ref.Ref, source string, af AWSFlags, noBatch bool) {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	type version struct{ id, stage, vid string }
	secrets := map[version]bool{}
	regions := map[string]bool{}
	for _, r := range refs {
		secrets[version{r.SecretID, r.VersionStage, r.VersionID}] = true
		region := r.Region
		if region == "" {
			region = af.Region
		}
		if region == "" {
			region = "(default)"
		}
		regions[region] = true
	}
	log.Debug("resolving", "mappings", mappings, "secrets", len(secrets), "regions", strings.Join(slices.Sorted(maps.Keys(regions)), ","),
		"source", source, "batch", !(af.NoBatch || noBatch), "concurrency", af.Concurrency, "timeout", af.Timeout)
}

// envFrom is the values of an --env-from mapping: one env var for each
// top-level member of the secret's JSON object, named by the prefix (the
// REF's JSON-key field) and the key. Every value is checked; one bad key
// or value fails the whole mapping.
func envFrom(m target.Mapping, s *resolve.Secret) ([]value, error) {
	if s.String == nil {
		return nil, errors.New("binary secrets have no JSON keys to set env vars from")
	}
	members, err := resolve.Members(*s.String)
	if err != nil {
		return nil, err
	}
	var vals []value
	var errs []error
	for _, mb := range members {
		name, err := target.EnvFromName(m.Ref.JSONKey, mb.Key)
		if err == nil {
			err = target.CheckEnvValue(name, mb.Value)
			if err != nil {
				err = fmt.Errorf("env %s: %w", name, err)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		v := value{Mapping: m, Secret: s, Data: mb.Value}
		v.Name = name
		vals = append(vals, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return vals, nil
}

// settleEnvFrom applies the --env-from rules to vals: a name that an
// explicit env mapping of ms sets (-e, --env-path, a mappings line), or
// that --preserve-env keeps as environ has it, is not set from the
// whole secret; a name two --env-from mappings both set fails closed,
// naming both.
func settleEnvFrom(vals []value, ms []target.Mapping, environ []string, preserve bool) ([]value, error) {
	explicit := map[string]bool{}
	for _, m := range ms {
		if m.Kind.IsEnv() {
			explicit[m.Name] = true
		}
	}
	if preserve {
		for _, kv := range environ {
			name, _, _ := strings.Cut(kv, "=")
			explicit[name] = true
		}
	}
	by := map[string]string{} // name → the --env-from that set it
	var out []value
	var errs []error
	for _, v := range vals {
		if v.Kind != target.EnvFrom {
			out = append(out, v)
			continue
		}
		if explicit[v.Name] {
			continue
		}
		if prev, ok := by[v.Name]; ok && prev != v.Source {
			errs = append(errs, mappingErr(v.Source, v.Ref.SecretID, fmt.Errorf("env %s is also set by %s", v.Name, prev)))
			continue
		}
		by[v.Name] = v.Source
		out = append(out, v)
	}
	if len(errs) > 0 {
		f := fail(errs...)
		return out, hintLast(f, "give one of them a prefix (--env-from SECRET:PREFIX_), or set the name with -e NAME=REF, which wins over --env-from")
	}
	return out, nil
}

// renderTemplate builds a template mapping's value from the results of
// its REFs. Every REF that fails is reported, each naming the mapping and
// the secret; the value is then not built.
func renderTemplate(m target.Mapping, refs []ref.Ref, results []resolve.Result) (value, error) {
	parts := make([][]byte, len(refs))
	var secrets []*resolve.Secret
	var errs []error
	for j, r := range refs {
		res := results[j]
		if res.Err != nil {
			errs = append(errs, mappingErr(m.Source, r.SecretID, res.Err))
			continue
		}
		data, err := resolve.Render(res.Secret, r.JSONKey)
		if err != nil {
			errs = append(errs, mappingErr(m.Source, r.SecretID, fmt.Errorf("{{ %s }}: secret %s: %w", r, r.SecretID, err)))
			continue
		}
		parts[j] = data
		if !slices.Contains(secrets, res.Secret) {
			secrets = append(secrets, res.Secret)
		}
	}
	if len(errs) > 0 {
		return value{}, errors.Join(errs...)
	}
	data := m.Template.Render(parts)
	if m.Kind == target.Env {
		if err := target.CheckEnvValue(m.Name, data); err != nil {
			return value{}, mappingErr(m.Source, refs[0].SecretID, err)
		}
	}
	return value{Mapping: m, Secret: secrets[0], Secrets: secrets, Data: data, Parts: parts}, nil
}
