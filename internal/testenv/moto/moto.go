// Package moto runs a moto_server, a local Secrets Manager (and IAM)
// endpoint, on a free loopback port, for end-to-end tests and benchmarks.
package moto

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Server is a running moto_server.
type Server struct {
	URL    string
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
}

// Binary finds moto_server: $MOTO_SERVER, then PATH, then the virtualenv
// the Makefile installs into (.venv at the module root).
func Binary() (string, error) {
	if p := os.Getenv("MOTO_SERVER"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	for dir, _ := os.Getwd(); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, ".venv", "bin", "moto_server")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
	}
	return "", errors.New("moto_server not found: run `make test`, which installs it, or set MOTO_SERVER")
}

// Start runs moto_server on 127.0.0.1 with extra environment (such as
// INITIAL_NO_AUTH_ACTION_COUNT) and waits until it answers. Its output
// goes to logPath.
func Start(logPath string, env ...string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so Stop takes down any workers it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, log: log, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()
	if err := s.wait(30 * time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("moto_server did not come up (log: %s): %w", logPath, err)
	}
	return s, nil
}

func (s *Server) wait(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-s.exited:
			return errors.New("moto_server exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the server and its process group.
func (s *Server) Stop() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.log.Close()
}

// freePort asks the kernel for a free loopback port. Should another process
// take it first, moto_server exits and Start reports it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
