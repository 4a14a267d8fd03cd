package compactcache_test

import (
	"reflect"
	goruntime "runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/internal/compactcache"
	"github.com/switchyard-dev/switchyard/test/heapsize"
)

type replicaSet = compactcache.Object[appsv1.ReplicaSet, *appsv1.ReplicaSet]

// Informers, indexers and handlers take a cached object as a client.Object.
var _ client.Object = &replicaSet{}

func testReplicaSet() *appsv1.ReplicaSet {
	now := metav1.Now().Rfc3339Copy()
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "app-abc", Namespace: "ns", UID: "uid-1", ResourceVersion: "42", Generation: 3,
			CreationTimestamp: now, DeletionTimestamp: &now, DeletionGracePeriodSeconds: ptr.To[int64](30),
			Labels:          map[string]string{"app": "app", "rollouts-pod-template-hash": "abc"},
			Annotations:     map[string]string{"rollout.argoproj.io/revision": "2"},
			Finalizers:      []string{"f"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "app", UID: "uid-0", Controller: ptr.To(true)}},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "app"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "app"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
			},
		},
		Status: appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 1},
	}
}

func TestObject(t *testing.T) {
	in := testReplicaSet()
	out, err := compactcache.Compact[appsv1.ReplicaSet](in)
	if err != nil {
		t.Fatal(err)
	}
	cached, ok := out.(*replicaSet)
	if !ok {
		t.Fatalf("Compact returned %T", out)
	}

	// The metadata getters answer as the object's own.
	acc, err := meta.Accessor(cached)
	if err != nil {
		t.Fatal(err)
	}
	got := metav1.ObjectMeta{
		Name: acc.GetName(), Namespace: acc.GetNamespace(), UID: acc.GetUID(), ResourceVersion: acc.GetResourceVersion(),
		Generation: acc.GetGeneration(), CreationTimestamp: acc.GetCreationTimestamp(), DeletionTimestamp: acc.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: acc.GetDeletionGracePeriodSeconds(), Labels: acc.GetLabels(), Annotations: acc.GetAnnotations(),
		Finalizers: acc.GetFinalizers(), OwnerReferences: acc.GetOwnerReferences(), GenerateName: acc.GetGenerateName(),
	}
	if diff := cmp.Diff(in.ObjectMeta, got); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if ref := metav1.GetControllerOf(cached); ref == nil || ref.Name != "app" {
		t.Errorf("controller %v", ref)
	}

	// The deep copy the cache reader makes is the typed object, whole, and
	// a fresh one each time.
	copied := cached.DeepCopyObject()
	rs, ok := copied.(*appsv1.ReplicaSet)
	if !ok {
		t.Fatalf("DeepCopyObject returned %T", copied)
	}
	if diff := cmp.Diff(in, rs); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	rs.Labels["app"] = "changed"
	if again := cached.DeepCopyObject().(*appsv1.ReplicaSet); again.Labels["app"] != "app" {
		t.Error("a change to a copy reached the cached object")
	}
	// controller-runtime's cache reader assigns the copy to the caller's
	// object by reflection.
	var target appsv1.ReplicaSet
	if !reflect.TypeOf(copied).AssignableTo(reflect.TypeOf(&target)) {
		t.Errorf("%T is not assignable to *appsv1.ReplicaSet", copied)
	}
}

func TestCompactPassesOtherObjects(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc"}}
	for _, in := range []any{svc, "not an object", nil} {
		out, err := compactcache.Compact[appsv1.ReplicaSet](in)
		if err != nil || out != in {
			t.Errorf("Compact(%T) = %v, %v; want it unchanged", in, out, err)
		}
	}
}

func TestReadOnly(t *testing.T) {
	out, err := compactcache.Compact[appsv1.ReplicaSet](testReplicaSet())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a setter changed a cached object without panicking")
		}
	}()
	out.(client.Object).SetLabels(nil)
}

// BenchmarkCachedBytes reports the heap one cached ReplicaSet takes,
// decoded and held encoded.
func BenchmarkCachedBytes(b *testing.B) {
	in := testReplicaSet()
	raw, err := in.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		keep func() any
	}{
		{"decoded", func() any {
			rs := &appsv1.ReplicaSet{}
			if err := rs.Unmarshal(raw); err != nil {
				b.Fatal(err)
			}
			return rs
		}},
		{"encoded", func() any {
			rs := &appsv1.ReplicaSet{}
			if err := rs.Unmarshal(raw); err != nil {
				b.Fatal(err)
			}
			out, err := compactcache.Compact[appsv1.ReplicaSet](rs)
			if err != nil {
				b.Fatal(err)
			}
			return out
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 2000
			keep := make([]any, n)
			before := heapsize.Live()
			for i := range keep {
				keep[i] = tc.keep()
			}
			perObject := float64(heapsize.Live()-before) / n
			// What the cache reader does on every Get and List.
			for b.Loop() {
				_ = keep[0].(runtime.Object).DeepCopyObject()
			}
			b.ReportMetric(perObject, "heap-B/object")
			goruntime.KeepAlive(keep)
		})
	}
}
