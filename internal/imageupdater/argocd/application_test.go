package argocd

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const d = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

func TestMergeImages(t *testing.T) {
	backend := Image{KustomizeName: "backend", Ref: "reg.example.com:5000/backend:latest@" + d}
	tests := []struct {
		name        string
		current     []string
		images      []Image
		want        []string
		wantChanged []bool
	}{
		{
			name:        "empty list",
			images:      []Image{backend},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d},
			wantChanged: []bool{true},
		},
		{
			name:        "replaces an aliased entry in place",
			current:     []string{"frontend=web:v2", "backend=reg.example.com:5000/backend:latest@sha256:old", "redis:7"},
			images:      []Image{backend},
			want:        []string{"frontend=web:v2", "backend=reg.example.com:5000/backend:latest@" + d, "redis:7"},
			wantChanged: []bool{true},
		},
		{
			name:        "replaces a bare entry for the same image",
			current:     []string{"backend:v1"},
			images:      []Image{backend},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d},
			wantChanged: []bool{true},
		},
		{
			name:        "unchanged",
			current:     []string{"backend=reg.example.com:5000/backend:latest@" + d},
			images:      []Image{backend},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d},
			wantChanged: []bool{false},
		},
		{
			name:        "two images, one already set",
			current:     []string{"backend=reg.example.com:5000/backend:latest@" + d},
			images:      []Image{backend, {KustomizeName: "reg.example.com:5000/worker", Ref: "reg.example.com:5000/worker:1.2.3"}},
			want:        []string{"backend=reg.example.com:5000/backend:latest@" + d, "reg.example.com:5000/worker=reg.example.com:5000/worker:1.2.3"},
			wantChanged: []bool{false, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := MergeImages(tt.current, tt.images)
			if !slices.Equal(got, tt.want) || !slices.Equal(changed, tt.wantChanged) {
				t.Errorf("MergeImages = %q %v, want %q %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestStripTagAndDigest(t *testing.T) {
	tests := map[string]string{
		"backend":                             "backend",
		"backend:latest":                      "backend",
		"reg:5000/backend":                    "reg:5000/backend",
		"reg:5000/backend:v1":                 "reg:5000/backend",
		"reg:5000/backend:v1@sha256:abc":      "reg:5000/backend",
		"reg:5000/backend@sha256:abc":         "reg:5000/backend",
		"docker.io/library/nginx:1.27-alpine": "docker.io/library/nginx",
	}
	for in, want := range tests {
		if got := StripTagAndDigest(in); got != want {
			t.Errorf("StripTagAndDigest(%q) = %q, want %q", in, got, want)
		}
	}
}

func app(spec, status map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"spec": spec, "status": status}}
}

func TestEdit(t *testing.T) {
	ref := "reg:5000/backend:latest@" + d
	bare := Image{Bare: true, Ref: ref}
	tests := []struct {
		name        string
		app         *unstructured.Unstructured
		typ         string
		images      []Image
		wantPath    []string // where the result is read
		want        any
		wantChanged []bool
		wantErr     string
	}{
		{
			name:        "single kustomize source by status",
			app:         app(map[string]any{"source": map[string]any{"repoURL": "r"}}, map[string]any{"sourceType": "Kustomize"}),
			images:      []Image{bare},
			wantPath:    []string{"spec", "source", "kustomize", "images"},
			want:        []any{ref},
			wantChanged: []bool{true},
		},
		{
			name: "helm parameters merged by name",
			app: app(map[string]any{"source": map[string]any{"chart": "backend", "helm": map[string]any{"parameters": []any{
				map[string]any{"name": "image.tag", "value": "old"}, map[string]any{"name": "replicas", "value": "2"},
			}}}}, nil),
			images:   []Image{{Ref: ref}},
			wantPath: []string{"spec", "source", "helm", "parameters"},
			want: []any{
				map[string]any{"name": "image.tag", "value": "latest@" + d, "forceString": true},
				map[string]any{"name": "replicas", "value": "2"},
				map[string]any{"name": "image.name", "value": "reg:5000/backend", "forceString": true},
			},
			wantChanged: []bool{true},
		},
		{
			name:        "helm spec parameter",
			app:         app(map[string]any{"source": map[string]any{"chart": "backend"}}, map[string]any{"sourceType": "Helm"}),
			images:      []Image{{Ref: ref, Helm: &HelmNames{Spec: "backend.image"}}},
			wantPath:    []string{"spec", "source", "helm", "parameters"},
			want:        []any{map[string]any{"name": "backend.image", "value": ref, "forceString": true}},
			wantChanged: []bool{true},
		},
		{
			name: "unchanged helm parameters",
			app: app(map[string]any{"source": map[string]any{"helm": map[string]any{"parameters": []any{
				map[string]any{"name": "image.name", "value": "reg:5000/backend", "forceString": true},
				map[string]any{"name": "image.tag", "value": "latest@" + d, "forceString": true},
			}}}}, nil),
			images:      []Image{{Ref: ref}},
			wantChanged: []bool{false},
		},
		{
			name:        "no status, no block: kustomize",
			app:         app(map[string]any{"source": map[string]any{"repoURL": "r"}}, nil),
			images:      []Image{{KustomizeName: "backend", Ref: ref}},
			wantPath:    []string{"spec", "source", "kustomize", "images"},
			want:        []any{"backend=" + ref},
			wantChanged: []bool{true},
		},
		{
			name:    "directory source",
			app:     app(map[string]any{"source": map[string]any{"directory": map[string]any{}}}, map[string]any{"sourceType": "Directory"}),
			images:  []Image{bare},
			wantErr: "source is Directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed, err := Edit(tt.app, tt.typ, tt.images)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(changed, tt.wantChanged) {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if tt.want == nil {
				return
			}
			got, _, _ := unstructured.NestedFieldNoCopy(tt.app.Object, tt.wantPath...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%v = %#v, want %#v", tt.wantPath, got, tt.want)
			}
		})
	}
}

// TestEditMultiSource: the source written is chosen by type, as
// argocd-image-updater chooses it.
func TestEditMultiSource(t *testing.T) {
	ref := "reg:5000/backend:latest@" + d
	tests := []struct {
		name    string
		sources []any
		types   []any
		typ     string
		want    int // index of the source that gets the images
	}{
		{name: "first source with the block", typ: "Kustomize", want: 1, sources: []any{
			map[string]any{"chart": "redis", "helm": map[string]any{}}, map[string]any{"path": "a", "kustomize": map[string]any{}},
		}},
		{name: "by status.sourceTypes", typ: "Kustomize", want: 1, types: []any{"Helm", "Kustomize"}, sources: []any{
			map[string]any{"chart": "redis"}, map[string]any{"path": "a"},
		}},
		{name: "else the first", typ: "Kustomize", want: 0, sources: []any{
			map[string]any{"path": "a"}, map[string]any{"path": "b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := map[string]any{}
			if tt.types != nil {
				status["sourceTypes"] = tt.types
			}
			a := app(map[string]any{"sources": tt.sources}, status)
			if _, err := Edit(a, tt.typ, []Image{{Bare: true, Ref: ref}}); err != nil {
				t.Fatal(err)
			}
			sources, _, _ := unstructured.NestedSlice(a.Object, "spec", "sources")
			for i, s := range sources {
				images, _, _ := unstructured.NestedStringSlice(s.(map[string]any), "kustomize", "images")
				if (i == tt.want) != slices.Equal(images, []string{ref}) {
					t.Errorf("source %d: images %v (want the images in source %d)", i, images, tt.want)
				}
			}
		})
	}
}

func TestSourceType(t *testing.T) {
	tests := []struct {
		app  *unstructured.Unstructured
		want string
	}{
		{app(map[string]any{"source": map[string]any{}}, map[string]any{"sourceType": "Plugin"}), "Plugin"},
		{app(map[string]any{"sources": []any{map[string]any{}}}, map[string]any{"sourceTypes": []any{"Directory", "Helm"}}), "Helm"},
		{app(map[string]any{"source": map[string]any{"chart": "x"}}, nil), "Helm"},
		{app(map[string]any{"source": map[string]any{"kustomize": map[string]any{}}}, nil), "Kustomize"},
		{app(map[string]any{"source": map[string]any{"path": "x"}}, nil), ""},
	}
	for i, tt := range tests {
		if got := SourceType(tt.app); got != tt.want {
			t.Errorf("[%d] SourceType = %q, want %q", i, got, tt.want)
		}
	}
}
