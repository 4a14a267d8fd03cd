package crdtest

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// TestDuplicateListKeys compares the Rollout CRD with a Deployment on pod
// templates whose keyed lists repeat a key: where a Deployment accepts the
// duplicates (with a warning), so does the CRD, as Argo Rollouts' does.
// Ports are keyed in both CRDs and stay refused; the rest is refused by a
// Deployment too, so such a Rollout could never create its pods.
func TestDuplicateListKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  func(*corev1.PodSpec)
		// deployment and rollout: "" for accepted, else the start of the
		// API server's refusal.
		deployment, rollout string
	}{{
		name: "env",
		set: func(s *corev1.PodSpec) {
			s.Containers[0].Env = []corev1.EnvVar{{Name: "LOG", Value: "info"}, {Name: "LOG", Value: "debug"}}
		},
	}, {
		name: "init container env",
		set: func(s *corev1.PodSpec) {
			s.InitContainers = []corev1.Container{{Name: "init", Image: "init:1", Env: []corev1.EnvVar{{Name: "A"}, {Name: "A"}}}}
		},
	}, {
		name: "imagePullSecrets",
		set: func(s *corev1.PodSpec) {
			s.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "ecr"}, {Name: "ecr"}}
		},
	}, {
		name: "hostAliases",
		set: func(s *corev1.PodSpec) {
			s.HostAliases = []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"a"}}, {IP: "10.0.0.1", Hostnames: []string{"b"}}}
		},
	}, {
		name: "ports",
		set: func(s *corev1.PodSpec) {
			s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}, {Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
		},
		rollout: "spec.template.spec.containers[0].ports[1]: Duplicate value",
	}, {
		name: "volumeMounts",
		set: func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			s.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}, {Name: "tmp", MountPath: "/tmp"}}
		},
		deployment: `spec.template.spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/tmp": must be unique`,
		rollout:    "spec.template.spec.containers[0].volumeMounts[1]: Duplicate value",
	}, {
		name: "containers",
		set: func(s *corev1.PodSpec) {
			s.Containers = append(s.Containers, corev1.Container{Name: "app", Image: "other:1"})
		},
		deployment: `spec.template.spec.containers[1].name: Duplicate value: "app"`,
		rollout:    "spec.template.spec.containers[1]: Duplicate value",
	}, {
		name: "volumes",
		set: func(s *corev1.PodSpec) {
			tmp := corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
			s.Volumes = []corev1.Volume{tmp, tmp}
		},
		deployment: `spec.template.spec.volumes[1].name: Duplicate value: "tmp"`,
		rollout:    "spec.template.spec.volumes[1]: Duplicate value",
	}, {
		name: "volumeDevices",
		set: func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "raw", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "raw"}}}}
			s.Containers[0].VolumeDevices = []corev1.VolumeDevice{{Name: "raw", DevicePath: "/dev/x"}, {Name: "raw", DevicePath: "/dev/x"}}
		},
		deployment: "spec.template.spec.containers[0].volumeDevices[1]",
		rollout:    "spec.template.spec.containers[0].volumeDevices[1]: Duplicate value",
	}, {
		name: "schedulingGates",
		set: func(s *corev1.PodSpec) {
			s.SchedulingGates = []corev1.PodSchedulingGate{{Name: "wait"}, {Name: "wait"}}
		},
		deployment: "spec.template.spec.schedulingGates[1]: Duplicate value",
		rollout:    "spec.template.spec.schedulingGates[1]: Duplicate value",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			labels := map[string]string{"app": "dup"}
			tmpl := corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
			}
			tc.set(&tmpl.Spec)
			deploy := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "dup"},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl,
				},
			}
			ro := &v1alpha1.Rollout{
				ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "dup"},
				Spec: v1alpha1.RolloutSpec{
					Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl,
					Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}},
				},
			}
			for _, c := range []struct {
				what    string
				err     error
				refusal string
			}{
				{"Deployment", f.c.Create(ctx, deploy), tc.deployment},
				{"Rollout", f.c.Create(ctx, ro), tc.rollout},
			} {
				if c.refusal == "" {
					f.g.Expect(c.err).NotTo(HaveOccurred(), c.what)
					continue
				}
				f.g.Expect(apierrors.IsInvalid(c.err)).To(BeTrue(), "%s: %v", c.what, c.err)
				f.g.Expect(c.err.Error()).To(ContainSubstring(c.refusal), c.what)
			}
			if tc.rollout == "" {
				got := &v1alpha1.Rollout{}
				f.g.Expect(f.c.Get(ctx, client.ObjectKeyFromObject(ro), got)).To(Succeed())
				f.g.Expect(got.Spec.Template.Spec).To(Equal(ro.Spec.Template.Spec), "duplicates are kept, in order")
			}
		})
	}
}
