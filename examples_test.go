package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/smexec/smexec/internal/cli"
)

// examples/ecs/mappings says it is the "secrets" of the task definition
// beside it: ecs-import must print the same env lines.
func TestECSExampleIsWhatECSImportPrints(t *testing.T) {
	var out, errOut bytes.Buffer
	code := cli.Main([]string{"ecs-import", "examples/ecs/task-definition.ecs-secrets.json"}, cli.Deps{Stdout: &out, Stderr: &errOut})
	if code != 0 || errOut.Len() > 0 {
		t.Fatalf("ecs-import: exit %d, stderr %s", code, errOut.String())
	}
	want, err := os.ReadFile("examples/ecs/mappings")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := envLines(out.String()), envLines(string(want)); got != want {
		t.Errorf("ecs-import prints\n%s\nexamples/ecs/mappings holds\n%s", got, want)
	}
}

// envLines keeps the env mappings of a mappings file.
func envLines(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		target, _, _ := strings.Cut(line, "=")
		if line != "" && !strings.HasPrefix(line, "#") && !strings.Contains(target, "/") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
