package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	img := readDockerfile(t, "Dockerfile", "")
	if want := []string{img.binary}; !slices.Equal(img.entrypoint, want) {
		t.Fatalf("Dockerfile: the default image's entrypoint is %q, want %q", img.entrypoint, want)
	}
	root := t.TempDir()
	env, motoURL := imageRoot(t, root, img)
	seed(t, motoURL, map[string]string{
		"chroot/db":      `{"user":"chroot-user","password":"chroot-pass"}`,
		"chroot/token":   "chroot-token-value",
		"chroot/mapping": "/run/app/token=chroot/token",
	})

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

	out, errOut, code := chrootRun(t, root, nil, env, img.binary, "version")
	if code != 0 || !regexp.MustCompile(`^smexec chroot-test go[0-9.]+\S* linux/[a-z0-9]+\n$`).MatchString(out) {
		t.Fatalf("version in the root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A value over TLS, trusted through the image's CA bundle.
	out, errOut, code = chrootRun(t, root, nil, env, img.binary, "get", "chroot/db:password")
	if code != 0 || out != "chroot-pass" {
		t.Fatalf("get in the root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A run with a child, the binary itself, which can only act on the
	// value if it arrived: SMEXEC_FILE, set from a secret, tells the child
	// smexec to write a file from another secret before it runs version.
	out, errOut, code = chrootRun(t, root, nil, env, img.binary, "-e", "SMEXEC_FILE=chroot/mapping", "--", img.binary, "--", img.binary, "version")
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
	out, errOut, code = chrootRun(t, root, nil, env, img.binary, "get", "chroot/db:password")
	if code != 125 || out != "" || !strings.Contains(errOut, "certificate") {
		t.Fatalf("get in the root without a CA bundle: exit %d, stdout %q, stderr %q; want 125 and a certificate error", code, out, errOut)
	}
}

// TestImageRootFlyteSidecar runs the Dockerfile's flyte-sidecar image as
// TestImageRoot runs the default one, the way Flyte's webhook runs its
// init container: the image's entrypoint, no arguments, as the image's
// user, with SECRET_ARN and SECRET_FILENAME set as the webhook sets them
// and a world-writable folder at /tmp for the pod's emptyDir.
func TestImageRootFlyteSidecar(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot(2) needs root; this test runs in CI, which runs as root (run the tests as root to include it)")
	}
	img := readDockerfile(t, "Dockerfile", "flyte-sidecar")
	if want := []string{img.binary, "flyte-sidecar"}; !slices.Equal(img.entrypoint, want) {
		t.Fatalf("Dockerfile: the flyte-sidecar image's entrypoint is %q, want %q", img.entrypoint, want)
	}
	cred := img.credential(t)
	root := t.TempDir()
	env, motoURL := imageRoot(t, root, img)
	arns := seed(t, motoURL, map[string]string{"chroot/Flyte-DB": `{"user":"sidecar-user","password":"sidecar-pass"}`})
	// The emptyDir the webhook mounts at /tmp starts 0777.
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o777); err != nil {
		t.Fatal(err)
	}

	// The webhook's environment for Secret(group, key): the ARN is the
	// group and the key joined by ':', the filename their lowered form.
	arn := arns["chroot/Flyte-DB"]
	group, key := arn[:strings.Index(arn, ":secret:")+len(":secret:")], arn[strings.Index(arn, ":secret:")+len(":secret:"):]+":password"
	filename := filepath.Join("/", strings.ToLower(group), strings.ToLower(key))
	webhookEnv := append(slices.Clone(env), "SECRET_ARN="+strings.TrimRight(group, ":")+":"+strings.TrimLeft(key, ":"), "SECRET_FILENAME="+filename,
		"FLYTE_SECRETS_DEFAULT_DIR=/etc/flyte/secrets", "FLYTE_SECRETS_FILE_PREFIX=")
	out, errOut, code := chrootRun(t, root, cred, webhookEnv, img.entrypoint...)
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("flyte-sidecar in the root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	written := filepath.Join(tmp, filename)
	got, err := os.ReadFile(written)
	if err != nil || string(got) != "sidecar-pass" {
		t.Fatalf("file the sidecar wrote at /tmp%s: %q, %v", filename, got, err)
	}
	fi, err := os.Stat(written)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode() != 0o444 || st.Uid != cred.Uid || st.Gid != cred.Gid {
		t.Fatalf("the file is %v owned by %d:%d, want -r--r--r-- owned by the image's user %d:%d", fi.Mode(), st.Uid, st.Gid, cred.Uid, cred.Gid)
	}

	// A secret that cannot be read fails the init container: 125, one
	// error line and its hint, and no file.
	missing := append(slices.Clone(env), "SECRET_ARN="+group+"chroot/missing-AbCdEf", "SECRET_FILENAME=/"+group+"/chroot/missing-abcdef")
	out, errOut, code = chrootRun(t, root, cred, missing, img.entrypoint...)
	if code != 125 || out != "" || !regexp.MustCompile(`^smexec: error: SECRET_ARN=\S+: secret \S+ .*not found.*\nsmexec: hint: .*\n$`).MatchString(errOut) {
		t.Fatalf("flyte-sidecar in the root, secret missing: exit %d, stdout %q, stderr %q; want 125 and one error line with a hint", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(tmp, group, "chroot/missing-abcdef")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed run left a file: %v", err)
	}
}

// imageRoot puts img's binary, built as the Dockerfile builds it, and a CA
// bundle into root, and returns the environment of a run there, which
// reaches moto through a TLS proxy on loopback (the chroot shares the
// network) trusted only through that bundle, and moto's own URL.
func imageRoot(t *testing.T, root string, img image) (env []string, motoURL string) {
	t.Helper()
	bin := filepath.Join(root, img.binary)
	buildStatic(t, bin)
	assertStatic(t, bin)

	e := startMoto(t)
	proxy, ca, err := tlsFront(e.open.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	writeFile(t, filepath.Join(root, img.caBundle), ca, 0o644)
	return []string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + proxy.URL,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=" + testRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}, e.open.URL
}

// image is what a stage of the Dockerfile holds, with what the stages
// it is built FROM hold.
type image struct {
	binary     string // where the smexec binary is
	caBundle   string
	entrypoint []string
	user       string // USER, its ARGs expanded
	// bad is what the stage holds that the test does not build.
	bad []string
}

// credential is the image's USER as numeric ids.
func (img image) credential(t *testing.T) *syscall.Credential {
	t.Helper()
	u, g, ok := strings.Cut(img.user, ":")
	uid, uerr := strconv.ParseUint(u, 10, 32)
	gid, gerr := strconv.ParseUint(g, 10, 32)
	if !ok || uerr != nil || gerr != nil {
		t.Fatalf("Dockerfile: USER %q is not numeric UID:GID", img.user)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// readDockerfile reads one stage of the Dockerfile, the one named target
// or the final one for "", on top of the stages it is built FROM, and
// checks that it is what the test builds: scratch, the static binary and
// a CA bundle.
func readDockerfile(t *testing.T, path, target string) image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type stage struct {
		name, from string
		img        image
	}
	var stages []*stage
	var cur *stage
	var build string
	args := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			var from []string // FROM [--platform=…] IMAGE [AS NAME]
			for _, f := range fields[1:] {
				if !strings.HasPrefix(f, "--") {
					from = append(from, f)
				}
			}
			cur = &stage{from: from[0]}
			if len(from) == 3 && strings.EqualFold(from[1], "AS") {
				cur.name = from[2]
			}
			stages = append(stages, cur)
			args = map[string]string{}
		case "ARG":
			if k, v, ok := strings.Cut(fields[1], "="); ok {
				args[k] = v
			}
		case "RUN":
			if strings.Contains(line, " go build ") {
				build = line
			}
		case "COPY":
			img := &cur.img
			if len(fields) == 4 && strings.HasPrefix(fields[1], "--from=") {
				switch {
				case strings.HasSuffix(fields[2], "/smexec"):
					img.binary = fields[3]
				case strings.HasSuffix(fields[2], "ca-certificates.crt"):
					img.caBundle = fields[3]
				default:
					img.bad = append(img.bad, "the image holds "+fields[2]+", which this test does not put in its root")
				}
			} else {
				img.bad = append(img.bad, "unexpected COPY in the image's stage: "+line)
			}
		case "USER":
			cur.img.user = os.Expand(fields[1], func(k string) string { return args[k] })
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(strings.TrimSpace(line[len(fields[0]):])), &cur.img.entrypoint); err != nil || len(cur.img.entrypoint) == 0 {
				cur.img.bad = append(cur.img.bad, line+": want the exec form")
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	// The stage, then the one it is built FROM, and so on: a FROM names
	// an earlier stage, or an image (scratch).
	var chain []*stage
	for i := len(stages) - 1; i >= 0; i-- {
		s := stages[i]
		if len(chain) == 0 && (target == "" || s.name == target) || len(chain) > 0 && strings.EqualFold(s.name, chain[len(chain)-1].from) {
			chain = append(chain, s)
		}
	}
	if len(chain) == 0 {
		t.Fatalf("%s: no stage %q", path, target)
	}
	var img image
	for _, s := range slices.Backward(chain) {
		img.binary = cmp.Or(s.img.binary, img.binary)
		img.caBundle = cmp.Or(s.img.caBundle, img.caBundle)
		img.user = cmp.Or(s.img.user, img.user)
		if s.img.entrypoint != nil {
			img.entrypoint = s.img.entrypoint
		}
		img.bad = append(img.bad, s.img.bad...)
	}
	if len(img.entrypoint) > 0 && img.entrypoint[0] != img.binary {
		img.bad = append(img.bad, fmt.Sprintf("the entrypoint %q does not start with the binary %s", img.entrypoint, img.binary))
	}
	if len(img.bad) > 0 {
		t.Fatalf("%s: %s", path, strings.Join(img.bad, "; "))
	}
	if chain[len(chain)-1].from != "scratch" || img.binary == "" || img.caBundle == "" || len(img.entrypoint) == 0 {
		t.Fatalf("%s: want a stage %q FROM scratch (itself or through the stages it is built on) holding the binary and a CA bundle, with an entrypoint, got %+v", path, target, img)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w`} {
		if !strings.Contains(build, want) {
			t.Fatalf("%s: the go build step lacks %s, which this test builds with: %s", path, want, build)
		}
	}
	return img
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

// chrootRun runs argv inside root, with only env as its environment, as
// cred's user or, for nil, as the test's.
func chrootRun(t *testing.T, root string, cred *syscall.Credential, env []string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The path is resolved inside the chroot by execve, so it is given as
	// the chroot sees it.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Path = argv[0]
	cmd.Env = env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: cred}
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

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}
