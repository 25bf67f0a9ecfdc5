package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestImageRoot tests the Dockerfile's image as far as a machine without
// a container engine can: the static binary, built as the Dockerfile
// builds it, is put alone with a CA bundle into an empty root, at the
// paths the Dockerfile copies them to, and run there with chroot. It
// reaches moto through a TLS proxy on loopback (the chroot shares the
// network), trusting the proxy only through the CA bundle at the
// image's path, so the run proves the binary needs nothing from a base
// image: no libc, no loader, no /etc, no /proc, no /tmp.
func TestImageRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot(2) needs root; this test runs in CI, which runs as root (run the tests as root to include it)")
	}
	img := readDockerfile(t, "Dockerfile")

	root := t.TempDir()
	bin := filepath.Join(root, img.binary)
	buildStatic(t, bin)
	assertStatic(t, bin)

	e := startMoto(t)
	target, err := url.Parse(e.open.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	// The run without a CA bundle fails the handshake on purpose.
	proxy.Config.ErrorLog = log.New(io.Discard, "", 0)
	proxy.StartTLS()
	defer proxy.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw})
	writeFile(t, filepath.Join(root, img.caBundle), ca, 0o644)

	seed(t, e.open.URL, map[string]string{
		"chroot/db":      `{"user":"chroot-user","password":"chroot-pass"}`,
		"chroot/token":   "chroot-token-value",
		"chroot/mapping": "/run/app/token=chroot/token",
	})
	env := []string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + proxy.URL,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=" + testRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}

	// The root holds the two files and nothing else.
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, root))
		}
		return err
	})
	if want := []string{img.caBundle, img.binary}; strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("root holds %v, want only %v", files, want)
	}

	out, errOut, code := chrootRun(t, root, env, img.binary, "version")
	if code != 0 || !regexp.MustCompile(`^smexec chroot-test go[0-9.]+\S* linux/[a-z0-9]+\n$`).MatchString(out) {
		t.Fatalf("version in the root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A value over TLS, trusted through the image's CA bundle.
	out, errOut, code = chrootRun(t, root, env, img.binary, "get", "chroot/db:password")
	if code != 0 || out != "chroot-pass" {
		t.Fatalf("get in the root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A run with a child, the binary itself, which can only act on the
	// value if it arrived: SMEXEC_FILE, set from a secret, tells the child
	// smexec to write a file from another secret before it runs version.
	out, errOut, code = chrootRun(t, root, env, img.binary, "-e", "SMEXEC_FILE=chroot/mapping", "--", img.binary, "--", img.binary, "version")
	if code != 0 || !strings.HasPrefix(out, "smexec chroot-test ") {
		t.Fatalf("exec in the root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	got, err := os.ReadFile(filepath.Join(root, "run/app/token"))
	if err != nil || string(got) != "chroot-token-value" {
		t.Fatalf("file written in the root by the child: %q, %v", got, err)
	}

	// Without the CA bundle the same read fails closed, on the
	// certificate: the bundle at the image's path is what made it work.
	if err := os.Remove(filepath.Join(root, img.caBundle)); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = chrootRun(t, root, env, img.binary, "get", "chroot/db:password")
	if code != 125 || out != "" || !strings.Contains(errOut, "certificate") {
		t.Fatalf("get in the root without a CA bundle: exit %d, stdout %q, stderr %q; want 125 and a certificate error", code, out, errOut)
	}
}

// image is what the Dockerfile's final stage holds.
type image struct {
	binary   string // where the smexec binary is, the entrypoint
	caBundle string
}

// readDockerfile reads the final stage of the Dockerfile and checks that
// it is what the test builds: scratch, the static binary and a CA bundle.
func readDockerfile(t *testing.T, path string) image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var img image
	var final bool
	var build string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			final = fields[len(fields)-1] == "scratch"
			img = image{}
		case "RUN":
			if strings.Contains(line, " go build ") {
				build = line
			}
		case "COPY":
			if final && len(fields) == 4 && strings.HasPrefix(fields[1], "--from=") {
				switch {
				case strings.HasSuffix(fields[2], "/smexec"):
					img.binary = fields[3]
				case strings.HasSuffix(fields[2], "ca-certificates.crt"):
					img.caBundle = fields[3]
				default:
					t.Fatalf("%s: the image holds %s, which this test does not put in its root", path, fields[2])
				}
			} else if final {
				t.Fatalf("%s: unexpected COPY in the final stage: %s", path, line)
			}
		case "ENTRYPOINT":
			if final && line != `ENTRYPOINT ["`+img.binary+`"]` {
				t.Fatalf("%s: %s, want the entrypoint %s", path, line, img.binary)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !final || img.binary == "" || img.caBundle == "" {
		t.Fatalf("%s: want a final stage FROM scratch holding the binary and a CA bundle, got %+v", path, img)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w`} {
		if !strings.Contains(build, want) {
			t.Fatalf("%s: the go build step lacks %s, which this test builds with: %s", path, want, build)
		}
	}
	return img
}

// buildStatic builds smexec as the Dockerfile does.
func buildStatic(t *testing.T, out string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the static binary: %v", err)
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w -X main.version=chroot-test", "-o", out, ".")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "CGO_ENABLED=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

// assertStatic fails unless bin is an ELF executable with no program
// interpreter and no shared libraries.
func assertStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("%s is dynamically linked (program header %v)", bin, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("%s needs shared libraries %v", bin, libs)
	}
}

// chrootRun runs argv inside root, with only env as its environment.
func chrootRun(t *testing.T, root string, env []string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The path is resolved inside the chroot by execve, so it is given as
	// the chroot sees it.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Path = argv[0]
	cmd.Env = env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("chroot %s %v: %v", root, argv, err)
	}
	return o.String(), e.String(), 0
}

func seed(t *testing.T, endpoint string, secrets map[string]string) {
	t.Helper()
	c := sm.NewFromConfig(aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(endpoint),
	})
	for name, v := range secrets {
		if _, err := c.CreateSecret(context.Background(), &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}
