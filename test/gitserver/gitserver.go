// Package gitserver runs a real git smart-HTTP server for tests: git's own
// git-http-backend, hosted by net/http/cgi behind HTTP basic auth on a free
// loopback port, serving bare repositories from a temporary directory.
// Helpers create repositories and make commits as "someone else", with the
// git CLI on the bare repositories.
//
// Tests skip when git or git-http-backend is missing (`apt-get install git`).
package gitserver

import (
	"bytes"
	"crypto/subtle"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-dev/switchyard/test/syncbuf"
	"github.com/switchyard-dev/switchyard/test/tools"
)

// Server is a running git smart-HTTP server.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port or https://...).
	URL string
	// Username and Password are the credentials the server accepts, for
	// fetches and pushes alike.
	Username, Password string
	// CAPEM is the certificate to trust for a TLS server, else nil.
	CAPEM []byte
	// Root holds the bare repositories, as <name>.git.
	Root string

	backend string
	srv     *httptest.Server
	stderr  *syncbuf.Buffer

	mu    sync.Mutex
	hook  func(*http.Request)
	calls []string
}

// Options shape a Server.
type Options struct {
	// TLS serves HTTPS with a self-signed certificate (CAPEM).
	TLS bool
}

// Backend returns the path of git-http-backend, or "" when it is missing.
func Backend() string {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Start runs a server for the test and stops it at cleanup. It skips the
// test when git or git-http-backend is not installed.
func Start(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	backend := Backend()
	if backend == "" {
		tools.Missing(t, "git or git-http-backend is not installed (apt-get install git): skipping the test against a real git server")
	}
	s := &Server{
		Username: "bot",
		Password: "git-pw-" + strings.ReplaceAll(t.Name(), "/", "-"),
		Root:     t.TempDir(),
		backend:  backend,
		stderr:   &syncbuf.Buffer{},
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	if o.TLS {
		s.srv.StartTLS()
		s.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.srv.Close()
		if t.Failed() {
			t.Logf("git-http-backend stderr:\n%s", s.stderr.String())
		}
	})
	return s
}

// SetHook installs fn, called for every authenticated request before
// git-http-backend serves it. Tests use it to change a repository at a
// precise point of a client's fetch or push.
func (s *Server) SetHook(fn func(*http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// Calls returns "METHOD path?query" of every authenticated request served.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.Username)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.Password)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="switchyard-test-git"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	hook := s.hook
	s.calls = append(s.calls, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	h := &cgi.Handler{
		Path:   s.backend,
		Root:   "/",
		Stderr: s.stderr,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			// git-http-backend enables receive-pack (push) only for an
			// authenticated user.
			"REMOTE_USER=" + user,
			// The test may run as a user that does not own the temporary
			// directory (CI containers).
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
		},
	}
	h.ServeHTTP(w, r)
}

// RepoURL is the clone URL of repository name.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

func (s *Server) bare(name string) string { return filepath.Join(s.Root, name+".git") }

// CreateRepo creates a bare repository whose branch holds files (path ->
// content) in one commit, with HEAD pointing at branch.
func (s *Server) CreateRepo(t testing.TB, name, branch string, files map[string]string) {
	t.Helper()
	bare := s.bare(name)
	Git(t, "", "init", "--quiet", "--bare", "--initial-branch="+branch, bare)
	work := t.TempDir()
	Git(t, "", "clone", "--quiet", bare, work)
	Git(t, work, "checkout", "--quiet", "-b", branch)
	for p, content := range files {
		full := filepath.Join(work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, work, "add", "--all")
	Git(t, work, "commit", "--quiet", "-m", "Initial manifests")
	Git(t, work, "push", "--quiet", "origin", branch)
}

// Commit writes content to path on branch as another user would (a clone,
// a commit, a push straight to the bare repository) and returns the new
// commit's hash.
func (s *Server) Commit(t testing.TB, name, branch, path, content, message string) string {
	t.Helper()
	hash, err := s.CommitE(name, branch, path, content, message)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// CommitE is Commit for use off the test goroutine (a SetHook function):
// it returns errors instead of failing the test.
func (s *Server) CommitE(name, branch, path, content, message string) (string, error) {
	work, err := os.MkdirTemp("", "gitserver-commit-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if _, err := GitE("", "clone", "--quiet", "--branch", branch, s.bare(name), work); err != nil {
		return "", err
	}
	full := filepath.Join(work, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"add", "--all"},
		{"commit", "--quiet", "--author=Someone Else <someone@example.com>", "-m", message},
		{"push", "--quiet", "origin", branch},
	} {
		if _, err := GitE(work, args...); err != nil {
			return "", err
		}
	}
	out, err := GitE(work, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// Head returns the commit branch points at.
func (s *Server) Head(t testing.TB, name, branch string) string {
	t.Helper()
	return strings.TrimSpace(Git(t, "", "--git-dir", s.bare(name), "rev-parse", "refs/heads/"+branch))
}

// ReadFile returns path at rev (a branch or commit).
func (s *Server) ReadFile(t testing.TB, name, rev, path string) string {
	t.Helper()
	return Git(t, "", "--git-dir", s.bare(name), "show", rev+":"+path)
}

// Commit is one commit of a log.
type Commit struct {
	Hash, Subject, Body, AuthorName, AuthorEmail string
}

// Log returns the commits reachable from rev, newest first.
func (s *Server) Log(t testing.TB, name, rev string) []Commit {
	t.Helper()
	out := Git(t, "", "--git-dir", s.bare(name), "log", "--format=%H%x1f%s%x1f%b%x1f%an%x1f%ae%x1e", rev)
	var commits []Commit
	for _, rec := range strings.Split(out, "\x1e") {
		f := strings.Split(strings.TrimSpace(rec), "\x1f")
		if len(f) != 5 {
			continue
		}
		commits = append(commits, Commit{Hash: f[0], Subject: f[1], Body: strings.TrimSpace(f[2]), AuthorName: f[3], AuthorEmail: f[4]})
	}
	return commits
}

// Message returns the raw message of commit rev, byte for byte.
func (s *Server) Message(t testing.TB, name, rev string) string {
	t.Helper()
	raw := Git(t, "", "--git-dir", s.bare(name), "cat-file", "commit", rev)
	_, msg, _ := strings.Cut(raw, "\n\n")
	return msg
}

// IsAncestor reports whether commit ancestor is reachable from rev.
func (s *Server) IsAncestor(t testing.TB, name, ancestor, rev string) bool {
	t.Helper()
	cmd := exec.Command("git", "--git-dir", s.bare(name), "merge-base", "--is-ancestor", ancestor, rev)
	cmd.Env = gitEnv()
	err := cmd.Run()
	if err == nil {
		return true
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return false
	}
	t.Fatalf("git merge-base --is-ancestor %s %s: %v", ancestor, rev, err)
	return false
}

// Git runs git in dir (or the current directory when empty) with a clean,
// deterministic configuration and returns its stdout; it fails the test on
// error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := GitE(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// GitE is Git returning the error, with git's stderr in it.
func GitE(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test Setup", "GIT_AUTHOR_EMAIL=setup@example.com",
		"GIT_COMMITTER_NAME=Test Setup", "GIT_COMMITTER_EMAIL=setup@example.com",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
	)
}
