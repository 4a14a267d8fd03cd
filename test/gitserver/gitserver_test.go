package gitserver

import (
	"net/url"
	"strings"
	"testing"
)

func TestServer(t *testing.T) {
	s := Start(t)
	s.CreateRepo(t, "app", "main", map[string]string{"README.md": "hello\n"})

	authed, err := url.Parse(s.RepoURL("app"))
	if err != nil {
		t.Fatal(err)
	}
	authed.User = url.UserPassword(s.Username, s.Password)
	work := t.TempDir()
	Git(t, "", "clone", "--quiet", authed.String(), work)
	if got := strings.TrimSpace(Git(t, work, "rev-parse", "HEAD")); got != s.Head(t, "app", "main") {
		t.Errorf("cloned HEAD %s, server head %s", got, s.Head(t, "app", "main"))
	}

	// Push over HTTP, as the image updater does.
	Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "Over HTTP")
	Git(t, work, "push", "--quiet", "origin", "main")
	if log := s.Log(t, "app", "main"); len(log) != 2 || log[0].Subject != "Over HTTP" {
		t.Errorf("log after push = %+v", log)
	}

	wrong := *authed
	wrong.User = url.UserPassword(s.Username, "wrong")
	if _, err := GitE("", "ls-remote", wrong.String()); err == nil || !strings.Contains(err.Error(), "Authentication failed") {
		t.Errorf("ls-remote with a wrong password: %v", err)
	}

	other := s.Commit(t, "app", "main", "b.txt", "b\n", "Someone else")
	if !s.IsAncestor(t, "app", other, "main") || s.ReadFile(t, "app", "main", "b.txt") != "b\n" {
		t.Error("Commit did not land on main")
	}
}
