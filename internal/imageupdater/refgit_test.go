package imageupdater

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/gitwrite"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
)

const (
	dOld = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	dNew = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func refTarget(t *testing.T, wb refWriteBack, typ string) *fileTarget {
	t.Helper()
	wb.field = "f"
	p, err := compileRefWriteBack(wb, appInfo{name: "backend-prod", namespace: "argocd", sourceType: typ, repoURL: "https://g/deploy.git", path: "apps/backend", revision: "main"}, "argocd")
	if err != nil {
		t.Fatal(err)
	}
	return p.file
}

func seedPending(current string) pending {
	return pending{
		ip:  imagePlan{spec: imagesv1.ImageSpec{Name: "backend", Image: ecr + "/backend"}, kustomizeName: "backend", query: queryDigest()},
		tag: "latest", digest: dNew, current: current,
	}
}

func queryDigest() (q registry.Query) {
	q.Strategy = imagesv1.StrategyDigest
	return q
}

// TestRefCommitMessage: argocd-image-updater's default message, byte for
// byte, listing only the images that changed.
func TestRefCommitMessage(t *testing.T) {
	f := refTarget(t, refWriteBack{method: "git:secret:c"}, argocd.SourceKustomize)
	var req gitwrite.Request
	todo := []pending{seedPending(ecr + "/backend:latest"), seedPending(ecr + "/backend:latest@" + dOld)}
	todo[1].ip.spec.Image = "registry.example.com:5000/team/worker"
	todo[1].ip.kustomizeName = "worker"
	if err := f.request(&req, &unit{}, todo); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		changed []bool
		want    string
	}{
		{[]bool{true, false}, "build: automatic update of backend-prod\n\nupdates image backend tag 'latest' to '" + dNew + "'\n"},
		{[]bool{true, true}, "build: automatic update of backend-prod\n\nupdates image backend tag 'latest' to '" + dNew + "'\nupdates image team/worker tag '" + dOld + "' to '" + dNew + "'\n"},
	}
	for _, tt := range tests {
		if got := req.Message(tt.changed); got != tt.want {
			t.Errorf("message(%v) =\n%q\nwant\n%q", tt.changed, got, tt.want)
		}
	}
	if req.File != "apps/backend/.argocd-source-backend-prod.yaml" || req.PushBranch != "" {
		t.Errorf("file %q, push branch %q", req.File, req.PushBranch)
	}
	out, changed, err := req.Apply(nil)
	want := "kustomize:\n  images:\n  - backend=" + ecr + "/backend:latest@" + dNew + "\n  - worker=registry.example.com:5000/team/worker:latest@" + dNew + "\n"
	if err != nil || string(out) != want || !slices.Equal(changed, []bool{true, true}) {
		t.Errorf("apply = %v %v\n%s\nwant\n%s", changed, err, out, want)
	}
}

// TestRefBranchTemplate: <base>:<target> renders the target with the
// changes' SHA256 and the Application's names.
func TestRefBranchTemplate(t *testing.T) {
	f := refTarget(t, refWriteBack{method: "git:secret:c", branch: "main:image-updater/{{.AppName}}-{{.SHA256}}-{{range .Images}}{{.Alias}}{{end}}"}, argocd.SourceKustomize)
	var req gitwrite.Request
	p := seedPending(ecr + "/backend:latest")
	if err := f.request(&req, &unit{}, []pending{p}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(ecr + "/backend-latest-" + dNew + ","))
	want := "image-updater/backend-prod-" + hex.EncodeToString(sum[:]) + "-backend"
	if req.PushBranch != want {
		t.Errorf("push branch = %q, want %q", req.PushBranch, want)
	}
}

// TestRefKustomizationTarget: the kustomization target upserts the
// entry as `kustomize edit set image` would: newName only with a
// kustomize name.
func TestRefKustomizationTarget(t *testing.T) {
	f := refTarget(t, refWriteBack{method: "git:secret:c", target: "kustomization"}, argocd.SourceKustomize)
	tests := []struct {
		name, kname string
		bare        bool
		want        string
	}{
		{name: "kustomize name", kname: "backend", want: "resources:\n- rollout.yaml\nimages:\n- name: backend\n  newName: " + ecr + "/backend\n  newTag: latest\n  digest: " + dNew + "\n"},
		{name: "no kustomize name", kname: ecr + "/backend", bare: true, want: "resources:\n- rollout.yaml\nimages:\n- name: " + ecr + "/backend\n  newTag: latest\n  digest: " + dNew + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := seedPending("")
			p.ip.kustomizeName, p.ip.bareKustomizeEntry = tt.kname, tt.bare
			var req gitwrite.Request
			if err := f.request(&req, &unit{}, []pending{p}); err != nil {
				t.Fatal(err)
			}
			out, changed, err := req.Apply([]byte("resources:\n- rollout.yaml\n"))
			if err != nil || string(out) != tt.want || !slices.Equal(changed, []bool{true}) {
				t.Errorf("apply = %v %v\n%s\nwant\n%s", changed, err, out, tt.want)
			}
			if req.Message([]bool{true}) != "build: automatic update of backend-prod\n\nupdates image backend tag '' to '"+dNew+"'\n" {
				t.Errorf("message = %q", req.Message([]bool{true}))
			}
		})
	}
}

func TestVersionOfAndRepoPath(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "nginx": "", "nginx:1.27": "1.27", "reg:5000/backend:latest@" + dOld: dOld, "reg:5000/backend": "",
	} {
		if got := versionOf(in); got != want {
			t.Errorf("versionOf(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		ecr + "/backend": "backend", "nginx": "nginx", "library/nginx": "library/nginx", "localhost/x/y": "x/y", "reg:5000/a/b": "a/b",
	} {
		if got := repoPath(in); got != want {
			t.Errorf("repoPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRefHelmValuesTarget: the helmvalues target sets the image's name and
// tag keys in the values file, one commit for the Application.
func TestRefHelmValuesTarget(t *testing.T) {
	f := refTarget(t, refWriteBack{method: "git:secret:c", target: "helmvalues"}, argocd.SourceHelm)
	p := seedPending(ecr + "/backend:latest")
	p.ip.helm = &argocd.HelmNames{Name: "backend.image.repository", Tag: "backend.image.tag"}
	var req gitwrite.Request
	if err := f.request(&req, &unit{}, []pending{p}); err != nil {
		t.Fatal(err)
	}
	in := "backend:\n  image:\n    repository: " + ecr + "/backend\n    tag: latest # tracked by digest\n  replicas: 2\n"
	want := "backend:\n  image:\n    repository: " + ecr + "/backend\n    tag: latest@" + dNew + " # tracked by digest\n  replicas: 2\n"
	out, changed, err := req.Apply([]byte(in))
	if err != nil || string(out) != want || !slices.Equal(changed, []bool{true}) || req.File != "apps/backend/values.yaml" {
		t.Errorf("apply = %v %v %s\n%s\nwant\n%s", changed, err, req.File, out, want)
	}
}
