package rollout

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/compactcache"
)

func TestSlimReplicaSet(t *testing.T) {
	affinity := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{}}
	full := func() *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "app-abc", Namespace: "ns", Labels: map[string]string{"app": "app"}, Annotations: map[string]string{"rollout.argoproj.io/revision": "2"}},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](3), MinReadySeconds: 5,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "app"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "app"}, Annotations: map[string]string{"a": "b"}},
					Spec: corev1.PodSpec{
						Affinity:       affinity,
						InitContainers: []corev1.Container{{Name: "init", Image: "init:1", Command: []string{"true"}}},
						Containers: []corev1.Container{{
							Name: "app", Image: "app:1", ImagePullPolicy: corev1.PullIfNotPresent,
							Ports:     []corev1.ContainerPort{{ContainerPort: 8080}},
							Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}},
						}},
						Tolerations:   []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}},
						RestartPolicy: corev1.RestartPolicyAlways,
						SchedulerName: "default-scheduler",
					},
				},
			},
			Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2},
		}
	}
	out, err := SlimReplicaSet(full())
	if err != nil {
		t.Fatal(err)
	}
	// What the reconcilers read from a cached ReplicaSet stays; of the pod
	// spec only the affinity and the containers' names and images.
	want := full()
	want.Spec.Template.Spec = corev1.PodSpec{
		Affinity:       affinity,
		InitContainers: []corev1.Container{{Name: "init", Image: "init:1"}},
		Containers:     []corev1.Container{{Name: "app", Image: "app:1"}},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("slim ReplicaSet (-want +got):\n%s", diff)
	}
	// sameImages, which picks the candidates of an equivalent template,
	// answers the same on the slim copy.
	if !sameImages(&out.(*appsv1.ReplicaSet).Spec.Template.Spec, &full().Spec.Template.Spec) {
		t.Error("sameImages differs on the slim copy")
	}
	// Other objects pass through.
	svc := &corev1.Service{}
	if got, _ := SlimReplicaSet(svc); got != svc {
		t.Error("a Service was changed")
	}
}

// TestRolloutIndexesReadEncodedRollouts checks the index functions on what
// the Rollout cache holds: the encoded Rollout with its keys kept
// (IndexKeys), or without them, not the typed one.
func TestRolloutIndexesReadEncodedRollouts(t *testing.T) {
	ro := indexedTestRollout("app-stable")
	plain, err := compactcache.Compact[v1alpha1.Rollout](ro)
	if err != nil {
		t.Fatal(err)
	}
	memoized, err := compactcache.NewCompactor(1, 0, IndexKeys).Transform(ro.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	for place, name := range map[int]string{
		servicesKeys: serviceIndex, workloadKeys: workloadIndex,
		templatesKeys: templatesIndex, routerObjectsKeys: routerObjectIndex,
	} {
		index := rolloutIndex(place)
		want := index(ro)
		if len(want) == 0 {
			t.Errorf("%s: no keys for the typed Rollout", name)
		}
		for form, obj := range map[string]any{"encoded": plain, "encoded with its keys": memoized} {
			if got := index(obj.(client.Object)); !cmp.Equal(want, got) {
				t.Errorf("%s: %s Rollout keyed %v, want %v", name, form, got, want)
			}
		}
	}
	if got := rolloutIndex(servicesKeys)(&appsv1.ReplicaSet{}); got != nil {
		t.Errorf("another kind keyed %v", got)
	}
}

// TestRolloutIndexesDoNotDecode follows the informer's calls on updates
// (each index on the old object, then on the new) through the Rollout
// cache's transform: no index decodes a Rollout, and each version is
// keyed by its own spec.
func TestRolloutIndexesDoNotDecode(t *testing.T) {
	var indexes []client.IndexerFunc
	for place := range rolloutIndexCount {
		indexes = append(indexes, rolloutIndex(place))
	}
	// Keep nothing decoded: the keys alone must do.
	c := compactcache.NewCompactor(0, 0, IndexKeys)
	decodes := 0
	version := func(stable string) client.Object {
		out, err := c.Transform(indexedTestRollout(stable))
		if err != nil {
			t.Fatal(err)
		}
		return &countingObject{Object: out.(client.Object), decodes: &decodes}
	}
	update := func(old, new client.Object) {
		for _, index := range indexes {
			index(old)
			if got := index(new); len(got) == 0 {
				t.Fatal("no keys")
			}
		}
	}
	v1, v2, v3 := version("s1"), version("s2"), version("s3")
	update(v1, v2)
	update(v2, v3)
	if decodes != 0 {
		t.Errorf("two updates decoded %d times, want 0", decodes)
	}
	if got := rolloutIndex(servicesKeys)(v1); !slices.Contains(got, "s1") || slices.Contains(got, "s3") {
		t.Errorf("the first version keyed %v, want its own Service s1", got)
	}
	if got := rolloutIndex(servicesKeys)(v3); !slices.Contains(got, "s3") {
		t.Errorf("the latest version keyed %v, want its Service s3", got)
	}
}

// countingObject counts the decodes of a cached object and passes on its
// kept keys.
type countingObject struct {
	client.Object
	decodes *int
}

func (c *countingObject) Memo() any { return c.Object.(memoized).Memo() }

func (c *countingObject) DeepCopyObject() runtime.Object {
	*c.decodes++
	return c.Object.DeepCopyObject()
}

func indexedTestRollout(stableService string) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"},
		Spec: v1alpha1.RolloutSpec{
			WorkloadRef: &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "app"},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				StableService: stableService, CanaryService: "app-canary",
				TrafficRouting: &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{
					VirtualService: &v1alpha1.IstioVirtualService{Name: "app-vs"},
				}},
				Analysis: &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{
					Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "success-rate"}},
				}},
			}},
		},
	}
}
