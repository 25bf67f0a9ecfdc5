package cli

import (
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// execCLI must be CLI with the other commands left out: the same global
// flags with the same tags, and exec's field as CLI has it; commandNames
// must be the names kong gives CLI's commands.
func TestExecCLIMatchesCLI(t *testing.T) {
	full, exec := reflect.TypeFor[CLI](), reflect.TypeFor[execCLI]()
	for i := range exec.NumField() {
		ef := exec.Field(i)
		cf, ok := full.FieldByName(ef.Name)
		if !ok || cf.Type != ef.Type || cf.Tag != ef.Tag {
			t.Errorf("execCLI.%s %v `%s` is not CLI's (%v `%s`)", ef.Name, ef.Type, ef.Tag, cf.Type, cf.Tag)
		}
	}
	for i := range full.NumField() {
		cf := full.Field(i)
		if _, isCmd := cf.Tag.Lookup("cmd"); !isCmd {
			if _, ok := exec.FieldByName(cf.Name); !ok {
				t.Errorf("CLI.%s, a global flag, is missing from execCLI", cf.Name)
			}
		}
	}
	var cli CLI
	parser := newParser(&cli, &Deps{Stdout: io.Discard, Stderr: io.Discard})
	var kongNames []string
	for _, n := range parser.Model.Children {
		kongNames = append(kongNames, n.Name)
		kongNames = append(kongNames, n.Aliases...)
	}
	var ours []string
	for n := range commandNames() {
		ours = append(ours, n)
	}
	slices.Sort(kongNames)
	slices.Sort(ours)
	if !slices.Equal(kongNames, ours) {
		t.Errorf("commandNames() = %v, kong's = %v", ours, kongNames)
	}
}

// A flag that takes a value in some command must not be a bool in exec's
// model: withDefaultCommand over exec's model would then read the value
// as the first word of the command line, where the whole model skips it.
func TestExecFlagsTakeValuesAsEverywhere(t *testing.T) {
	deps := &Deps{Stdout: io.Discard, Stderr: io.Discard}
	var cli CLI
	var ec execCLI
	valued := map[string]bool{}
	for _, n := range newParser(&cli, deps).Model.Children {
		for _, f := range n.Flags {
			if !f.IsBool() {
				valued["--"+f.Name] = true
				if f.Short != 0 {
					valued["-"+string(f.Short)] = true
				}
			}
		}
	}
	em := newParser(&ec, deps).Model
	for _, n := range append([]*kong.Node{em.Node}, em.Children...) {
		for _, f := range n.Flags {
			if f.IsBool() && (valued["--"+f.Name] || (f.Short != 0 && valued["-"+string(f.Short)])) {
				t.Errorf("--%s is a bool in exec but takes a value in another command", f.Name)
			}
		}
	}
}

// Whatever parseExec takes, the whole model takes the same way.
func TestParseExecAgreesWithTheWholeModel(t *testing.T) {
	for _, line := range []string{
		"-e A=s/a -- true",
		"-e A=s/a true",
		"--mappings /m --log-level debug -- sh -c x",
		"--log-level=info -e A=s/a -f /tmp/x=s/b:k --file-mode 0440 -- env",
		"--supervise --mask -e A=s/a -- sleep 1",
		"-e A=s/a --region eu-west-1 --no-batch --concurrency 3 --timeout 5s -- true",
		"--log-format json -e A=s/a -- true",
		"-e A=s/a -- check",
		"-e A=s/a -- exec --help",
		"--preserve-env --allow-empty -- true",
		// Refused by parseExec, for the whole model to say how:
		"check -e A=s/a",
		"-e A=s/a check",
		"--help",
		"-e A=s/a --version -- true",
		"--format json -- true",
		"-e",
		"--log-level loud -e A=s/a -- true",
		"-e A=s/a",
		"exec -e A=s/a -- true",
	} {
		args := strings.Fields(line)
		deps := &Deps{Stdout: io.Discard, Stderr: io.Discard}
		ctx, ec, ok := parseExec(args, deps)
		if !ok {
			continue
		}
		var cli CLI
		parser := newParser(&cli, &Deps{Stdout: io.Discard, Stderr: io.Discard})
		fctx, err := parser.Parse(withDefaultCommand(parser, args))
		if err != nil {
			t.Errorf("%q: parseExec took it, the whole model says %v", line, err)
			continue
		}
		if ctx.Command() != fctx.Command() || ec.LogLevel != cli.LogLevel || ec.LogFormat != cli.LogFormat ||
			!reflect.DeepEqual(ec.Exec, cli.Exec) {
			t.Errorf("%q: parseExec gives %s %+v, the whole model %s %+v", line, ctx.Command(), ec.Exec, fctx.Command(), cli.Exec)
		}
	}
	// The ones it must take: exec, not named, and valid.
	for _, line := range []string{"-e A=s/a -- true", "-e A=s/a true", "--supervise --mask -e A=s/a -- sleep 1", "-e A=s/a -- check"} {
		if _, _, ok := parseExec(strings.Fields(line), &Deps{Stdout: io.Discard, Stderr: io.Discard}); !ok {
			t.Errorf("%q: parseExec refused it", line)
		}
	}
	// The ones it must refuse.
	for _, line := range []string{"check -e A=s/a", "-e A=s/a check", "--help", "--version", "-e A=s/a -h -- true", "--format json -- true", "exec -e A=s/a -- true"} {
		if _, _, ok := parseExec(strings.Fields(line), &Deps{Stdout: io.Discard, Stderr: io.Discard}); ok {
			t.Errorf("%q: parseExec took it", line)
		}
	}
}
