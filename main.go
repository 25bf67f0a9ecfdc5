// Command smexec injects AWS Secrets Manager secrets into a command's
// environment and files, then runs the command.
package main

import (
	"os"

	"github.com/smexec/smexec/internal/cli"
	"github.com/smexec/smexec/internal/launch"
	"github.com/smexec/smexec/internal/resolve"
)

// version is set at build time with -ldflags "-X main.version=…".
var version string

func main() {
	launch.NonDumpable()
	environ := os.Environ()
	clients := &resolve.SDKClients{}
	clients.Prepare(environ)
	os.Exit(cli.Main(os.Args[1:], cli.Deps{
		Clients: clients,
		Environ: environ,
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Exec:    launch.Exec,
		Version: version,
	}))
}
