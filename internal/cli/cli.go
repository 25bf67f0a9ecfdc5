// Package cli owns the command line: the kong command structs, each with a
// Run method, and how failures are printed and turned into exit codes.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/kong"
	"github.com/aws/smithy-go"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/resolve"
	"github.com/smexec/smexec/internal/target"
)

// Deps is everything the commands need from the outside world; main builds
// the real ones and tests may build others.
type Deps struct {
	Clients resolve.Clients
	Environ []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Exec replaces the process with the child; it returns only on failure.
	Exec    func(path string, argv, env []string) error
	Version string
	// Log is set by Main from --log-level and --log-format.
	Log *slog.Logger
	// jsonLog is --log-format json: warnings go to Log, not as lines.
	jsonLog bool
	// start is when Main began, for the debug log's timings.
	start time.Time
}

// CLI is the command tree.
type CLI struct {
	LogLevel    logLevel    `default:"warn" enum:"debug,info,warn,error" help:"Log level on stderr: debug, info, warn or error (any case)."`
	LogFormat   logFormat   `default:"text" enum:"text,json" help:"Log format on stderr: text, or json (one object a line, errors too)."`
	VersionFlag versionFlag `name:"version" env:"-" help:"Print the version and exit."`

	Exec    ExecCmd    `cmd:"" default:"withargs" help:"Resolve the mappings, then run COMMAND with them (the default command)."`
	Check   CheckCmd   `cmd:"" help:"Resolve every mapping and print a table of what would be injected; run nothing."`
	Export  ExportCmd  `cmd:"" help:"Resolve the env mappings and print them as dotenv, JSON, shell or docker --env-file."`
	Get     GetCmd     `cmd:"" help:"Print the value of one REF on stdout."`
	Version VersionCmd `cmd:"" help:"Print the version."`
	HelpCmd HelpCmd    `cmd:"" name:"help" help:"Show the help of smexec or of one command (a program named help runs as smexec -- help)."`

	ECSImport  ECSImportCmd  `cmd:"" name:"ecs-import" help:"Print the --mappings file equivalent to an ECS task definition's secrets."`
	Install    InstallCmd    `cmd:"" help:"Copy this smexec binary into DIR, for an init container that shares it through a volume."`
	Completion CompletionCmd `cmd:"" help:"Print a completion script for bash, zsh or fish."`

	Write        WriteCmd        `cmd:"" help:"Resolve the file mappings, write the files and exit: an init container for an unchanged main container."`
	FlyteSidecar FlyteSidecarCmd `cmd:"" name:"flyte-sidecar" help:"Flyte's AWS secret sidecar: write SECRET_ARN's value to /tmp + SECRET_FILENAME and exit."`
}

// exitPanic carries kong's request to exit (after --help) out of Parse.
type exitPanic int

// Main runs the command line and returns the process exit code.
func Main(args []string, deps Deps) (code int) {
	deps.start = time.Now()
	if len(args) == 0 {
		io.WriteString(deps.Stderr, shortUsage)
		return launch.CodeFailed
	}
	defer func() {
		switch p := recover().(type) {
		case nil:
		case exitPanic:
			code = int(p)
		default:
			panic(p)
		}
	}()
	if ctx, ec, ok := parseExec(args, &deps); ok {
		return run(&deps, ctx, ec.LogLevel, ec.LogFormat)
	}
	var cli CLI
	parser := newParser(&cli, &deps)
	ctx, err := parser.Parse(withDefaultCommand(parser, args))
	if err != nil {
		return report(deps.Stderr, usageError(withEnvar(err, deps.Environ)), parsedLogFormat(err, deps.Environ))
	}
	return run(&deps, ctx, cli.LogLevel, cli.LogFormat)
}

// run runs the command kong parsed.
func run(deps *Deps, ctx *kong.Context, level logLevel, format logFormat) int {
	deps.Log = newLogger(deps.Stderr, string(level), string(format))
	deps.jsonLog = format == "json"
	warnHidden(deps, ctx)
	return report(deps.Stderr, ctx.Run(), string(format))
}

// newParser builds smexec's kong parser over cli, with deps bound for the
// commands' Run methods.
func newParser(cli any, deps *Deps) *kong.Kong {
	parser, err := kong.New(cli,
		kong.Name("smexec"),
		kong.Description("Inject AWS Secrets Manager secrets into a command's environment and files, then run it."),
		kong.Writers(deps.Stdout, deps.Stderr),
		kong.Exit(func(c int) { panic(exitPanic(c)) }),
		kong.DefaultEnvars("SMEXEC"),
		kong.Bind(deps),
		kong.NamedMapper("refresh", refreshMapper),
		kong.KindMapper(reflect.String, rawString{}),
	)
	if err != nil {
		panic(err) // the command structs are wrong: a bug, not input
	}
	return parser
}

// withDefaultCommand puts "exec" in front of args whose first positional
// argument is not one of smexec's commands, so that the child's own words
// are never read as smexec's: `smexec -e A=B -- version` runs a program
// called version, and `smexec -e A=B sh -c 'smexec check'` runs sh.
func withDefaultCommand(parser *kong.Kong, args []string) []string {
	commands := map[string]bool{}
	takesValue := map[string]bool{} // "--env", "-e"
	for _, node := range append([]*kong.Node{parser.Model.Node}, parser.Model.Children...) {
		commands[node.Name] = node != parser.Model.Node
		for _, f := range node.Flags {
			if !f.IsBool() {
				takesValue["--"+f.Name] = true
				if f.Short != 0 {
					takesValue["-"+string(f.Short)] = true
				}
			}
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append([]string{"exec"}, args...)
		case strings.HasPrefix(a, "-"):
			if a == "-h" || a == "--help" || a == "--version" {
				return args
			}
			if takesValue[a] {
				i++ // its value is the next argument
			}
		case commands[a]:
			return args
		default:
			return append([]string{"exec"}, args...)
		}
	}
	return args
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level)) // kong's enum already checked it
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// Problem is one line of failure, with an optional hint, and, for JSON
// error records and check's rows, what it is about: the mapping as the
// user wrote it, the secret, and the error code AWS gave.
type Problem struct {
	Msg     string
	Hint    string
	Mapping string
	Secret  string
	Code    string
}

// Failure is a failed run of the launcher: every problem found, and the
// exit code.
type Failure struct {
	Code     int
	Problems []Problem
}

func (f *Failure) Error() string {
	msgs := make([]string, len(f.Problems))
	for i, p := range f.Problems {
		msgs[i] = p.Msg
	}
	return strings.Join(msgs, "; ")
}

// ExitCode is the code the process exits with.
func (f *Failure) ExitCode() int { return f.Code }

// fail builds a Failure with code 125 from errors, one problem each; a
// joined error gives one problem per part.
func fail(errs ...error) *Failure {
	f := &Failure{Code: launch.CodeFailed}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			f.Problems = append(f.Problems, fail(j.Unwrap()...).Problems...)
			continue
		}
		p := Problem{Msg: err.Error(), Hint: resolve.Hint(err)}
		var me *mappingError
		if errors.As(err, &me) {
			p.Mapping, p.Secret = me.mapping, me.secret
		}
		var te *target.MappingError
		if p.Mapping == "" && errors.As(err, &te) {
			p.Mapping = te.Source
		}
		var api smithy.APIError
		if errors.As(err, &api) {
			p.Code = api.ErrorCode()
		}
		f.Problems = append(f.Problems, p)
	}
	return f
}

// mappingError is the failure of one mapping: its text is the mapping as
// written, then the cause; mapping and secret are kept apart for the
// structured fields of JSON error records and check's rows.
type mappingError struct {
	mapping string
	secret  string // the secret's id or ARN as the REF gives it; "" before parsing
	msg     string
	err     error
}

func (e *mappingError) Error() string { return e.msg }
func (e *mappingError) Unwrap() error { return e.err }

// mappingErr is the error "MAPPING: CAUSE" of one mapping.
func mappingErr(mapping, secret string, err error) error {
	return &mappingError{mapping: mapping, secret: secret, msg: mapping + ": " + err.Error(), err: err}
}

func usageError(err error) error {
	return &Failure{Code: launch.CodeFailed, Problems: []Problem{{Msg: err.Error(), Hint: "see smexec --help"}}}
}

// report prints err as "smexec: error: …" lines, a hint under each where
// there is one, or with --log-format json as one JSON error record a
// problem, and returns the exit code.
func report(w io.Writer, err error, format string) int {
	if err == nil {
		return 0
	}
	var status launch.ExitStatus
	if errors.As(err, &status) {
		return int(status) // the supervised command's own code: nothing to say
	}
	var f *Failure
	if !errors.As(err, &f) {
		f = fail(err)
		var le *launch.Error
		if errors.As(err, &le) {
			f.Code = le.Code
		}
		var in *launch.Interrupted
		if errors.As(err, &in) {
			f.Code = in.ExitCode()
		}
	}
	if format == "json" {
		reportJSON(w, f.Problems)
	} else {
		for _, p := range f.Problems {
			fmt.Fprintf(w, "smexec: error: %s\n", escape(p.Msg))
			if p.Hint != "" {
				fmt.Fprintf(w, "smexec: hint: %s\n", escape(p.Hint))
			}
		}
	}
	if f.Code == 0 {
		return launch.CodeFailed
	}
	return f.Code
}

// escape makes a line of text safe to print on a terminal: a message
// quotes what came from input (a mapping, a file's line, a path), and a
// control character, an invalid byte or a bidirectional override there
// would otherwise reach the terminal raw (colour it, move the cursor,
// split the line, reorder what it shows). Each becomes its Go escape,
// as %q writes it; everything else is left as it is.
func escape(s string) string {
	clean := func(r rune) bool {
		return r != utf8.RuneError && !unicode.IsControl(r) && !unicode.Is(unicode.Bidi_Control, r) &&
			!unicode.In(r, unicode.Zl, unicode.Zp)
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return !clean(r) }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case clean(r) || r == utf8.RuneError: // a real U+FFFD
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}
