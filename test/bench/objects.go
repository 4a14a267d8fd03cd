package main

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

const (
	// roleLabel marks every object the bench creates with its part of the
	// run; rig pods are cached by the bench through it.
	roleLabel = "bench.switchyard.dev/role"
	roleRig   = "rig"
	roleFleet = "fleet"
	roleLat   = "latency"
	// hashLabel is the pod-template hash label of the Rollout API.
	hashLabel = v1alpha1.DefaultRolloutUniqueLabelKey
)

// image is the container image of the i-th build. kwok runs nothing, so any
// reference works; tags ":unready" and ":crashloop" are avoided (the local
// cluster's pod stages give them special behaviour).
func image(i int) string { return "registry.invalid/switchyard-bench/app:v" + strconv.Itoa(i) }

// podTemplate is the pod every workload of the bench runs: one container,
// small requests, tolerating the local cluster's private node group so
// pods spread over every simulated node.
func podTemplate(app, role, img string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app, roleLabel: role}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "app",
				Image: img,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("10m"),
					corev1.ResourceMemory: resource.MustParse("16Mi"),
				}},
			}},
			Tolerations: []corev1.Toleration{{
				Key: "subnettype", Operator: corev1.TolerationOpEqual, Value: "private", Effect: corev1.TaintEffectNoSchedule,
			}},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
		},
	}
}

func objectMeta(ns, name, role string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{roleLabel: role}}
}

func replicaSet(ns, name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: objectMeta(ns, name, roleRig),
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, roleRig, image(1)),
		},
	}
}

func deployment(ns, name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: objectMeta(ns, name, roleRig),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, roleRig, image(1)),
		},
	}
}

func service(ns, name, app, role string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta(ns, name, role),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app},
			Ports:    []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func activeService(rollout string) string  { return rollout + "-active" }
func previewService(rollout string) string { return rollout + "-preview" }

// blueGreen is a Rollout like the seed's: one replica, active and preview
// Services, manual promotion; scale-down of the old revision after delay
// seconds.
func blueGreen(ns, name, role string, delay int32) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: objectMeta(ns, name, role),
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, role, image(1)),
			Strategy: v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
				ActiveService:         activeService(name),
				PreviewService:        previewService(name),
				AutoPromotionEnabled:  ptr.To(false),
				ScaleDownDelaySeconds: ptr.To(delay),
			}},
		},
	}
}

// canary is a basic canary (no traffic router): half the pods, a pause,
// then a full promote skips the rest.
func canary(ns, name string, replicas int32) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: objectMeta(ns, name, roleLat),
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, roleLat, image(1)),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				MaxSurge:       ptr.To(intstr.FromInt32(1)),
				MaxUnavailable: ptr.To(intstr.FromInt32(0)),
				Steps: []v1alpha1.CanaryStep{
					{SetWeight: ptr.To[int32](50)},
					{Pause: &v1alpha1.RolloutPause{}},
				},
			}},
		},
	}
}

// Patches, as a user or a CI system sends them.
var (
	// promotePatch is what `kubectl argo rollouts promote` sends to a
	// paused Rollout.
	promotePatch = client.RawPatch("application/merge-patch+json", []byte(`{"status":{"pauseConditions":null}}`))
	// promoteFullPatch is `kubectl argo rollouts promote --full`.
	promoteFullPatch = client.RawPatch("application/merge-patch+json", []byte(`{"status":{"promoteFull":true}}`))
)

func imagePatch(img string) client.Patch {
	return client.RawPatch("application/json-patch+json",
		fmt.Appendf(nil, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, img))
}

func scalePatch(replicas int32) client.Patch {
	return client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas))
}

// Conditions on the Rollout API, read as any client of it (Argo CD, the
// kubectl plugin) does.

// phaseOf is the phase the controller reports for the current generation.
func phaseOf(ro *v1alpha1.Rollout) v1alpha1.RolloutPhase {
	if ro.Status.ObservedGeneration != strconv.FormatInt(ro.Generation, 10) {
		return ""
	}
	return ro.Status.Phase
}

// healthyOn: the Rollout is Healthy with img as its stable revision.
func healthyOn(img string) func(client.Object) bool {
	return func(o client.Object) bool {
		ro := o.(*v1alpha1.Rollout)
		return imageOf(ro) == img && phaseOf(ro) == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	}
}

// pausedOn: the Rollout is Paused on a revision running img.
func pausedOn(img string) func(client.Object) bool {
	return func(o client.Object) bool {
		ro := o.(*v1alpha1.Rollout)
		return imageOf(ro) == img && phaseOf(ro) == v1alpha1.RolloutPhasePaused
	}
}

func imageOf(ro *v1alpha1.Rollout) string {
	if c := ro.Spec.Template.Spec.Containers; len(c) > 0 {
		return c[0].Image
	}
	return ""
}

func describeRollout(o client.Object) string {
	ro, ok := o.(*v1alpha1.Rollout)
	if !ok {
		return ""
	}
	return fmt.Sprintf("phase %q message %q generation %d observed %q stable %q current %q", ro.Status.Phase, ro.Status.Message,
		ro.Generation, ro.Status.ObservedGeneration, ro.Status.StableRS, ro.Status.CurrentPodHash)
}

func describeReplicaSet(o client.Object) string {
	rs, ok := o.(*appsv1.ReplicaSet)
	if !ok {
		return ""
	}
	return fmt.Sprintf("spec %d, status %d replicas, %d ready", ptr.Deref(rs.Spec.Replicas, 1), rs.Status.Replicas, rs.Status.ReadyReplicas)
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}
