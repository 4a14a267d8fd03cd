package experiment

import (
	"fmt"
	"reflect"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Validate returns why the Experiment cannot run as written, or "" when it
// can. The first problem is reported, with the reference's message where
// the reference has one and otherwise naming the field. Such an Experiment
// gets the InvalidSpec condition and creates nothing.
//
// Beyond the reference's checks (selector set and not empty, a unique
// non-empty name per template, minReadySeconds within the deadline), it
// refuses what would otherwise fail later, after ReplicaSets exist: a
// selector that does not match the template's labels, an unreadable
// duration, negative counts, Service names that are not DNS labels,
// analyses without a unique name or a template, and analysis args the
// Experiment cannot supply.
func Validate(ex *v1alpha1.Experiment) string {
	spec := &ex.Spec
	if len(spec.Templates) == 0 {
		return "spec.templates: at least one template is required"
	}
	if spec.Duration != "" {
		if d, err := time.ParseDuration(string(spec.Duration)); err != nil || d < 0 {
			return fmt.Sprintf("spec.duration: %q is not a duration (such as 30s, 5m, 1h)", spec.Duration)
		}
	}
	if p := spec.ProgressDeadlineSeconds; p != nil && *p <= 0 {
		return fmt.Sprintf("spec.progressDeadlineSeconds: must be greater than 0, not %d", *p)
	}
	if d := spec.ScaleDownDelaySeconds; d != nil && *d < 0 {
		return fmt.Sprintf("spec.scaleDownDelaySeconds: must not be negative, not %d", *d)
	}
	deadline := ptr.Deref(spec.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
	names := map[string]bool{}
	services := map[string]bool{}
	for i := range spec.Templates {
		t := &spec.Templates[i]
		if t.Selector == nil {
			return fmt.Sprintf("Rollout has missing field '.Spec.Templates[%d].Selector'", i)
		}
		if reflect.DeepEqual(t.Selector, &metav1.LabelSelector{}) {
			return fmt.Sprintf("This experiment is selecting all pods at index %d. A non-empty selector is required.", i)
		}
		if t.MinReadySeconds > deadline {
			return fmt.Sprintf("MinReadySeconds cannot be longer than ProgressDeadlineSeconds. Check template index %d", i)
		}
		if t.Name == "" {
			return fmt.Sprintf("Experiment %s has empty template name at index %d", ex.Name, i)
		}
		if names[t.Name] {
			return fmt.Sprintf("Experiment %s has repeated template name '%s' in templates", ex.Name, t.Name)
		}
		names[t.Name] = true
		path := fmt.Sprintf("spec.templates[%d]", i)
		if errs := validation.IsDNS1123Subdomain(ReplicaSetName(ex, t)); len(errs) > 0 {
			return fmt.Sprintf("%s.name: the ReplicaSet name %q is not valid: %s", path, ReplicaSetName(ex, t), errs[0])
		}
		if r := t.Replicas; r != nil && *r < 0 {
			return fmt.Sprintf("%s.replicas: must not be negative, not %d", path, *r)
		}
		if t.MinReadySeconds < 0 {
			return fmt.Sprintf("%s.minReadySeconds: must not be negative, not %d", path, t.MinReadySeconds)
		}
		sel, err := metav1.LabelSelectorAsSelector(t.Selector)
		if err != nil {
			return fmt.Sprintf("%s.selector: %v", path, err)
		}
		if !sel.Matches(labels.Set(t.Template.Labels)) {
			return fmt.Sprintf("%s.selector: %q does not match the template's labels %v", path, sel.String(), labels.Set(t.Template.Labels).String())
		}
		if len(t.Template.Spec.Containers) == 0 {
			return fmt.Sprintf("%s.template.spec.containers: at least one container is required", path)
		}
		if t.Service != nil {
			name := ServiceName(ex, t)
			if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
				return fmt.Sprintf("%s.service.name: %q is not a valid Service name: %s", path, name, errs[0])
			}
			if services[name] {
				return fmt.Sprintf("%s.service.name: %q is used by another template", path, name)
			}
			services[name] = true
		}
	}
	analyses := map[string]bool{}
	for i, a := range spec.Analyses {
		path := fmt.Sprintf("spec.analyses[%d]", i)
		switch {
		case a.Name == "":
			return path + ".name: required"
		case analyses[a.Name]:
			return fmt.Sprintf("%s.name: %q is used by another analysis", path, a.Name)
		case a.TemplateName == "":
			return path + ".templateName: required"
		}
		analyses[a.Name] = true
		if errs := validation.IsDNS1123Subdomain(RunBaseName(ex, a.Name)); len(errs) > 0 {
			return fmt.Sprintf("%s.name: the AnalysisRun name %q is not valid: %s", path, RunBaseName(ex, a.Name), errs[0])
		}
		for j, arg := range a.Args {
			if vf := arg.ValueFrom; vf != nil && arg.Value == nil && vf.PodTemplateHashValue != nil {
				return fmt.Sprintf("%s.args[%d].valueFrom.podTemplateHashValue: only a Rollout can supply it; use \"{{templates.<name>.podTemplateHash}}\" as the value", path, j)
			}
		}
	}
	return ""
}
