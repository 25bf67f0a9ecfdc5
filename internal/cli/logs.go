package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/smexec/smexec/internal/resolve"
	"github.com/smexec/smexec/internal/target"
)

// audit logs, at info, that a mapping's secret was read: the target,
// the REF, the version read, and where from. Never the value, nor its
// size.
func audit(log *slog.Logger, source string, m target.Mapping, s *resolve.Secret) {
	if log == nil {
		return
	}
	var t slog.Attr
	switch {
	case m.Kind == target.Env:
		t = slog.Group("target", slog.String("kind", "env"), slog.String("name", m.Name))
	case m.Kind == target.EnvFrom:
		t = slog.Group("target", slog.String("kind", "env-from"), slog.String("prefix", m.Ref.JSONKey))
	case m.Kind == target.EnvPath:
		t = slog.Group("target", slog.String("kind", "env-path"), slog.String("name", m.Name))
	case strings.HasPrefix(m.Source, "get "):
		t = slog.Group("target", slog.String("kind", "stdout"))
	default:
		t = slog.Group("target", slog.String("kind", "file"), slog.String("path", m.Name))
	}
	stages := s.Stages
	if stages == nil {
		stages = []string{}
	}
	attrs := []slog.Attr{
		t,
		slog.String("ref", m.Ref.String()),
		slog.String("arn", s.ARN),
		slog.String("version_id", s.VersionID),
		slog.Any("stages", stages),
		slog.String("source", source),
	}
	if s.Type != "" {
		// A parameter: its version number is version_id, and its type
		// says whether it was stored encrypted.
		attrs = append(attrs, slog.String("type", s.Type))
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "secret resolved", attrs...)
}

// reportJSON writes each problem as one JSON error record, the same shape
// as the log's, in place of the "smexec: error:" lines, so that a
// collector reading stderr gets objects only:
// {"time":…,"level":"ERROR","msg":PROBLEM,"mapping":…,"secret":…,"code":…,"hint":HINT},
// each field present where the problem has it.
func reportJSON(w io.Writer, problems []Problem) {
	log := slog.New(slog.NewJSONHandler(w, nil))
	for _, p := range problems {
		var attrs []slog.Attr
		fields := p.fields()
		for i := 0; i < len(fields); i += 2 {
			attrs = append(attrs, slog.String(fields[i].(string), fields[i+1].(string)))
		}
		log.LogAttrs(context.Background(), slog.LevelError, p.Msg, attrs...)
	}
}

// logDebug logs at debug level, where there is a logger.
func logDebug(deps *Deps, msg string, args ...any) {
	if deps.Log != nil {
		deps.Log.Debug(msg, args...)
	}
}

// fields are the problem's structured fields that are set, as slog
// key-value pairs: mapping, secret, code, hint.
func (p Problem) fields() []any {
	var kv []any
	for _, f := range [][2]string{{"mapping", p.Mapping}, {"secret", p.Secret}, {"code", p.Code}, {"hint", p.Hint}} {
		if f[1] != "" {
			kv = append(kv, f[0], f[1])
		}
	}
	return kv
}

// warn prints a warning that does not fail the run: a
// "smexec: warning:" line, or a WARN record with --log-format json.
func warn(deps *Deps, msg string) {
	if deps.jsonLog {
		deps.Log.Warn(msg)
		return
	}
	fmt.Fprintf(deps.Stderr, "smexec: warning: %s\n", escape(msg))
}

// parsedLogFormat is --log-format for a command line kong refused: what
// the flag was given before the error, else SMEXEC_LOG_FORMAT, else text.
func parsedLogFormat(err error, environ []string) string {
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		for _, tr := range pe.Context.Path {
			if tr.Flag != nil && tr.Flag.Name == "log-format" {
				if v, ok := pe.Context.FlagValue(tr.Flag).(logFormat); ok && v != "" {
					return string(v)
				}
			}
		}
	}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "SMEXEC_LOG_FORMAT="); ok && strings.EqualFold(strings.TrimSpace(v), "json") {
			return "json"
		}
	}
	return "text"
}
