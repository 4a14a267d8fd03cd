package compactcache_test

import (
	"encoding/json"
	"reflect"
	goruntime "runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kjson "sigs.k8s.io/json"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/compactcache"
	"github.com/switchyard-dev/switchyard/test/heapsize"
	"github.com/switchyard-dev/switchyard/test/rolloutcorpus"
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

func testRollout() *v1alpha1.Rollout {
	now := metav1.Now().Rfc3339Copy()
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{
			Name: "app", Namespace: "ns", UID: "uid-0", ResourceVersion: "7", Generation: 2, CreationTimestamp: now,
			Labels:      map[string]string{"app": "app"},
			Annotations: map[string]string{"rollout.argoproj.io/revision": "2"},
		},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "app"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "app"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:2"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				StableService: "app-stable", CanaryService: "app-canary",
				MaxSurge: ptr.To(intstr.FromString("25%")),
				Steps: []v1alpha1.CanaryStep{
					{SetWeight: ptr.To[int32](20)},
					{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("1h"))}},
				},
			}},
		},
		Status: v1alpha1.RolloutStatus{
			Phase: v1alpha1.RolloutPhasePaused, CurrentStepIndex: ptr.To[int32](1), Replicas: 3, AvailableReplicas: 3,
			PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: now}},
			Conditions: []v1alpha1.RolloutCondition{{
				Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionUnknown, LastUpdateTime: now, LastTransitionTime: now,
				Reason: "RolloutPaused", Message: "Rollout is paused",
			}},
		},
	}
}

func TestObject(t *testing.T) {
	t.Run("protobuf", func(t *testing.T) { checkObject(t, testReplicaSet()) })
	t.Run("envelope", func(t *testing.T) { checkObject(t, testRollout()) })
}

// checkObject checks what informers, indexers and the cache reader see of
// in held encoded.
func checkObject[T any, PT compactcache.Typed[T]](t *testing.T, in PT) {
	t.Helper()
	out, err := compactcache.Compact[T, PT](in)
	if err != nil {
		t.Fatal(err)
	}
	cached, ok := out.(*compactcache.Object[T, PT])
	if !ok {
		t.Fatalf("Compact returned %T", out)
	}

	// The metadata getters answer as the object's own.
	acc, err := meta.Accessor(cached)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(objectMeta(in), getters(acc)); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if want, got := metav1.GetControllerOf(in), metav1.GetControllerOf(cached); !cmp.Equal(want, got) {
		t.Errorf("controller %v, want %v", got, want)
	}

	// The deep copy the cache reader makes is the typed object, whole, and
	// a fresh one each time.
	copied := cached.DeepCopyObject()
	obj, ok := copied.(PT)
	if !ok {
		t.Fatalf("DeepCopyObject returned %T", copied)
	}
	if diff := cmp.Diff(in, obj); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	obj.GetLabels()["app"] = "changed"
	if again := cached.DeepCopyObject().(PT); again.GetLabels()["app"] != "app" {
		t.Error("a change to a copy reached the cached object")
	}
	// controller-runtime's cache reader assigns the copy to the caller's
	// object by reflection.
	if !reflect.TypeOf(copied).AssignableTo(reflect.TypeFor[PT]()) {
		t.Errorf("%T is not assignable to %v", copied, reflect.TypeFor[PT]())
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

// BenchmarkCachedBytes reports the heap one cached object takes, decoded
// (as an informer would hold it) and held encoded, and what the cache
// reader's copy costs in each form.
func BenchmarkCachedBytes(b *testing.B) {
	rsRaw, err := testReplicaSet().Marshal()
	if err != nil {
		b.Fatal(err)
	}
	roRaw, err := json.Marshal(testRollout())
	if err != nil {
		b.Fatal(err)
	}
	// As the API client decodes them: protobuf for built-in kinds, JSON
	// for custom resources.
	decodeReplicaSet := func() any {
		rs := &appsv1.ReplicaSet{}
		if err := rs.Unmarshal(rsRaw); err != nil {
			b.Fatal(err)
		}
		return rs
	}
	decodeRollout := func() any {
		ro := &v1alpha1.Rollout{}
		if err := json.Unmarshal(roRaw, ro); err != nil {
			b.Fatal(err)
		}
		return ro
	}
	encoded := func(decode func() any, compact func(any) (any, error)) func() any {
		return func() any {
			out, err := compact(decode())
			if err != nil {
				b.Fatal(err)
			}
			return out
		}
	}
	for _, tc := range []struct {
		name string
		keep func() any
	}{
		{"ReplicaSet/decoded", decodeReplicaSet},
		{"ReplicaSet/encoded", encoded(decodeReplicaSet, compactcache.Compact[appsv1.ReplicaSet])},
		{"Rollout/decoded", decodeRollout},
		{"Rollout/encoded", encoded(decodeRollout, compactcache.Compact[v1alpha1.Rollout])},
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

// TestRolloutCorpusRoundTrips holds every Rollout of the validation
// corpus (the seed and examples, the reference's shapes, the refused
// shapes) encoded and checks that readers get back the Rollout the API
// client decoded.
func TestRolloutCorpusRoundTrips(t *testing.T) {
	valid, err := rolloutcorpus.Valid("../..")
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := rolloutcorpus.Invalid("../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(valid) == 0 || len(invalid) == 0 {
		t.Fatalf("corpus: %d valid, %d invalid manifests", len(valid), len(invalid))
	}
	for i, doc := range append(valid, invalid...) {
		raw, err := json.Marshal(doc.Object)
		if err != nil {
			t.Fatal(err)
		}
		ro := &v1alpha1.Rollout{}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, ro); err != nil {
			if i < len(valid) {
				t.Errorf("%s: %v", doc.Name, err)
			}
			continue // a refused shape the API client could not decode either
		}
		ro.SetGroupVersionKind(schema.GroupVersionKind{})
		out, err := compactcache.Compact[v1alpha1.Rollout](ro)
		if err != nil {
			t.Errorf("%s: %v", doc.Name, err)
			continue
		}
		if diff := cmp.Diff(ro, out.(runtime.Object).DeepCopyObject()); diff != "" {
			t.Errorf("%s: decoded (-want +got):\n%s", doc.Name, diff)
		}
	}
}

// getters is the metadata as the getters of metav1.Object answer it.
func getters(acc metav1.Object) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: acc.GetName(), Namespace: acc.GetNamespace(), UID: acc.GetUID(), ResourceVersion: acc.GetResourceVersion(),
		Generation: acc.GetGeneration(), CreationTimestamp: acc.GetCreationTimestamp(), DeletionTimestamp: acc.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: acc.GetDeletionGracePeriodSeconds(), Labels: acc.GetLabels(), Annotations: acc.GetAnnotations(),
		Finalizers: acc.GetFinalizers(), OwnerReferences: acc.GetOwnerReferences(), GenerateName: acc.GetGenerateName(),
		ManagedFields: acc.GetManagedFields(),
	}
}

// objectMeta is obj's own metadata.
func objectMeta(obj any) metav1.ObjectMeta {
	return *obj.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)
}

// TestCompactorCopiesAsDecoded checks that a copy of the kept decoded form
// is the object a decode of the encoding gives, for the test objects and
// every Rollout of the corpus, that copies stay independent, and that the
// metadata getters answer alike with the decoded form kept and dropped.
func TestCompactorCopiesAsDecoded(t *testing.T) {
	t.Run("protobuf", func(t *testing.T) { checkCompactor(t, testReplicaSet()) })
	t.Run("envelope", func(t *testing.T) { checkCompactor(t, testRollout()) })
	valid, err := rolloutcorpus.Valid("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range valid {
		raw, err := json.Marshal(doc.Object)
		if err != nil {
			t.Fatal(err)
		}
		ro := &v1alpha1.Rollout{}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, ro); err != nil {
			t.Fatalf("%s: %v", doc.Name, err)
		}
		t.Run(doc.Name, func(t *testing.T) { checkCompactor(t, ro) })
	}
}

func checkCompactor[T any, PT compactcache.Typed[T]](t *testing.T, in PT) {
	t.Helper()
	// The API client's objects carry their kind; copies do not (the cache
	// reader sets it).
	in.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Kind"})
	want := in.DeepCopyObject().(PT)
	want.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})

	c := compactcache.NewCompactor[T, PT](1, 0, nil)
	out, err := c.Transform(in)
	if err != nil {
		t.Fatal(err)
	}
	cached := out.(runtime.Object)
	kept := cached.DeepCopyObject().(PT)
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Errorf("copy of the decoded form (-want +got):\n%s", diff)
	}
	kept.SetLabels(map[string]string{"changed": "yes"})
	if again := cached.DeepCopyObject().(PT); again.GetLabels()["changed"] != "" {
		t.Error("a change to a copy reached the cached object")
	}
	// The getters read the decoded form while it is kept.
	if diff := cmp.Diff(objectMeta(want), getters(cached.(metav1.Object))); diff != "" {
		t.Errorf("metadata while decoded (-want +got):\n%s", diff)
	}

	// A newer object takes the only place: the first is decoded from its
	// encoding from then on, and reads the same.
	other := PT(new(T))
	other.SetName("other")
	if _, err := c.Transform(other); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, cached.DeepCopyObject()); diff != "" {
		t.Errorf("decoded after the decoded form was dropped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(objectMeta(want), getters(cached.(metav1.Object))); diff != "" {
		t.Errorf("metadata after the decoded form was dropped (-want +got):\n%s", diff)
	}
}
