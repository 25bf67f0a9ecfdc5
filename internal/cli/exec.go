package cli

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/target"
)

// ExecCmd resolves the mappings, writes the files, and then replaces the
// launcher with the child, or supervises it.
type ExecCmd struct {
	EnvFlags
	FileFlags
	FileMode      fileMode `default:"0400" placeholder:"MODE" help:"Mode of written files, in octal. Default: ${default}."`
	FileOwner     *owner   `placeholder:"UID[:GID]" help:"Owner of written files (the launcher must run as root)."`
	PassSmexecEnv bool     `help:"Pass smexec's own SMEXEC_… variables on to COMMAND, which by default does not get them."`
	AWSFlags
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
	if err := checkInterpreter(c.Command[0], path); err != nil {
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
	opt := target.FileOptions{Mode: fs.FileMode(c.FileMode), UID: -1, GID: -1}
	if c.FileOwner != nil {
		opt.UID, opt.GID = c.FileOwner.uid, c.FileOwner.gid
	}
	if err := target.WriteAll(writes, opt); err != nil {
		return fail(err)
	}
	logDebug(deps, "starting the command", "path", path, "files_written", len(writes), "supervise", supervise, "since_start", time.Since(deps.start))
	s := &supervised{deps: deps, flags: c, path: path, files: opt}
	if supervise {
		return s.run(vals)
	}
	cmd := s.command(vals)
	return deps.Exec(cmd.Path, cmd.Argv, cmd.Env)
}
