package cli

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/smexec/smexec/internal/agent"
	"github.com/smexec/smexec/internal/local"
	"github.com/smexec/smexec/internal/resolve"
)

// SourceFlags choose where secrets are read from instead of Secrets
// Manager's API: the local agent, or a file.
type SourceFlags struct {
	Agent      agentURL `help:"Read secrets through the Secrets Manager Agent or Lambda extension: --agent for http://localhost:2773, --agent=URL or --agent URL for another. Its token comes from AWS_TOKEN, AWS_SESSION_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN."`
	Local      string   `placeholder:"FILE" help:"Read secrets from a JSON file instead of AWS, for development (docs/local.md). Refused where AWS or Kubernetes is detected, unless --local-force."`
	LocalForce bool     `help:"Use --local even where AWS or Kubernetes is detected."`
}

// agentURL is --agent's URL, "" when the flag is off. The URL is
// optional: --agent alone means agent.DefaultURL. Like a bool flag it
// takes its value after "=", and, since a command is never named like a
// URL, also as the next argument when that starts with http:// or
// https://. SMEXEC_AGENT takes a URL, or true/false.
type agentURL string

func (a *agentURL) Decode(ctx *kong.DecodeContext) error {
	t := ctx.Scan.Peek()
	switch {
	case t.Type == kong.FlagValueToken:
		v := ctx.Scan.Pop().String()
		switch strings.ToLower(v) {
		case "true", "1", "yes":
			*a = agent.DefaultURL
		case "false", "0", "no", "":
			*a = ""
		default:
			if !isHTTPURL(v) {
				return fmt.Errorf("want an http:// URL such as %s, or true/false, but got %q", agent.DefaultURL, v)
			}
			if err := needPort(v); err != nil {
				return err
			}
			*a = agentURL(v)
		}
	case (t.Type == kong.UntypedToken || t.Type == kong.PositionalArgumentToken) && isHTTPURL(t.String()):
		v := ctx.Scan.Pop().String()
		if err := needPort(v); err != nil {
			return err
		}
		*a = agentURL(v)
	default:
		*a = agent.DefaultURL
	}
	return nil
}

// IsBool lets the flag stand alone.
func (a *agentURL) IsBool() bool { return true }

// needPort refuses an agent URL without a port: the agent listens on 2773,
// and http://localhost alone would mean port 80.
func needPort(v string) error {
	if u, err := url.Parse(v); err == nil && u.Port() == "" {
		return fmt.Errorf("want a port in the URL, such as %s, but got %q (without one it would be port 80 or 443)", agent.DefaultURL, v)
	}
	return nil
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// Source names where secrets come from, for the audit log.
const (
	sourceAWS   = "aws"
	sourceAgent = "agent"
	sourceLocal = "local"
)

// source returns the Clients to read through and what to call them in
// the audit log. The agent and a file answer GetSecretValue only, so
// they are read without batches.
func (sf SourceFlags) source(deps *Deps) (c resolve.Clients, name string, noBatch bool, err error) {
	switch {
	case sf.Agent != "" && sf.Local != "":
		// Checked here rather than by kong's xor, so that SMEXEC_AGENT=false
		// (the agent off) does not clash with --local.
		return nil, "", false, fail(fmt.Errorf("--agent and --local: cannot be used together")).
			withHint("pick one; SMEXEC_AGENT=false turns an image's agent setting off")
	case sf.Agent != "":
		ac, err := agent.New(string(sf.Agent), deps.Environ)
		if err != nil {
			return nil, "", false, fail(fmt.Errorf("--agent: %w", err)).withHint(agentHint(err))
		}
		return ac, sourceAgent, true, nil
	case sf.Local != "":
		if sign := local.ProductionSign(deps.Environ); sign != "" && !sf.LocalForce {
			return nil, "", false, fail(fmt.Errorf("--local %s: refusing to read secrets from a local file where production is likely (%s)", sf.Local, sign)).
				withHint("--local is for development machines; if this is one, add --local-force")
		}
		f, err := local.Load(sf.Local)
		if err != nil {
			return nil, "", false, fail(prefixEach("--local: ", err)...)
		}
		return f, sourceLocal, true, nil
	}
	return deps.Clients, sourceAWS, false, nil
}

func agentHint(err error) string {
	if strings.Contains(err.Error(), "agent token") {
		return "set AWS_TOKEN to the agent's token, or to file://PATH of its token file (such as file:///var/run/awssmatoken)"
	}
	return "--agent alone reads from " + agent.DefaultURL
}

// withHint sets the hint of a one-problem Failure.
func (f *Failure) withHint(hint string) *Failure {
	if len(f.Problems) == 1 {
		f.Problems[0].Hint = hint
	}
	return f
}

// prefixEach puts prefix before each part of a joined error, so each
// becomes its own line.
func prefixEach(prefix string, err error) []error {
	parts := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	}
	out := make([]error, len(parts))
	for i, p := range parts {
		out[i] = fmt.Errorf("%s%w", prefix, p)
	}
	return out
}
