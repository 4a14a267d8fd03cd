package gitwrite

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/kustomize"
	"github.com/switchyard-dev/switchyard/test/gitserver"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

const (
	repoName  = "deploy"
	branch    = "main"
	appDir    = "apps/backend"
	imageRepo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend"
	digest1   = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digest2   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// newRepo starts a git server holding the testdata app under apps/backend.
func newRepo(t *testing.T, opts ...gitserver.Options) *gitserver.Server {
	t.Helper()
	srv := gitserver.Start(t, opts...)
	files := map[string]string{"README.md": "manifests\n"}
	for _, n := range []string{"kustomization.yaml", "rollout.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "app", n))
		if err != nil {
			t.Fatal(err)
		}
		files[appDir+"/"+n] = string(data)
	}
	srv.CreateRepo(t, repoName, branch, files)
	return srv
}

func credentials(t *testing.T, srv *gitserver.Server, password string) *Credentials {
	t.Helper()
	c, err := CredentialsFromSecret(srv.RepoURL(repoName), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "git"},
		Data: map[string][]byte{
			KeyUsername: []byte(srv.Username),
			KeyPassword: []byte(password),
			KeyCA:       srv.CAPEM,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func request(srv *gitserver.Server, creds *Credentials, digest string) Request {
	img := kustomize.Image{Name: "backend", NewName: imageRepo, NewTag: "latest", Digest: digest}
	return Request{
		URL:         srv.RepoURL(repoName),
		Branch:      branch,
		Path:        appDir,
		Credentials: creds,
		AuthorName:  "Switchyard Image Updater",
		AuthorEmail: "image-updater@switchyard.dev",
		Edits:       []Edit{{Image: img, Message: "Update backend to " + img.String()}},
	}
}

func newWriter() *Writer {
	return &Writer{Clock: clocktesting.NewFakePassiveClock(time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC))}
}

func TestWriteCommitsOnceAndIsIdempotent(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			srv := newRepo(t, gitserver.Options{TLS: tls})
			w := newWriter()
			creds := credentials(t, srv, srv.Password)
			before := srv.Head(t, repoName, branch)

			res, err := w.Write(t.Context(), request(srv, creds, digest1))
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			log := srv.Log(t, repoName, branch)
			if len(log) != 2 || log[1].Hash != before || res.Head != log[0].Hash {
				t.Fatalf("want exactly one new commit on %s, got head %s and log %+v", before, res.Head, log)
			}
			if !res.Changed[0] || res.Attempts != 1 {
				t.Errorf("Result = %+v, want changed after one push", res)
			}
			c := log[0]
			if c.Subject != "Update backend to "+imageRepo+":latest@"+digest1 || c.AuthorName != "Switchyard Image Updater" || c.AuthorEmail != "image-updater@switchyard.dev" {
				t.Errorf("commit = %+v", c)
			}
			kust := srv.ReadFile(t, repoName, branch, appDir+"/kustomization.yaml")
			if !strings.Contains(kust, "digest: "+digest1) || !strings.Contains(kust, "# set by the image updater") {
				t.Errorf("kustomization.yaml at head:\n%s", kust)
			}
			assertRenders(t, srv, branch, imageRepo+":latest@"+digest1)

			// The same digest again: nothing to commit, nothing pushed.
			calls := len(srv.Calls())
			res, err = w.Write(t.Context(), request(srv, creds, digest1))
			if err != nil {
				t.Fatalf("second Write: %v", err)
			}
			if res.Changed[0] || res.Attempts != 0 || res.Head != log[0].Hash {
				t.Errorf("second Write = %+v, want no change at %s", res, log[0].Hash)
			}
			if n := len(srv.Log(t, repoName, branch)); n != 2 {
				t.Errorf("second Write left %d commits, want 2", n)
			}
			for _, call := range srv.Calls()[calls:] {
				if strings.Contains(call, "receive-pack") {
					t.Errorf("second Write talked to receive-pack: %s", call)
				}
			}
		})
	}
}

// assertRenders runs kustomize on the branch's app directory and expects
// the Rollout's container and init container to run image.
func assertRenders(t *testing.T, srv *gitserver.Server, rev, image string) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for _, n := range []string{"kustomization.yaml", "rollout.yaml"} {
		if err := fs.WriteFile("/app/"+n, []byte(srv.ReadFile(t, repoName, rev, appDir+"/"+n))); err != nil {
			t.Fatal(err)
		}
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/app")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "image: "+image+"\n"); n != 2 {
		t.Errorf("kustomize build renders %q %d times, want 2:\n%s", image, n, out)
	}
}

// TestWriteConcurrentPush has someone else push between our clone and our
// push, at the two moments it can happen: before go-git asks the server for
// the refs to push to (go-git sees a non-fast-forward), and after (the
// server refuses the ref update). Either way the other commit must survive
// and ours must land on top of it, with their change kept.
func TestWriteConcurrentPush(t *testing.T) {
	for _, when := range []string{"GET /deploy.git/info/refs?service=git-receive-pack", "POST /deploy.git/git-receive-pack"} {
		t.Run(when, func(t *testing.T) {
			srv := newRepo(t)
			var (
				once  sync.Once
				other string
				err   error
			)
			srv.SetHook(func(r *http.Request) {
				if r.Method+" "+r.URL.RequestURI() != when {
					return
				}
				once.Do(func() {
					// They add a label to the same kustomization we edit.
					kust := srv.ReadFile(t, repoName, branch, appDir+"/kustomization.yaml")
					other, err = srv.CommitE(repoName, branch, appDir+"/kustomization.yaml",
						strings.Replace(kust, "resources:", "labels:\n- pairs:\n    team: payments\nresources:", 1), "Label the backend")
				})
			})
			before := srv.Head(t, repoName, branch)

			res, werr := newWriter().Write(t.Context(), request(srv, credentials(t, srv, srv.Password), digest2))
			if err != nil {
				t.Fatalf("concurrent commit: %v", err)
			}
			if other == "" {
				t.Fatalf("the hook never ran; calls: %q", srv.Calls())
			}
			if werr != nil {
				t.Fatalf("Write: %v", werr)
			}
			if res.Attempts != 2 {
				t.Errorf("Attempts = %d, want 2 (rejected, then fetched, re-applied and pushed)", res.Attempts)
			}
			log := srv.Log(t, repoName, branch)
			if len(log) != 3 || log[0].Hash != res.Head || log[1].Hash != other || log[2].Hash != before {
				t.Fatalf("log = %+v, want ours on theirs (%s) on the initial commit", log, other)
			}
			if !srv.IsAncestor(t, repoName, other, branch) {
				t.Error("the other commit is not in the branch's history: it was overwritten")
			}
			kust := srv.ReadFile(t, repoName, branch, appDir+"/kustomization.yaml")
			if !strings.Contains(kust, "team: payments") || !strings.Contains(kust, "digest: "+digest2) {
				t.Errorf("kustomization.yaml lost one of the two changes:\n%s", kust)
			}
			assertRenders(t, srv, branch, imageRepo+":latest@"+digest2)
		})
	}
}

func TestWriteGivesUpWithoutForce(t *testing.T) {
	srv := newRepo(t)
	var (
		mu     sync.Mutex
		theirs []string
	)
	// Someone pushes before every one of our pushes.
	srv.SetHook(func(r *http.Request) {
		if r.URL.Query().Get("service") != "git-receive-pack" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		h, err := srv.CommitE(repoName, branch, "README.md", strings.Repeat("x", len(theirs)+1)+"\n", "Busy")
		if err == nil {
			theirs = append(theirs, h)
		}
	})
	req := request(srv, credentials(t, srv, srv.Password), digest1)
	req.Attempts = 3
	res, err := newWriter().Write(t.Context(), req)
	if r := failure.Reason(err, ""); r != imagesv1.ReasonPushRejected {
		t.Fatalf("Write = %+v, %v; want reason PushRejected", res, err)
	}
	if !strings.Contains(err.Error(), "rejected 3 times") || !strings.Contains(err.Error(), "nothing was force-pushed") {
		t.Errorf("message: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(theirs) != 3 || srv.Head(t, repoName, branch) != theirs[2] {
		t.Fatalf("their commits %q, head %s: want three, the last at head", theirs, srv.Head(t, repoName, branch))
	}
	for _, c := range srv.Log(t, repoName, branch) {
		if c.AuthorName == "Switchyard Image Updater" {
			t.Errorf("our commit %s reached the server", c.Hash)
		}
	}
}

func TestWriteAuthFailureAndRecovery(t *testing.T) {
	srv := newRepo(t)
	w := newWriter()
	before := srv.Head(t, repoName, branch)

	wrong := credentials(t, srv, "not-the-git-password")
	_, err := w.Write(t.Context(), request(srv, wrong, digest1))
	if r := failure.Reason(err, ""); r != imagesv1.ReasonAuthFailed {
		t.Fatalf("Write with a wrong password: %v (reason %q), want AuthFailed", err, r)
	}
	var fe *failure.Error
	if !errorsAs(err, &fe) || fe.Message != "git server refused the credentials to clone "+srv.RepoURL(repoName)+" (branch main)" {
		t.Errorf("message = %q", fe.Message)
	}
	if strings.Contains(err.Error(), "not-the-git-password") {
		t.Errorf("error leaks the password: %v", err)
	}
	if head := srv.Head(t, repoName, branch); head != before {
		t.Fatalf("head moved to %s after a failed write", head)
	}

	// The secret is fixed: the next write goes through.
	res, err := w.Write(t.Context(), request(srv, credentials(t, srv, srv.Password), digest1))
	if err != nil || !res.Changed[0] {
		t.Fatalf("Write after the fix = %+v, %v", res, err)
	}
	if n := len(srv.Log(t, repoName, branch)); n != 2 {
		t.Errorf("%d commits after recovery, want 2", n)
	}
}

func TestWriteFailures(t *testing.T) {
	srv := newRepo(t)
	closed, err := testregistry.ClosedPort()
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := newRepo(t, gitserver.Options{TLS: true})
	tests := []struct {
		name        string
		mutate      func(r *Request)
		wantReason  string
		wantMessage string
	}{
		{name: "missing branch", mutate: func(r *Request) { r.Branch = "release" }, wantReason: imagesv1.ReasonWriteBackFailed, wantMessage: "branch not found"},
		{name: "missing kustomization", mutate: func(r *Request) { r.Path = "apps/frontend" }, wantReason: imagesv1.ReasonWriteBackFailed, wantMessage: `no kustomization in "apps/frontend"`},
		{name: "path outside the repository", mutate: func(r *Request) { r.Path = "../etc" }, wantReason: imagesv1.ReasonInvalidSpec},
		{name: "missing repository", mutate: func(r *Request) { r.URL = srv.URL + "/nothing.git" }, wantReason: imagesv1.ReasonWriteBackFailed, wantMessage: "not found"},
		{name: "unreachable", mutate: func(r *Request) { r.URL = "http://" + closed + "/deploy.git" }, wantReason: imagesv1.ReasonGitUnreachable, wantMessage: "connection refused"},
		{
			name: "untrusted TLS", wantReason: imagesv1.ReasonGitUnreachable, wantMessage: "not trusted",
			mutate: func(r *Request) {
				r.URL = tlsSrv.RepoURL(repoName)
				r.Credentials = credentials(t, tlsSrv, tlsSrv.Password)
				r.Credentials.CABundle = nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(srv, credentials(t, srv, srv.Password), digest1)
			tt.mutate(&req)
			_, err := newWriter().Write(t.Context(), req)
			if r := failure.Reason(err, ""); r != tt.wantReason {
				t.Fatalf("Write error %v (reason %q), want %s", err, r, tt.wantReason)
			}
			if !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("error %q does not contain %q", err, tt.wantMessage)
			}
		})
	}
}
