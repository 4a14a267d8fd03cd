package manager

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestSlimCachedObject(t *testing.T) {
	applied := `{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout"}`
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	withApplied := func(u *unstructured.Unstructured) *unstructured.Unstructured {
		u.SetAnnotations(map[string]string{corev1.LastAppliedConfigAnnotation: applied, "keep": "me"})
		u.SetManagedFields(managed)
		return u
	}
	tests := []struct {
		name            string
		in              any
		wantAnnotations map[string]string
	}{
		{
			name: "last-applied and managedFields dropped, other annotations kept",
			in: &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{
				Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: applied, v1alpha1.RevisionAnnotation: "3"},
				ManagedFields: managed,
			}},
			wantAnnotations: map[string]string{v1alpha1.RevisionAnnotation: "3"},
		},
		{
			name: "only last-applied: no annotations left",
			in: &corev1.Service{ObjectMeta: metav1.ObjectMeta{
				Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: applied},
			}},
			wantAnnotations: nil,
		},
		{
			name:            "unstructured objects too",
			in:              withApplied(&unstructured.Unstructured{Object: map[string]any{}}),
			wantAnnotations: map[string]string{"keep": "me"},
		},
		{
			name:            "nothing to drop",
			in:              &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"a": "b"}}},
			wantAnnotations: map[string]string{"a": "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := slimCachedObject(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := meta.Accessor(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := obj.GetManagedFields(); got != nil {
				t.Errorf("managedFields kept: %v", got)
			}
			got := obj.GetAnnotations()
			if len(got) != len(tt.wantAnnotations) {
				t.Fatalf("annotations %v, want %v", got, tt.wantAnnotations)
			}
			for k, v := range tt.wantAnnotations {
				if got[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	// Not an object: passed through untouched.
	if out, err := slimCachedObject("not an object"); err != nil || out != "not an object" {
		t.Errorf("non-object: %v, %v", out, err)
	}
}
