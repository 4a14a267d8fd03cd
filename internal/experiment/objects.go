package experiment

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/hash"
)

// Kind is the Experiment's GroupVersionKind, for owner references.
var Kind = v1alpha1.GroupVersion.WithKind("Experiment")

// ReplicaSetName is the name of a template's ReplicaSet,
// <experiment>-<template>, as the reference names it (no hash suffix: the
// pod-template hash is in its labels).
func ReplicaSetName(ex *v1alpha1.Experiment, t *v1alpha1.TemplateSpec) string {
	return ex.Name + "-" + t.Name
}

// ServiceName is the name of a template's Service: service.name, or the
// ReplicaSet's name.
func ServiceName(ex *v1alpha1.Experiment, t *v1alpha1.TemplateSpec) string {
	if t.Service != nil && t.Service.Name != "" {
		return t.Service.Name
	}
	return ReplicaSetName(ex, t)
}

// RunBaseName is the name of an analysis's AnalysisRun,
// <experiment>-<analysis>.
func RunBaseName(ex *v1alpha1.Experiment, analysisName string) string {
	return ex.Name + "-" + analysisName
}

// RunName is the n-th name tried for a run: the base name, then base.1,
// base.2, ... when a name is taken (a retried Experiment's runs).
func RunName(base string, n int) string {
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s.%d", base, n)
}

// annotations tie an object to its Experiment and template.
func annotations(ex *v1alpha1.Experiment, t *v1alpha1.TemplateSpec) map[string]string {
	return map[string]string{
		v1alpha1.ExperimentNameAnnotationKey:         ex.Name,
		v1alpha1.ExperimentTemplateNameAnnotationKey: t.Name,
	}
}

// PodTemplateHash is the hash of a template's pods: the pod template
// without any hash label it carries, perturbed by the template's
// collision count.
func PodTemplateHash(t *v1alpha1.TemplateSpec, collisionCount *int32) string {
	tmpl := t.Template.DeepCopy()
	delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	return hash.PodTemplateHash(tmpl, collisionCount)
}

// NewReplicaSet builds a template's ReplicaSet, with no pods yet: the
// pod-template hash in its labels, selector and pods, the Experiment's
// name and the template's in its annotations, the Experiment as its
// controller.
func NewReplicaSet(ex *v1alpha1.Experiment, t *v1alpha1.TemplateSpec, collisionCount *int32) *appsv1.ReplicaSet {
	h := PodTemplateHash(t, collisionCount)
	tmpl := t.Template.DeepCopy()
	tmpl.Labels = withLabel(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey, h)
	sel := t.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, v1alpha1.DefaultRolloutUniqueLabelKey, h)
	zero := int32(0)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ReplicaSetName(ex, t),
			Namespace:       ex.Namespace,
			Labels:          maps.Clone(tmpl.Labels),
			Annotations:     annotations(ex, t),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, Kind)},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        &zero,
			MinReadySeconds: t.MinReadySeconds,
			Selector:        sel,
			Template:        *tmpl,
		},
	}
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// Belongs reports whether obj is the Experiment's object for a template:
// controlled by the Experiment and annotated with its name. It returns
// the template's name.
func Belongs(ex *v1alpha1.Experiment, obj metav1.Object) (string, bool) {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.UID != ex.UID || obj.GetAnnotations()[v1alpha1.ExperimentNameAnnotationKey] != ex.Name {
		return "", false
	}
	name := obj.GetAnnotations()[v1alpha1.ExperimentTemplateNameAnnotationKey]
	return name, name != ""
}

// NewService builds a template's Service: it selects the ReplicaSet's
// pods by all the ReplicaSet's labels and exposes each container port of
// the template (the ReplicaSet runs the template's containers; a cached
// ReplicaSet carries only their names and images).
// Without container ports there is nothing to expose, and nil is returned.
func NewService(ex *v1alpha1.Experiment, t *v1alpha1.TemplateSpec, rs *appsv1.ReplicaSet) *corev1.Service {
	var ports []corev1.ServicePort
	for _, c := range t.Template.Spec.Containers {
		for _, p := range c.Ports {
			ports = append(ports, corev1.ServicePort{
				Name: p.Name, Protocol: p.Protocol, Port: p.ContainerPort, TargetPort: intstr.FromInt32(p.ContainerPort),
			})
		}
	}
	if len(ports) == 0 {
		return nil
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ServiceName(ex, t),
			Namespace:       ex.Namespace,
			Annotations:     annotations(ex, t),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, Kind)},
		},
		Spec: corev1.ServiceSpec{Selector: maps.Clone(rs.Labels), Ports: ports},
	}
}

// argPlaceholder matches {{templates.<t>.podTemplateHash}},
// {{templates.<t>.replicaset.name}}, {{experiment.availableAt}} and
// {{experiment.finishedAt}} (spaces inside the braces allowed).
var argPlaceholder = regexp.MustCompile(`\{\{\s*(templates\.[^.}\s]+\.(?:podTemplateHash|replicaset\.name)|experiment\.(?:availableAt|finishedAt))\s*\}\}`)

// ResolveArgs turns an analysis's args into the run's: values have the
// Experiment's placeholders filled in (an unknown placeholder is left for
// the run, where {{args.x}} style substitution happens), a fieldRef is read
// from the Experiment, a secretKeyRef is passed on for the run to read.
// rsByTemplate holds the templates' ReplicaSets.
func ResolveArgs(ex *v1alpha1.Experiment, args []v1alpha1.Argument, rsByTemplate map[string]*appsv1.ReplicaSet) ([]v1alpha1.Argument, error) {
	values := map[string]string{}
	if at := ex.Status.AvailableAt; at != nil {
		values["experiment.availableAt"] = at.UTC().Format(time.RFC3339)
		if end := EndsAt(ex); !end.IsZero() {
			values["experiment.finishedAt"] = end.UTC().Format(time.RFC3339)
		}
	}
	for name, rs := range rsByTemplate {
		values["templates."+name+".podTemplateHash"] = rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		values["templates."+name+".replicaset.name"] = rs.Name
	}
	out := make([]v1alpha1.Argument, 0, len(args))
	for _, a := range args {
		arg := v1alpha1.Argument{Name: a.Name}
		switch {
		case a.Value != nil:
			v := argPlaceholder.ReplaceAllStringFunc(*a.Value, func(m string) string {
				key := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(m, "{{"), "}}"))
				if v, ok := values[key]; ok {
					return v
				}
				return m
			})
			arg.Value = &v
		case a.ValueFrom != nil && a.ValueFrom.FieldRef != nil:
			v, err := analysis.FieldPathValue(ex, a.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return nil, &analysis.SpecError{Msg: fmt.Sprintf("args.%s: %v", a.Name, err)}
			}
			arg.Value = &v
		case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
			arg.ValueFrom = &v1alpha1.ValueFrom{SecretKeyRef: a.ValueFrom.SecretKeyRef.DeepCopy()}
		}
		out = append(out, arg)
	}
	return out, nil
}
