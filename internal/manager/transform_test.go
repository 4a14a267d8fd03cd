package manager

import (
	"maps"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// TestCompactTransforms checks what the caches of the fleet's kinds hold:
// an encoded object (not the typed one) whose copy, what readers get, is
// the slimmed typed object.
func TestCompactTransforms(t *testing.T) {
	applied := map[string]string{corev1.LastAppliedConfigAnnotation: `{}`, "keep": "me"}
	objectMeta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "app", Namespace: "ns", Annotations: maps.Clone(applied),
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}
	}
	ready := true
	tests := []struct {
		name      string
		transform func(any) (any, error)
		in        client.Object
		// check looks at the copy beyond the metadata slimming.
		check func(t *testing.T, out runtime.Object)
	}{
		{name: "Rollout", transform: compactRollout(), in: &v1alpha1.Rollout{ObjectMeta: objectMeta(),
			Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{StableService: "app-stable"}}}},
			check: func(t *testing.T, out runtime.Object) {
				if ro := out.(*v1alpha1.Rollout); ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.Canary.StableService != "app-stable" {
					t.Errorf("spec lost: %+v", ro.Spec.Strategy)
				}
			}},
		{name: "ReplicaSet", transform: compactReplicaSet(), in: &appsv1.ReplicaSet{ObjectMeta: objectMeta()}},
		{name: "Service", transform: compactService(), in: &corev1.Service{ObjectMeta: objectMeta(),
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "app"}}},
			check: func(t *testing.T, out runtime.Object) {
				if got := out.(*corev1.Service).Spec.Selector["app"]; got != "app" {
					t.Errorf("selector lost: %v", out.(*corev1.Service).Spec.Selector)
				}
			}},
		{name: "EndpointSlice", transform: compactEndpointSlice, in: &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: "app-x1", Namespace: "ns", Labels: map[string]string{
				discoveryv1.LabelServiceName: "app-stable", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io", "app": "app"}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "app-abc-1", UID: "u"}}},
		}, check: func(t *testing.T, out runtime.Object) {
			slice := out.(*discoveryv1.EndpointSlice)
			if want := map[string]string{discoveryv1.LabelServiceName: "app-stable"}; !maps.Equal(slice.Labels, want) {
				t.Errorf("labels %v, want %v", slice.Labels, want)
			}
			want := []discoveryv1.Endpoint{{Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "app-abc-1"}}}
			if diff := cmp.Diff(want, slice.Endpoints); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.transform(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.TypeOf(out) == reflect.TypeOf(tt.in) {
				t.Fatalf("cached as %T, want it encoded", out)
			}
			cached := out.(client.Object)
			if cached.GetName() != tt.in.GetName() || cached.GetNamespace() != "ns" {
				t.Errorf("cached key %s/%s", cached.GetNamespace(), cached.GetName())
			}
			copied := cached.DeepCopyObject()
			if reflect.TypeOf(copied) != reflect.TypeOf(tt.in) {
				t.Fatalf("readers get %T, want %T", copied, tt.in)
			}
			obj := copied.(client.Object)
			if obj.GetManagedFields() != nil {
				t.Error("managedFields kept")
			}
			if _, ok := obj.GetAnnotations()[corev1.LastAppliedConfigAnnotation]; ok {
				t.Error("last-applied-configuration kept")
			}
			if tt.check != nil {
				tt.check(t, copied)
			}
		})
	}
}
