package invariant

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/history"
)

// The kinds the checker reads, as history.Source kinds.
const (
	Pods           = "pods"
	ReplicaSets    = "replicasets"
	EndpointSlices = "endpointslices"
	Services       = "services"
	Rollouts       = "rollouts"
)

// Pod is what the checker keeps of a pod.
type Pod struct {
	Namespace   string
	Name        string
	ReplicaSet  string
	Hash        string
	Ready       bool
	Terminating bool
}

// ReplicaSet is what the checker keeps of a ReplicaSet.
type ReplicaSet struct {
	Namespace string
	Name      string
	UID       string
	Rollout   string
	Hash      string
	// Image is the first container's image: the harness gives every
	// update its own, so it names the pod template.
	Image    string
	Replicas int32
}

// EndpointSlice is what the checker keeps of an EndpointSlice.
type EndpointSlice struct {
	Namespace string
	Name      string
	Service   string
	Ready     int
}

// Service is what the checker keeps of a Service.
type Service struct {
	Namespace string
	Name      string
	// Hash is the pod-template hash its selector names ("" for none).
	Hash string
}

// Rollout is what the checker keeps of a Rollout: its bounds resolved.
type Rollout struct {
	Namespace string
	Name      string
	BlueGreen bool
	Replicas  int32
	// MaxSurge and MaxUnavailable are resolved against Replicas (canary).
	MaxSurge, MaxUnavailable int32
	// PreviewReplicas is previewReplicaCount, defaulted to Replicas.
	PreviewReplicas int32
	// ActiveService (blue-green) or StableService (canary): the Service
	// production traffic goes through; "" if the canary has none.
	ProductionService string
	Image             string
	StableRS          string
	CurrentPodHash    string
	Phase             string
	// Observed: status.observedGeneration is the current generation.
	Observed bool
}

func (r *Rollout) strategy() string {
	if r.BlueGreen {
		return "blue-green"
	}
	return "canary"
}

// PodFact reduces a pod.
func PodFact(o runtime.Object) any {
	p := o.(*corev1.Pod)
	f := Pod{Namespace: p.Namespace, Name: p.Name, Hash: p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], Terminating: p.DeletionTimestamp != nil}
	if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == "ReplicaSet" {
		f.ReplicaSet = ref.Name
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			f.Ready = c.Status == corev1.ConditionTrue
		}
	}
	return f
}

// ReplicaSetFact reduces a ReplicaSet.
func ReplicaSetFact(o runtime.Object) any {
	rs := o.(*appsv1.ReplicaSet)
	f := ReplicaSet{Namespace: rs.Namespace, Name: rs.Name, UID: string(rs.UID), Hash: rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], Replicas: ptr.Deref(rs.Spec.Replicas, 1)}
	if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Rollout" {
		f.Rollout = ref.Name
	}
	if c := rs.Spec.Template.Spec.Containers; len(c) > 0 {
		f.Image = c[0].Image
	}
	return f
}

// EndpointSliceFact reduces an EndpointSlice. An endpoint whose readiness
// is unknown (nil) counts as ready, as the API says consumers must read it.
func EndpointSliceFact(o runtime.Object) any {
	s := o.(*discoveryv1.EndpointSlice)
	f := EndpointSlice{Namespace: s.Namespace, Name: s.Name, Service: s.Labels[discoveryv1.LabelServiceName]}
	for _, e := range s.Endpoints {
		if ptr.Deref(e.Conditions.Ready, true) {
			f.Ready++
		}
	}
	return f
}

// ServiceFact reduces a Service.
func ServiceFact(o runtime.Object) any {
	s := o.(*corev1.Service)
	return Service{Namespace: s.Namespace, Name: s.Name, Hash: s.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]}
}

// RolloutFact reduces a Rollout, resolving its bounds as the Rollout API
// defines them: maxSurge rounded up, maxUnavailable rounded down, both
// against spec.replicas (defaults 25% and 25%).
func RolloutFact(o runtime.Object) any {
	ro := o.(*v1alpha1.Rollout)
	f := Rollout{
		Namespace:      ro.Namespace,
		Name:           ro.Name,
		Replicas:       ro.ReplicasOrDefault(),
		StableRS:       ro.Status.StableRS,
		CurrentPodHash: ro.Status.CurrentPodHash,
		Phase:          string(ro.Status.Phase),
		Observed:       ro.Status.ObservedGeneration == v1alpha1.ObservedGenerationString(ro.Generation),
	}
	if c := ro.Spec.Template.Spec.Containers; len(c) > 0 {
		f.Image = c[0].Image
	}
	switch s := ro.Spec.Strategy; {
	case s.BlueGreen != nil:
		f.BlueGreen = true
		f.ProductionService = s.BlueGreen.ActiveService
		f.PreviewReplicas = s.BlueGreen.PreviewReplicaCountOrDefault(f.Replicas)
	case s.Canary != nil:
		f.ProductionService = s.Canary.StableService
		surge, unavailable := s.Canary.MaxSurgeOrDefault(), s.Canary.MaxUnavailableOrDefault()
		f.MaxSurge = scaled(&surge, f.Replicas, true)
		f.MaxUnavailable = scaled(&unavailable, f.Replicas, false)
	}
	return f
}

func scaled(v *intstr.IntOrString, replicas int32, roundUp bool) int32 {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, int(replicas), roundUp)
	if err != nil {
		return 0
	}
	return int32(n)
}

// Sources are the history sources of the kinds the checker reads, in
// namespace ns, through c.
func Sources(c client.WithWatch, ns string) []history.Source {
	src := func(kind string, list client.ObjectList, obj runtime.Object, fact func(runtime.Object) any) history.Source {
		return history.Source{
			Kind: kind,
			ListerWatcher: &cache.ListWatch{
				ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					l := list.DeepCopyObject().(client.ObjectList)
					// Unwrapped: the Reflector reads the API status of
					// the error (410 Gone means list again).
					if err := c.List(ctx, l, client.InNamespace(ns), &client.ListOptions{Raw: &o}); err != nil {
						return nil, err
					}
					return l, nil
				},
				WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns), &client.ListOptions{Raw: &o})
				},
			},
			Object: obj,
			Fact:   fact,
		}
	}
	return []history.Source{
		src(Pods, &corev1.PodList{}, &corev1.Pod{}, PodFact),
		src(ReplicaSets, &appsv1.ReplicaSetList{}, &appsv1.ReplicaSet{}, ReplicaSetFact),
		src(EndpointSlices, &discoveryv1.EndpointSliceList{}, &discoveryv1.EndpointSlice{}, EndpointSliceFact),
		src(Services, &corev1.ServiceList{}, &corev1.Service{}, ServiceFact),
		src(Rollouts, &v1alpha1.RolloutList{}, &v1alpha1.Rollout{}, RolloutFact),
	}
}

// EtcdSources are the same sources read from the cluster's etcd (see
// history.EtcdListerWatcher): no gap while kube-apiserver restarts. scheme
// must know the Rollout API.
func EtcdSources(cli *clientv3.Client, scheme *runtime.Scheme, ns string) []history.Source {
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	src := func(kind, prefix string, list func() runtime.Object, obj runtime.Object, fact func(runtime.Object) any) history.Source {
		return history.Source{
			Kind:          kind,
			ListerWatcher: history.EtcdListerWatcher(cli, "/registry/"+prefix+"/"+ns+"/", list, decoder),
			Object:        obj,
			Fact:          fact,
		}
	}
	return []history.Source{
		src(Pods, "pods", func() runtime.Object { return &corev1.PodList{} }, &corev1.Pod{}, PodFact),
		src(ReplicaSets, "replicasets", func() runtime.Object { return &appsv1.ReplicaSetList{} }, &appsv1.ReplicaSet{}, ReplicaSetFact),
		src(EndpointSlices, "endpointslices", func() runtime.Object { return &discoveryv1.EndpointSliceList{} }, &discoveryv1.EndpointSlice{}, EndpointSliceFact),
		src(Services, "services/specs", func() runtime.Object { return &corev1.ServiceList{} }, &corev1.Service{}, ServiceFact),
		src(Rollouts, v1alpha1.GroupVersion.Group+"/rollouts", func() runtime.Object { return &v1alpha1.RolloutList{} }, &v1alpha1.Rollout{}, RolloutFact),
	}
}
