package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/rotate"
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
	if c.SuperviseFlags.wanted(os.Getpid()) {
		intr.HoldForwarded()
	}
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
	vals, kept, err := resolveTargets(intr, deps, c.AWSFlags, ms, c.PreserveEnv)
	if err != nil {
		return err
	}

	s := &supervised{deps: deps, flags: c, path: path, preserved: kept,
		files: target.NewFiles(fileOptions(c.FileMode, c.FileOwner)), private: target.NewFiles(privateOptions(c.FileOwner))}
	defer s.files.Close()
	defer s.private.Close()
	if err := s.placePrivate(vals); err != nil {
		return fail(err)
	}
	cmd := s.command(vals)
	if err := preflightExec(cmd, vals); err != nil {
		s.removePrivate()
		return err
	}
	private, writes := rotate.FileWrites(vals)
	// An interrupted write takes back what it did itself.
	err = s.private.Write(ctx, private)
	if err == nil {
		err = s.files.Write(ctx, writes)
	}
	if err != nil {
		s.removePrivate()
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
			s.removePrivate()
			return i
		}
		return s.run(vals, sigs)
	}
	if i := intr.Release(); i != nil {
		s.files.Remove()
		s.removePrivate()
		return i
	}
	err = deps.Exec(cmd.Path, cmd.Argv, cmd.Env)
	// execve failed: the command never ran, so its files go too.
	s.removeFiles()
	return err
}

// privateOptions are how --env-path files are written: 0400 in a 0700
// folder, whatever --file-mode says, with --file-owner's owner.
func privateOptions(o *owner) target.FileOptions {
	opt := target.FileOptions{Mode: target.DefaultFileMode, UID: -1, GID: -1}
	if o != nil {
		opt.UID, opt.GID = o.uid, o.gid
	}
	return opt
}

// placePrivate gives each --env-path value its place, in one fresh
// private folder: the value becomes a file target there, and its env var
// names the file.
func (s *supervised) placePrivate(vals []value) error {
	for i := range vals {
		if vals[i].Kind != target.EnvPath {
			continue
		}
		if s.privateDir == "" {
			dir, err := target.PrivateDir()
			if err != nil {
				return fmt.Errorf("%s: create a private folder: %w", vals[i].Source, err)
			}
			s.privateDir = dir
			// A command that drops to --file-owner's user (gosu, su-exec)
			// must be able to reach its files.
			if o := s.flags.FileOwner; o != nil {
				if err := os.Lchown(dir, o.uid, o.gid); err != nil {
					s.removePrivate()
					return fmt.Errorf("%s: private folder %s: chown: %w", vals[i].Source, dir, unwrapPathErr(err))
				}
			}
		}
		vals[i].PathEnv = vals[i].Name
		vals[i].Kind, vals[i].Name = target.File, target.PrivatePath(s.privateDir, vals[i].Name)
	}
	return nil
}

// removePrivate removes the --env-path files and their folder. They are
// removed whatever --keep-files says: their paths were never the user's.
func (s *supervised) removePrivate() {
	if s.privateDir == "" {
		return
	}
	if err := s.private.Remove(); err != nil {
		s.deps.Log.Warn("cannot remove a private file", "err", err)
	}
	if err := os.Remove(s.privateDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.deps.Log.Warn("cannot remove the private folder", "path", s.privateDir, "err", err)
	}
}
