package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smexec/smexec/internal/cli"
	"github.com/smexec/smexec/internal/target"
	"github.com/smexec/smexec/internal/testenv/moto"
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

// The smexec command lines and mappings in examples/kubernetes parse: a
// REF in YAML that ends in ':' and is not quoted becomes a map, which
// this catches. YAML is read with the Python beside moto_server, whose
// moto[server] brings PyYAML.
func TestKubernetesExamplesParse(t *testing.T) {
	bin, err := moto.Binary()
	if err != nil {
		t.Fatal(err)
	}
	py := filepath.Join(filepath.Dir(bin), "python3")
	files, err := filepath.Glob("examples/kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples/kubernetes/*.yaml: %v", err)
	}
	const toJSON = `import json, sys, yaml
json.dump([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f))], sys.stdout)`
	if _, err := exec.Command(py, "-c", toJSON).Output(); err != nil {
		t.Fatalf("%s cannot read YAML (PyYAML comes with moto[server]): %v", py, err)
	}
	out, err := exec.Command(py, append([]string{"-c", toJSON}, files...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Kind string
		Data map[string]any
		Spec struct {
			InitContainers, Containers []struct {
				Name          string
				Command, Args []any
			}
		}
	}
	if err := json.Unmarshal(out, &docs); err != nil {
		t.Fatal(err)
	}
	var lines, mappingFlags int
	for _, d := range docs {
		if d.Kind == "ConfigMap" {
			for k, v := range d.Data {
				s, ok := v.(string)
				if !ok {
					t.Errorf("ConfigMap data %s is not a string: %v", k, v)
					continue
				}
				ms, err := target.ParseMappings(k, strings.NewReader(s))
				if err != nil {
					t.Error(err)
				}
				lines += len(ms)
			}
		}
		for _, c := range append(d.Spec.InitContainers, d.Spec.Containers...) {
			argv := append(c.Command, c.Args...)
			if len(argv) == 0 || !strings.HasSuffix(fmt.Sprint(argv[0]), "smexec") {
				continue
			}
			for i := 1; i < len(argv); i++ {
				s, ok := argv[i].(string)
				if !ok {
					t.Errorf("container %s: argument %d is %T %v, not a string: quote it", c.Name, i, argv[i], argv[i])
					continue
				}
				if s == "--" {
					break
				}
				if i+1 >= len(argv) {
					break
				}
				next, _ := argv[i+1].(string)
				var err error
				switch s {
				case "-e", "--env":
					_, err = target.ParseEnv(next)
				case "-f", "--file":
					_, err = target.ParseFile(next)
				default:
					continue
				}
				mappingFlags++
				if err != nil {
					t.Errorf("container %s: %s %s: %v", c.Name, s, next, err)
				}
			}
		}
	}
	if lines == 0 || mappingFlags == 0 {
		t.Errorf("found %d mappings lines and %d mapping flags in the examples; the test reads nothing", lines, mappingFlags)
	}
}
