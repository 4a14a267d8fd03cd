package gitwrite

import (
	"context"
	"slices"
	"testing"

	"github.com/switchyard-dev/switchyard/test/gitserver"
)

// applyRequest writes content to file in one commit.
func applyRequest(srv *gitserver.Server, creds *Credentials, file, content string) Request {
	return Request{
		URL: srv.RepoURL(repoName), Branch: branch, Credentials: creds,
		AuthorName: "argocd-image-updater", AuthorEmail: "noreply@argoproj.io",
		File: file,
		Apply: func(current []byte) ([]byte, []bool, error) {
			return []byte(content), []bool{string(current) != content}, nil
		},
		Message: func(changed []bool) string { return "build: automatic update of backend\n" },
	}
}

// TestApplyOneCommit: an Apply request creates the file (and its
// directory) in one commit, and commits nothing when it is unchanged.
func TestApplyOneCommit(t *testing.T) {
	srv := newRepo(t)
	creds := credentials(t, srv, srv.Password)
	w := newWriter()
	file := appDir + "/.argocd-source-backend.yaml"
	res, err := w.Write(context.Background(), applyRequest(srv, creds, file, "kustomize:\n  images:\n  - a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Changed, []bool{true}) || srv.Head(t, repoName, branch) != res.Head {
		t.Errorf("result = %+v, head %s", res, srv.Head(t, repoName, branch))
	}
	if got := srv.ReadFile(t, repoName, branch, file); got != "kustomize:\n  images:\n  - a\n" {
		t.Errorf("file = %q", got)
	}
	if msg := srv.Message(t, repoName, branch); msg != "build: automatic update of backend\n" {
		t.Errorf("message = %q", msg)
	}
	res, err = w.Write(context.Background(), applyRequest(srv, creds, file, "kustomize:\n  images:\n  - a\n"))
	if err != nil || slices.Contains(res.Changed, true) || len(srv.Log(t, repoName, branch)) != 2 {
		t.Errorf("second write: %+v %v, %d commits", res, err, len(srv.Log(t, repoName, branch)))
	}
	if _, err := w.Write(context.Background(), applyRequest(srv, creds, "../outside.yaml", "x")); err == nil {
		t.Error("a file outside the repository was accepted")
	}
}

// TestApplyPushBranch: <base>:<target> commits on the target branch when
// it exists, else on base, and leaves base alone; an empty Branch is the
// remote's default branch.
func TestApplyPushBranch(t *testing.T) {
	srv := newRepo(t)
	creds := credentials(t, srv, srv.Password)
	w := newWriter()
	base := srv.Head(t, repoName, branch)

	req := applyRequest(srv, creds, "a.yaml", "one\n")
	req.Branch, req.PushBranch = "", "image-updater/x"
	if _, err := w.Write(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if srv.Head(t, repoName, branch) != base {
		t.Error("the base branch moved")
	}
	first := srv.Head(t, repoName, "image-updater/x")
	if !srv.IsAncestor(t, repoName, base, first) || srv.ReadFile(t, repoName, "image-updater/x", "a.yaml") != "one\n" {
		t.Errorf("target branch is not base plus the commit")
	}

	// The target exists: the next commit goes on it.
	req = applyRequest(srv, creds, "b.yaml", "two\n")
	req.PushBranch = "image-updater/x"
	if _, err := w.Write(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	second := srv.Head(t, repoName, "image-updater/x")
	if !srv.IsAncestor(t, repoName, first, second) || srv.ReadFile(t, repoName, "image-updater/x", "a.yaml") != "one\n" {
		t.Errorf("the second commit is not on the target branch")
	}
}
