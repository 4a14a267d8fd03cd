package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// fleet is the Rollouts of one run and the Services they use: the two seed
// manifests of examples/ as they are, and variants of them that cover the
// other shapes of each strategy.
type fleet struct {
	rollouts []*v1alpha1.Rollout
	services []*corev1.Service
}

// newFleet reads the seeds from root's examples/ and derives the variants.
func newFleet(root string) (*fleet, error) {
	f := &fleet{}
	bg, bgSvcs, err := readSeed(filepath.Join(root, "examples", "bluegreen-rollout.yaml"))
	if err != nil {
		return nil, err
	}
	cn, cnSvcs, err := readSeed(filepath.Join(root, "examples", "canary-rollout.yaml"))
	if err != nil {
		return nil, err
	}
	// 1. The blue-green seed: 1 replica, active and preview Services,
	// manual promotion, the default 30s scale-down delay.
	f.add(bg, bgSvcs...)

	// 2. Blue-green without a preview Service: 3 replicas, manual
	// promotion, a short scale-down delay.
	noPreview := variant(bg, "bg-no-preview", func(ro *v1alpha1.Rollout) {
		ro.Spec.Replicas = ptr.To[int32](3)
		ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{
			ActiveService:         "bg-no-preview-active",
			AutoPromotionEnabled:  ptr.To(false),
			ScaleDownDelaySeconds: ptr.To[int32](5),
		}
	})
	f.add(noPreview, service("bg-no-preview-active", noPreview))

	// 3. Blue-green promoted automatically, with a smaller preview
	// (previewReplicaCount 1 of 2).
	auto := variant(bg, "bg-auto", func(ro *v1alpha1.Rollout) {
		ro.Spec.Replicas = ptr.To[int32](2)
		ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{
			ActiveService:         "bg-auto-active",
			PreviewService:        "bg-auto-preview",
			PreviewReplicaCount:   ptr.To[int32](1),
			ScaleDownDelaySeconds: ptr.To[int32](5),
		}
	})
	f.add(auto, service("bg-auto-active", auto), service("bg-auto-preview", auto))

	// 4. The canary seed: 10 replicas, maxSurge 30%, maxUnavailable 0,
	// setWeight 30 then an indefinite pause.
	f.add(cn, cnSvcs...)

	// 5. A canary with stable and canary Services, maxSurge 1 and
	// maxUnavailable 1, two weights and a timed pause.
	withServices := variant(cn, "canary-services", func(ro *v1alpha1.Rollout) {
		ro.Spec.Replicas = ptr.To[int32](4)
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{
			StableService:  "canary-services-stable",
			CanaryService:  "canary-services-canary",
			MaxSurge:       ptr.To(intstr.FromInt32(1)),
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			Steps: []v1alpha1.CanaryStep{
				{SetWeight: ptr.To[int32](25)},
				{Pause: &v1alpha1.RolloutPause{}},
				{SetWeight: ptr.To[int32](75)},
				{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("2s"))}},
			},
		}
	})
	f.add(withServices, service("canary-services-stable", withServices), service("canary-services-canary", withServices))

	// 6. A canary that may not surge: maxSurge 0, maxUnavailable 2 of 5.
	noSurge := variant(cn, "canary-no-surge", func(ro *v1alpha1.Rollout) {
		ro.Spec.Replicas = ptr.To[int32](5)
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{
			StableService:  "canary-no-surge-stable",
			CanaryService:  "canary-no-surge-canary",
			MaxSurge:       ptr.To(intstr.FromInt32(0)),
			MaxUnavailable: ptr.To(intstr.FromInt32(2)),
			Steps: []v1alpha1.CanaryStep{
				{SetWeight: ptr.To[int32](40)},
				{Pause: &v1alpha1.RolloutPause{}},
			},
		}
	})
	f.add(noSurge, service("canary-no-surge-stable", noSurge), service("canary-no-surge-canary", noSurge))

	// 7. A canary without steps (straight to 100%), default maxSurge and
	// maxUnavailable (25%), with a stable Service.
	noSteps := variant(cn, "canary-no-steps", func(ro *v1alpha1.Rollout) {
		ro.Spec.Replicas = ptr.To[int32](3)
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{StableService: "canary-no-steps-stable"}
	})
	f.add(noSteps, service("canary-no-steps-stable", noSteps))
	return f, nil
}

func (f *fleet) add(ro *v1alpha1.Rollout, svcs ...*corev1.Service) {
	f.rollouts = append(f.rollouts, ro)
	f.services = append(f.services, svcs...)
}

// objects are the fleet's objects in namespace ns, Services first.
func (f *fleet) objects(ns string) []client.Object {
	var out []client.Object
	for _, s := range f.services {
		s := s.DeepCopy()
		s.Namespace = ns
		out = append(out, s)
	}
	for _, ro := range f.rollouts {
		ro := ro.DeepCopy()
		ro.Namespace = ns
		out = append(out, ro)
	}
	return out
}

// readSeed reads a seed manifest: one Rollout and its Services.
func readSeed(path string) (*v1alpha1.Rollout, []*corev1.Service, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var ro *v1alpha1.Rollout
	var svcs []*corev1.Service
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		switch meta.Kind {
		case "Rollout":
			ro = &v1alpha1.Rollout{}
			if err := yaml.UnmarshalStrict(doc, ro); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
		case "Service":
			s := &corev1.Service{}
			if err := yaml.UnmarshalStrict(doc, s); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			svcs = append(svcs, s)
		}
	}
	if ro == nil {
		return nil, nil, fmt.Errorf("%s: no Rollout", path)
	}
	return ro, svcs, nil
}

// variant is the seed renamed (its labels, selector and container too) and
// changed by mutate.
func variant(seed *v1alpha1.Rollout, name string, mutate func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
	ro := seed.DeepCopy()
	ro.Name = name
	labels := map[string]string{"app": name}
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	ro.Spec.Template.Labels = labels
	ro.Spec.Template.Spec.Containers[0].Name = name
	mutate(ro)
	return ro
}

// service is a Service in front of ro's pods, as the seeds write them.
func service(name string, ro *v1alpha1.Rollout) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: ro.Spec.Selector.MatchLabels,
			Ports:    []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

// scaleDownDelay is how long a blue-green Rollout keeps the previous
// revision after a promotion (0 for a canary without traffic routing).
func scaleDownDelay(ro *v1alpha1.Rollout) int32 {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.ScaleDownDelaySecondsOrDefault()
	}
	return 0
}
