package workload

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

const (
	repo = "reg.example.com:5000/backend"
	ref  = repo + ":latest@sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func rollout(initImage, mainImage, sidecarImage string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Rollout",
		"metadata":   map[string]any{"name": "backend", "namespace": "shop"},
		"spec": map[string]any{
			"template": map[string]any{
				"spec": map[string]any{
					"initContainers": []any{map[string]any{"name": "migrate", "image": initImage}},
					"containers": []any{
						map[string]any{"name": "backend", "image": mainImage, "ports": []any{map[string]any{"containerPort": int64(8080)}}},
						map[string]any{"name": "sidecar", "image": sidecarImage},
					},
				},
			},
		},
	}}
}

func images(obj *unstructured.Unstructured) []string {
	var out []string
	for _, f := range []string{"initContainers", "containers"} {
		cs, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", f)
		for _, c := range cs {
			out = append(out, c.(map[string]any)["image"].(string))
		}
	}
	return out
}

func TestSetContainerImages(t *testing.T) {
	target := Target{GVK: schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}, Key: types.NamespacedName{Namespace: "shop", Name: "backend"}}
	img := Image{Names: []string{"backend", repo}, Ref: ref}
	tests := []struct {
		name        string
		obj         *unstructured.Unstructured
		container   string
		images      []Image
		want        []string
		wantChanged []bool
		wantReason  string
	}{
		{
			name:        "by kustomize name",
			obj:         rollout("backend:v1", "backend", "envoy:v1"),
			images:      []Image{img},
			want:        []string{ref, ref, "envoy:v1"},
			wantChanged: []bool{true},
		},
		{
			name:        "by repository with an old digest",
			obj:         rollout("busybox", repo+":latest@sha256:1111111111111111111111111111111111111111111111111111111111111111", "envoy:v1"),
			images:      []Image{img},
			want:        []string{"busybox", ref, "envoy:v1"},
			wantChanged: []bool{true},
		},
		{
			name:        "already set",
			obj:         rollout("busybox", ref, "envoy:v1"),
			images:      []Image{img},
			want:        []string{"busybox", ref, "envoy:v1"},
			wantChanged: []bool{false},
		},
		{
			name:        "by container name",
			obj:         rollout("busybox", "something/else:1", "envoy:v1"),
			container:   "backend",
			images:      []Image{img},
			want:        []string{"busybox", ref, "envoy:v1"},
			wantChanged: []bool{true},
		},
		{
			name:       "missing container",
			obj:        rollout("busybox", "backend", "envoy:v1"),
			container:  "api",
			images:     []Image{img},
			wantReason: imagesv1.ReasonWriteBackFailed,
		},
		{
			name:       "no container runs the image",
			obj:        rollout("busybox", "frontend", "envoy:v1"),
			images:     []Image{img},
			wantReason: imagesv1.ReasonWriteBackFailed,
		},
		{
			name: "workloadRef",
			obj: &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
				"workloadRef": map[string]any{"kind": "Deployment", "name": "backend"},
			}}},
			images:     []Image{img},
			wantReason: imagesv1.ReasonWriteBackFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := target
			tgt.Container = tt.container
			changed, err := SetContainerImages(tt.obj, tgt, tt.images)
			if tt.wantReason != "" {
				if r := failure.Reason(err, ""); r != tt.wantReason {
					t.Fatalf("err = %v (reason %q), want %s", err, r, tt.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := images(tt.obj); !slices.Equal(got, tt.want) || !slices.Equal(changed, tt.wantChanged) {
				t.Errorf("images %q changed %v, want %q %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}
