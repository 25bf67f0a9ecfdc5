package cli

import (
	"errors"
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
	FileOwner     *owner   `placeholder:"UID[:GID]" help:"Owner of written files and of the folders created for them, ids 0 to 4294967294 (the launcher must run as root)."`
	PassSmexecEnv bool     `help:"Pass smexec's own SMEXEC_… variables on to COMMAND, which by default does not get them."`
	PristineFlags
	AWSFlags
	SuperviseFlags

	Command []string `arg:"" passthrough:"partial" placeholder:"COMMAND [ARG...]" help:"The command to run, after --."`
}

func (c *ExecCmd) Run(deps *Deps) error {
	// From here until the command starts, SIGTERM, SIGINT, SIGHUP and
	// SIGQUIT end the run with 128+N after taking back what it wrote.
	intr := launch.CatchInterrupts("before the command started")
	defer intr.Stop()
	ctx := intr.Context()

	ms, err := mappings(c.EnvFlags, &c.FileFlags, deps.Environ)
	if err != nil {
		return err
	}
	if err := c.PristineFlags.check(); err != nil {
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
	// A missing command, or a file target that cannot be written, fails
	// before any secret is fetched.
	path, err := launch.Find(c.Command[0])
	if err != nil {
		return err
	}
	if err := checkInterpreter(c.Command[0], path); err != nil {
		return err
	}
	if err := preflightFiles(ms); err != nil {
		return err
	}
	var kept []target.Mapping
	if c.PreserveEnv {
		ms, kept = splitPreserved(ms, deps.Environ)
	}
	vals, err := resolveAll(ctx, deps, c.AWSFlags, ms)
	if i := intr.Caught(); i != nil {
		return i
	}
	if err != nil {
		return err
	}

	s := &supervised{deps: deps, flags: c, path: path, preserved: kept, files: target.NewFiles(fileOptions(c.FileMode, c.FileOwner))}
	defer s.files.Close()
	cmd := s.command(vals)
	if err := preflightExec(cmd, vals); err != nil {
		return err
	}
	var writes []target.Write
	for _, v := range vals {
		if v.Kind == target.File {
			writes = append(writes, target.Write{Path: v.Name, Data: v.Data, Source: v.Source})
		}
	}
	// An interrupted write takes back what it did itself.
	if err := s.files.Write(ctx, writes); err != nil {
		if i := intr.Caught(); i != nil {
			return i
		}
		return fail(err)
	}
	logDebug(deps, "starting the command", "path", path, "files_written", len(writes), "supervise", supervise, "since_start", time.Since(deps.start))
	if supervise {
		i, sigs := intr.Handover()
		if i != nil {
			s.files.Remove() // the command never ran: --keep-files does not apply
			return i
		}
		return s.run(vals, sigs)
	}
	if i := intr.Release(); i != nil {
		s.files.Remove()
		return i
	}
	err = deps.Exec(cmd.Path, cmd.Argv, cmd.Env)
	// execve failed: the command never ran, so its files go too.
	s.removeFiles()
	return err
}
