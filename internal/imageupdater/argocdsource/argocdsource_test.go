package argocdsource

import (
	"slices"
	"testing"

	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
)

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// TestSetKustomizeImagesGolden holds the exact bytes argocd-image-updater
// writes to .argocd-source-<app>.yaml for a kustomize image, so a
// repository it maintained gets the same content from us.
func TestSetKustomizeImagesGolden(t *testing.T) {
	backend := argocd.Image{Bare: true, Ref: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend:latest@" + d2}
	aliased := argocd.Image{KustomizeName: "backend", Ref: "registry.example.com:5000/backend:latest@" + d2}
	tests := []struct {
		name        string
		current     string
		images      []argocd.Image
		want        string
		wantChanged []bool
	}{
		{
			name:        "new file",
			images:      []argocd.Image{backend},
			want:        "kustomize:\n  images:\n  - 123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend:latest@" + d2 + "\n",
			wantChanged: []bool{true},
		},
		{
			name:        "replaces the entry of the same image, keeps others",
			current:     "kustomize:\n  images:\n  - nginx:1.27\n  - 123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend:latest@" + d1 + "\n",
			images:      []argocd.Image{backend},
			want:        "kustomize:\n  images:\n  - nginx:1.27\n  - 123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend:latest@" + d2 + "\n",
			wantChanged: []bool{true},
		},
		{
			name:        "kustomize name",
			images:      []argocd.Image{aliased},
			want:        "kustomize:\n  images:\n  - backend=registry.example.com:5000/backend:latest@" + d2 + "\n",
			wantChanged: []bool{true},
		},
		{
			name:        "unchanged content is returned byte for byte",
			current:     "# by hand\nkustomize:\n    images:\n        - backend=registry.example.com:5000/backend:latest@" + d2 + "\n",
			images:      []argocd.Image{aliased},
			want:        "# by hand\nkustomize:\n    images:\n        - backend=registry.example.com:5000/backend:latest@" + d2 + "\n",
			wantChanged: []bool{false},
		},
		{
			name:        "unknown keys are dropped on rewrite, as the reference does",
			current:     "kustomize:\n  images:\n  - backend=old:1\n  namePrefix: x-\n",
			images:      []argocd.Image{aliased},
			want:        "kustomize:\n  images:\n  - backend=registry.example.com:5000/backend:latest@" + d2 + "\n",
			wantChanged: []bool{true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := SetKustomizeImages([]byte(tt.current), tt.images)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || !slices.Equal(changed, tt.wantChanged) {
				t.Errorf("got %v\n%s\nwant %v\n%s", changed, out, tt.wantChanged, tt.want)
			}
		})
	}
}

func TestSetHelmParametersGolden(t *testing.T) {
	img := argocd.Image{Ref: "registry.example.com/backend:latest@" + d2}
	spec := argocd.Image{Ref: "registry.example.com/worker:1.2.3", Helm: &argocd.HelmNames{Spec: "worker.image"}}
	out, changed, err := SetHelmParameters([]byte("helm:\n  parameters:\n  - name: zz\n    value: keep\n    forcestring: false\n"), []argocd.Image{img, spec})
	if err != nil {
		t.Fatal(err)
	}
	want := "helm:\n  parameters:\n" +
		"  - name: image.name\n    value: registry.example.com/backend\n    forcestring: true\n" +
		"  - name: image.tag\n    value: latest@" + d2 + "\n    forcestring: true\n" +
		"  - name: worker.image\n    value: registry.example.com/worker:1.2.3\n    forcestring: true\n" +
		"  - name: zz\n    value: keep\n    forcestring: false\n"
	if string(out) != want || !slices.Equal(changed, []bool{true, true}) {
		t.Errorf("got %v\n%s\nwant\n%s", changed, out, want)
	}
	again, changed, err := SetHelmParameters(out, []argocd.Image{img, spec})
	if err != nil || string(again) != string(out) || slices.Contains(changed, true) {
		t.Errorf("second write changed the file: %v %v\n%s", changed, err, again)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	if _, _, err := SetKustomizeImages([]byte("kustomize: [unclosed"), nil); err == nil {
		t.Error("no error for a file that is not YAML")
	}
}
