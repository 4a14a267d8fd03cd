package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	ecr       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	oldDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	newDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func TestSetImage(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		img         Image
		want        string
		wantChanged bool
	}{
		{
			name: "adds digest to the existing entry and keeps comments",
			in: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# managed by CI
resources:
- rollout.yaml
images:
- name: backend # set by the image updater
  newName: ` + ecr + `/backend
  newTag: latest
`,
			img: Image{Name: "backend", NewName: ecr + "/backend", NewTag: "latest", Digest: newDigest},
			want: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# managed by CI
resources:
- rollout.yaml
images:
- name: backend # set by the image updater
  newName: ` + ecr + `/backend
  newTag: latest
  digest: ` + newDigest + `
`,
			wantChanged: true,
		},
		{
			name: "replaces the digest",
			in: `resources:
- rollout.yaml
images:
- name: backend
  newName: ` + ecr + `/backend
  newTag: latest
  digest: ` + oldDigest + `
`,
			img: Image{Name: "backend", NewName: ecr + "/backend", NewTag: "latest", Digest: newDigest},
			want: `resources:
- rollout.yaml
images:
- name: backend
  newName: ` + ecr + `/backend
  newTag: latest
  digest: ` + newDigest + `
`,
			wantChanged: true,
		},
		{
			name: "same digest is no change and the same bytes",
			in: `resources:   [rollout.yaml]   # odd but valid formatting
images:
- {name: backend, newName: ` + ecr + `/backend, newTag: latest, digest: "` + newDigest + `"}
`,
			img: Image{Name: "backend", NewName: ecr + "/backend", NewTag: "latest", Digest: newDigest},
			want: `resources:   [rollout.yaml]   # odd but valid formatting
images:
- {name: backend, newName: ` + ecr + `/backend, newTag: latest, digest: "` + newDigest + `"}
`,
		},
		{
			name: "creates the images list",
			in: `resources:
  - rollout.yaml
`,
			img: Image{Name: "backend", NewName: ecr + "/backend", NewTag: "latest", Digest: newDigest},
			want: `resources:
  - rollout.yaml
images:
  - name: backend
    newName: ` + ecr + `/backend
    newTag: latest
    digest: ` + newDigest + `
`,
			wantChanged: true,
		},
		{
			name: "appends an entry and leaves the others",
			in: `images:
- name: frontend
  newTag: v3
`,
			img: Image{Name: "backend", NewName: "backend", NewTag: "latest", Digest: newDigest},
			want: `images:
- name: frontend
  newTag: v3
- name: backend
  newTag: latest
  digest: ` + newDigest + `
`,
			wantChanged: true,
		},
		{
			name: "tag only drops a stale digest, newName and tagSuffix",
			in: `images:
- name: backend
  newName: old.example.com/backend
  tagSuffix: -alpine
  digest: ` + oldDigest + `
`,
			img: Image{Name: "backend", NewTag: "1.10"},
			want: `images:
- name: backend
  newTag: "1.10"
`,
			wantChanged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := SetImage([]byte(tt.in), tt.img)
			if err != nil {
				t.Fatalf("SetImage: %v", err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if string(got) != tt.want {
				t.Errorf("SetImage output:\n%s\nwant:\n%s", got, tt.want)
			}
			// Applying the same edit again must be a no-op: this is what
			// keeps a second poll with the same digest from committing.
			again, changed, err := SetImage(got, tt.img)
			if err != nil || changed || string(again) != string(got) {
				t.Errorf("second SetImage: changed=%v err=%v, output differs=%v", changed, err, string(again) != string(got))
			}
		})
	}
}

func TestSetImageErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		img  Image
	}{
		{name: "empty name", in: "resources: []\n", img: Image{NewTag: "x"}},
		{name: "not yaml", in: "images: [\n", img: Image{Name: "a", NewTag: "x"}},
		{name: "images is not a list", in: "images: backend\n", img: Image{Name: "a", NewTag: "x"}},
		{name: "unknown field", in: "imagez: []\n", img: Image{Name: "a", NewTag: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := SetImage([]byte(tt.in), tt.img); err == nil {
				t.Fatal("SetImage succeeded, want an error")
			}
		})
	}
}

// TestSetImageRendersRollout runs kustomize itself (krusty) on the edited
// testdata: the Rollout's containers that use the image, init containers
// included, must get repo:tag@digest, and other containers stay untouched.
func TestSetImageRendersRollout(t *testing.T) {
	fs := filesys.MakeFsInMemory()
	for _, name := range []string{"kustomization.yaml", "rollout.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "app", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.WriteFile(filepath.Join("/app", name), data); err != nil {
			t.Fatal(err)
		}
	}
	data, err := fs.ReadFile("/app/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img := Image{Name: "backend", NewName: ecr + "/backend", NewTag: "latest", Digest: newDigest}
	edited, changed, err := SetImage(data, img)
	if err != nil || !changed {
		t.Fatalf("SetImage: changed=%v err=%v", changed, err)
	}
	if err := fs.WriteFile("/app/kustomization.yaml", edited); err != nil {
		t.Fatal(err)
	}

	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/app")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	rendered := string(out)
	want := "image: " + ecr + "/backend:latest@" + newDigest
	if n := strings.Count(rendered, want); n != 2 {
		t.Errorf("rendered %d lines %q, want 2 (container and init container):\n%s", n, want, rendered)
	}
	if !strings.Contains(rendered, "image: envoyproxy/envoy:v1.31.0") {
		t.Errorf("sidecar image changed:\n%s", rendered)
	}
	if img.String() != ecr+"/backend:latest@"+newDigest {
		t.Errorf("Image.String() = %q", img.String())
	}
}
