// Package gitwrite commits image updates to a kustomization in a git
// repository with go-git: a shallow clone of one branch, one commit per
// changed image, one push. A push rejected because someone else pushed
// first is answered by fetching the new head, re-applying the edits on it
// and pushing again; never by force.
package gitwrite

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"k8s.io/utils/clock"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/kustomize"
)

// DefaultAttempts is how many pushes Write tries when others keep pushing.
const DefaultAttempts = 4

// Edit is one image to set, with its commit message.
type Edit struct {
	Image   kustomize.Image
	Message string
}

// Request is one write-back.
type Request struct {
	URL    string
	Branch string
	// Path is the directory of the kustomization, relative to the root.
	Path        string
	Credentials *Credentials
	AuthorName  string
	AuthorEmail string
	Edits       []Edit
	// Attempts bounds the pushes; default DefaultAttempts.
	Attempts int

	// Apply, when set, replaces Edits: one commit with Message(changed)
	// holding what Apply makes of File (its content, nil when it does not
	// exist; File empty: the kustomization in Path). changed[i] says
	// whether the i-th image changed, and is what Result.Changed reports.
	// Apply is called again on the new head when a push is rejected.
	Apply   func(current []byte) (out []byte, changed []bool, err error)
	File    string
	Message func(changed []bool) string
	// PushBranch is the branch pushed to, when it is not Branch: the
	// commit goes on PushBranch's head when it exists, else on Branch's.
	PushBranch string
}

// Result reports a write-back.
type Result struct {
	// Head is the branch head after the write-back: the pushed commit, or
	// the existing head when nothing changed.
	Head string
	// Changed[i] says whether Edits[i] made a commit (false: the
	// kustomization already said so).
	Changed []bool
	// Attempts is the number of pushes made (0 when nothing changed).
	Attempts int
}

// Writer writes image updates to git.
type Writer struct {
	// Clock dates the commits.
	Clock clock.PassiveClock
}

// Write applies req.Edits to the kustomization on req.Branch and pushes.
func (w *Writer) Write(ctx context.Context, req Request) (Result, error) {
	dir, err := cleanDir(req.Path)
	if err != nil {
		return Result{}, err
	}
	attempts := req.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	creds := req.Credentials
	if creds == nil {
		creds = &Credentials{}
	}
	var branch plumbing.ReferenceName // empty: the remote's default branch
	if req.Branch != "" {
		branch = plumbing.NewBranchReferenceName(req.Branch)
	}
	where := fmt.Sprintf("%s (branch %s)", req.URL, orDefault(req.Branch, "default"))

	// In memory: the clone is one commit deep and one branch wide, and
	// nothing needs cleaning up after an error.
	fs := memfs.New()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), fs, &git.CloneOptions{
		URL:           req.URL,
		Auth:          creds.Auth,
		CABundle:      creds.CABundle,
		ReferenceName: branch,
		SingleBranch:  true,
		Depth:         1,
		Tags:          git.NoTags,
	})
	if err != nil {
		return Result{}, classify(err, "clone", where)
	}
	if req.Branch == "" {
		// The remote's default branch, as cloned.
		head, err := repo.Head()
		if err != nil {
			return Result{}, fmt.Errorf("head of %s: %w", where, err)
		}
		branch = head.Name()
		req.Branch = branch.Short()
		where = fmt.Sprintf("%s (branch %s)", req.URL, req.Branch)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return Result{}, fmt.Errorf("worktree of %s: %w", where, err)
	}
	push := branch
	if req.PushBranch != "" && req.PushBranch != req.Branch {
		push = plumbing.NewBranchReferenceName(req.PushBranch)
		where = fmt.Sprintf("%s (branch %s from %s)", req.URL, req.PushBranch, req.Branch)
		// Commit on the target branch when it exists already.
		if _, err := fetchReset(ctx, repo, wt, creds, req.PushBranch); err != nil && !strings.Contains(err.Error(), "couldn't find remote ref") {
			return Result{}, classify(err, "fetch", where)
		}
	}

	res := Result{}
	for attempt := 1; ; attempt++ {
		head, err := repo.Head()
		if err != nil {
			return res, fmt.Errorf("head of %s: %w", where, err)
		}
		changed, err := w.commit(wt, fs, dir, req)
		if err != nil {
			return res, err
		}
		res.Changed = changed
		if !anyTrue(changed) {
			res.Head = head.Hash().String()
			return res, nil
		}

		res.Attempts = attempt
		err = repo.PushContext(ctx, &git.PushOptions{
			RemoteName: git.DefaultRemoteName,
			RefSpecs:   []config.RefSpec{config.RefSpec(branch + ":" + push)},
			Auth:       creds.Auth,
			CABundle:   creds.CABundle,
			// Force stays false: losing someone else's commit is worse
			// than not updating an image.
		})
		if err == nil {
			newHead, err := repo.Head()
			if err != nil {
				return res, fmt.Errorf("head of %s: %w", where, err)
			}
			res.Head = newHead.Hash().String()
			return res, nil
		}
		if !rejected(err) {
			return res, classify(err, "push to", where)
		}
		if attempt == attempts {
			return res, failure.New(imagesv1.ReasonPushRejected, err,
				"push to %s rejected %d times (concurrent pushes, or a protected branch or hook); nothing was force-pushed", where, attempts)
		}

		// Someone pushed between our clone and our push: take their head
		// and redo our edits on it.
		if _, err := fetchReset(ctx, repo, wt, creds, push.Short()); err != nil {
			return res, classify(err, "fetch", where)
		}
	}
}

// fetchReset fetches branch (one commit deep) and resets the worktree and
// the checked-out branch to its head.
func fetchReset(ctx context.Context, repo *git.Repository, wt *git.Worktree, creds *Credentials, branch string) (plumbing.Hash, error) {
	remoteRef := plumbing.NewRemoteReferenceName(git.DefaultRemoteName, branch)
	err := repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: git.DefaultRemoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + plumbing.NewBranchReferenceName(branch) + ":" + remoteRef)},
		Auth:       creds.Auth,
		CABundle:   creds.CABundle,
		Depth:      1,
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, err
	}
	remote, err := repo.Reference(remoteRef, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s: %w", remoteRef, err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: remote.Hash(), Mode: git.HardReset}); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reset to %s: %w", remote.Hash(), err)
	}
	return remote.Hash(), nil
}

// commit applies the edits to the worktree, one commit per changed image.
func (w *Writer) commit(wt *git.Worktree, fs billy.Filesystem, dir string, req Request) ([]bool, error) {
	if req.Apply != nil {
		return w.commitApply(wt, fs, dir, req)
	}
	file, err := findKustomization(fs, dir)
	if err != nil {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "no kustomization in %q of %s (branch %s)", dir, req.URL, req.Branch)
	}
	changed := make([]bool, len(req.Edits))
	for i, e := range req.Edits {
		data, err := readFile(fs, file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		out, ok, err := kustomize.SetImage(data, e.Image)
		if err != nil {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "edit %s of %s (branch %s)", file, req.URL, req.Branch)
		}
		if !ok {
			continue
		}
		if err := writeFile(fs, file, out); err != nil {
			return nil, fmt.Errorf("write %s: %w", file, err)
		}
		if _, err := wt.Add(file); err != nil {
			return nil, fmt.Errorf("stage %s: %w", file, err)
		}
		sig := &object.Signature{Name: req.AuthorName, Email: req.AuthorEmail, When: w.now()}
		if _, err := wt.Commit(e.Message, &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
			return nil, fmt.Errorf("commit %s: %w", file, err)
		}
		changed[i] = true
	}
	return changed, nil
}

// commitApply makes the one commit of an Apply request.
func (w *Writer) commitApply(wt *git.Worktree, fs billy.Filesystem, dir string, req Request) ([]bool, error) {
	file := req.File
	if file == "" {
		f, err := findKustomization(fs, dir)
		if err != nil {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "no kustomization in %q of %s (branch %s)", dir, req.URL, req.Branch)
		}
		file = f
	} else {
		f, err := cleanDir(file)
		if err != nil || f == "." {
			return nil, failure.New(imagesv1.ReasonInvalidSpec, err, "file %q is not inside the repository", req.File)
		}
		file = f
	}
	data, err := readFile(fs, file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	out, changed, err := req.Apply(data)
	if err != nil {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "edit %s of %s (branch %s)", file, req.URL, req.Branch)
	}
	if bytes.Equal(out, data) && data != nil {
		return make([]bool, len(changed)), nil
	}
	if err := fs.MkdirAll(path.Dir(file), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", path.Dir(file), err)
	}
	if err := writeFile(fs, file, out); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	if _, err := wt.Add(file); err != nil {
		return nil, fmt.Errorf("stage %s: %w", file, err)
	}
	sig := &object.Signature{Name: req.AuthorName, Email: req.AuthorEmail, When: w.now()}
	if _, err := wt.Commit(req.Message(changed), &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		return nil, fmt.Errorf("commit %s: %w", file, err)
	}
	if !anyTrue(changed) {
		// The file changed (new, or rewritten) though no image did.
		changed = slices.Repeat([]bool{true}, len(changed))
	}
	return changed, nil
}

func (w *Writer) now() time.Time {
	if w.Clock == nil {
		return time.Now()
	}
	return w.Clock.Now()
}

// cleanDir validates the kustomization directory: relative, inside the
// repository.
func cleanDir(p string) (string, error) {
	if p == "" {
		p = "."
	}
	c := path.Clean(p)
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return "", failure.New(imagesv1.ReasonInvalidSpec, nil, "path %q is not inside the repository", p)
	}
	return c, nil
}

func findKustomization(fs billy.Filesystem, dir string) (string, error) {
	for _, n := range kustomize.FileNames() {
		p := path.Join(dir, n)
		if fi, err := fs.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s", strings.Join(kustomize.FileNames(), ", "))
}

func readFile(fs billy.Filesystem, p string) ([]byte, error) {
	f, err := fs.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func writeFile(fs billy.Filesystem, p string, data []byte) error {
	f, err := fs.OpenFile(p, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

// rejected reports a push refused because the branch moved: go-git's own
// fast-forward check, or the server's report for the ref (when the branch
// moved between go-git's check and the server's update).
func rejected(err error) bool {
	if errors.Is(err, git.ErrNonFastForwardUpdate) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "command error on refs/heads/") ||
		strings.Contains(msg, "non-fast-forward") || strings.Contains(msg, "fetch first")
}

// classify turns a go-git error into a failure with a reason.
func classify(err error, verb, where string) error {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		netErr           net.Error
	)
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return failure.New(imagesv1.ReasonAuthFailed, err, "git server refused the credentials to %s %s", verb, where)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return failure.New(imagesv1.ReasonAuthFailed, err, "git server denied access to %s %s", verb, where)
	case strings.Contains(err.Error(), "ssh: unable to authenticate"):
		return failure.New(imagesv1.ReasonAuthFailed, err, "git server refused the SSH key to %s %s", verb, where)
	case strings.Contains(err.Error(), "knownhosts:"):
		return failure.New(imagesv1.ReasonGitUnreachable, err, "SSH host key of %s does not match known_hosts", where)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return failure.New(imagesv1.ReasonWriteBackFailed, err, "repository %s not found", where)
	case strings.Contains(err.Error(), "couldn't find remote ref"):
		return failure.New(imagesv1.ReasonWriteBackFailed, err, "branch not found in %s", where)
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname):
		return failure.New(imagesv1.ReasonGitUnreachable, err, "TLS certificate of %s is not trusted; add its CA as %q in the git secret", where, KeyCA)
	case errors.Is(err, context.DeadlineExceeded):
		return failure.New(imagesv1.ReasonGitUnreachable, err, "timed out: %s %s", verb, where)
	case errors.As(err, &netErr):
		return failure.New(imagesv1.ReasonGitUnreachable, err, "cannot reach git server to %s %s: %s", verb, where, failure.RootCause(netErr))
	}
	return failure.New(imagesv1.ReasonWriteBackFailed, err, "%s %s failed", verb, where)
}
