package cli

import (
	"reflect"
	"strings"

	"github.com/alecthomas/kong"
)

// execCLI is CLI with the exec command alone: the same global flags, with
// the same tags (TestExecCLIMatchesCLI keeps them so), and ExecCmd.
//
// kong builds its model of a command line from the structs' tags on every
// start, which for all of smexec's commands is about 2.5 ms and 10,000
// allocations, the largest part of a one-secret start that is smexec's
// own (docs/performance.md). Most starts run exec, whose model is a third
// of that; parseExec tries it first.
type execCLI struct {
	LogLevel    logLevel    `default:"warn" enum:"debug,info,warn,error" help:"Log level on stderr: debug, info, warn or error (any case)."`
	LogFormat   logFormat   `default:"text" enum:"text,json" help:"Log format on stderr: text, or json (one object a line, errors too)."`
	VersionFlag versionFlag `name:"version" env:"-" help:"Print the version and exit."`

	Exec ExecCmd `cmd:"" default:"withargs" help:"Resolve the mappings, then run COMMAND with them (the default command)."`
}

// parseExec parses args with execCLI's model when they run the exec
// command without naming it (no command's name before any --, no -h,
// --help or --version anywhere) and kong takes them as they are; it reports false
// otherwise, and the caller parses with the whole model, which then says
// what is wrong in its own words. A command line that execCLI's model
// takes is taken the same way by the whole model: the same structs,
// tags, mappers and hooks decode it, and withDefaultCommand would put
// "exec" in front of it too, since every word it could read otherwise is
// a flag of another command, which exec's model refuses.
func parseExec(args []string, deps *Deps) (*kong.Context, *execCLI, bool) {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "--version" {
			return nil, nil, false
		}
	}
	names := commandNames()
	for _, a := range args {
		if a == "--" {
			break
		}
		if names[a] {
			return nil, nil, false
		}
	}
	var cli execCLI
	parser := newParser(&cli, deps)
	full := withDefaultCommand(parser, args)
	if len(full) == len(args) {
		return nil, nil, false
	}
	ctx, err := parser.Parse(full)
	if err != nil {
		return nil, nil, false
	}
	return ctx, &cli, true
}

// commandNames are the names of CLI's commands, from its cmd fields: a
// name tag, else the field's name in lower case (TestExecCLIMatchesCLI
// checks them against kong's).
func commandNames() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeFor[CLI]()
	for i := range t.NumField() {
		f := t.Field(i)
		if _, ok := f.Tag.Lookup("cmd"); !ok {
			continue
		}
		name := f.Tag.Get("name")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names[name] = true
	}
	return names
}
