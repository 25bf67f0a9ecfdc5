package cli

import (
	"context"
	"errors"
	"io/fs"

	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/target"
)

// ExecCmd resolves the mappings and replaces the launcher with the child.
type ExecCmd struct {
	AWSFlags
	EnvFlags
	FileFlags
	FileMode  fileMode `default:"0400" placeholder:"MODE" help:"Mode of written files, in octal."`
	FileOwner *owner   `placeholder:"UID[:GID]" help:"Owner of written files (the launcher must run as root)."`

	Command []string `arg:"" passthrough:"partial" placeholder:"COMMAND [ARG...]" help:"The command to run, after --."`
}

func (c *ExecCmd) Run(deps *Deps) error {
	ms, err := mappings(c.EnvFlags, &c.FileFlags, deps.Environ)
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

	set := map[string]string{}
	var writes []target.Write
	for _, v := range vals {
		switch v.Kind {
		case target.Env:
			set[v.Name] = string(v.Data)
		case target.File:
			writes = append(writes, target.Write{Path: v.Name, Data: v.Data, Source: v.Source})
		}
	}
	if c.layoutFiles() {
		set["FLYTE_SECRETS_DEFAULT_DIR"] = c.SecretsDir
	}
	opt := target.FileOptions{Mode: fs.FileMode(c.FileMode), UID: -1, GID: -1}
	if c.FileOwner != nil {
		opt.UID, opt.GID = c.FileOwner.uid, c.FileOwner.gid
	}
	if err := target.WriteAll(writes, opt); err != nil {
		return fail(err)
	}
	return deps.Exec(path, c.Command, target.Environ(deps.Environ, set))
}
