package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/target"
)

// ExecCmd resolves the mappings, writes the files, and then replaces the
// launcher with the child, or supervises it.
type ExecCmd struct {
	AWSFlags
	EnvFlags
	FileFlags
	FileMode  fileMode `default:"0400" placeholder:"MODE" help:"Mode of written files, in octal."`
	FileOwner *owner   `placeholder:"UID[:GID]" help:"Owner of written files (the launcher must run as root)."`
	SuperviseFlags

	Command []string `arg:"" passthrough:"partial" placeholder:"COMMAND [ARG...]" help:"The command to run, after --."`
}

func (c *ExecCmd) Run(deps *Deps) error {
	ms, err := mappings(c.EnvFlags, &c.FileFlags, deps.Environ)
	if err != nil {
		return err
	}
	supervise, err := c.enabled(os.Getpid())
	if err != nil {
		return err
	}
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) == 0 {
		return fail(errors.New("no command given: smexec [flags] -- COMMAND [ARG...]"))
	}
	// A missing command fails before any secret is fetched or written.
	path, err := launch.Find(c.Command[0])
	if err != nil {
		return err
	}
	if c.PreserveEnv {
		ms = preserve(ms, deps.Environ)
	}
	vals, err := resolveAll(context.Background(), deps, c.AWSFlags, ms)
	if err != nil {
		return err
	}

	var writes []target.Write
	for _, v := range vals {
		if v.Kind == target.File {
			writes = append(writes, target.Write{Path: v.Name, Data: v.Data, Source: v.Source})
		}
	}
	opt, dirs := fileOptions(c.FileMode, c.FileOwner)
	for _, w := range writes {
		if err := dirs.make(filepath.Dir(w.Path)); err != nil {
			return fail(fmt.Errorf("%s: write %s: %w", w.Source, w.Path, err))
		}
	}
	if err := target.WriteAll(writes, opt); err != nil {
		return fail(err)
	}
	s := &supervised{deps: deps, flags: c, path: path, files: opt}
	if supervise {
		return s.run(vals)
	}
	cmd := s.command(vals)
	return deps.Exec(cmd.Path, cmd.Argv, cmd.Env)
}
