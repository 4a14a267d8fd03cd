// Package validation checks a Rollout spec before the controller acts on it.
// The controller turns the errors into an InvalidSpec condition; the kubectl
// plugin's lint prints them. It is pure: no client, no clock.
//
// The rules follow Argo Rollouts' own validation where one exists, so a
// manifest Argo rejects is rejected here too. On top of that every field that
// Switchyard does not implement yet is reported as
// "<path>: Forbidden: not supported yet", so a manifest is never half-applied.
package validation

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// NotSupportedYet is the detail of the Forbidden error reported for fields
// Switchyard accepts in the API but does not implement.
const NotSupportedYet = "not supported yet"

// Messages that clients may want to match on.
const (
	SelectAllMessage              = "this rollout is selecting all pods; a non-empty selector is required"
	SelectorMismatchMessage       = "`selector` does not match template `labels`"
	MultipleStrategiesMessage     = "Multiple Strategies can not be listed"
	MissingStrategyMessage        = "one of blueGreen or canary must be set"
	SameServicesMessage           = "activeService and previewService must name two different Services"
	SameCanaryServicesMessage     = "canaryService and stableService must name two different Services"
	MaxSurgeMaxUnavailableMessage = "maxSurge and maxUnavailable can not both be 0"
	ScaleDownLimitMessage         = "must not be greater than revisionHistoryLimit"
	CanaryScaleDownDelayMessage   = "can only be used with trafficRouting"
	StepActionMessage             = "a step must set exactly one of setWeight, pause, setCanaryScale, analysis, experiment, plugin, setHeaderRoute, setMirrorRoute"
	WorkloadRefAndTemplateMessage = "template must be empty when workloadRef is set"
)

const nonNegativeMessage = "must be greater than or equal to 0"

// Rollout validates ro.Spec. Every problem is reported, in spec order, with
// its full field path.
func Rollout(ro *v1alpha1.Rollout) field.ErrorList {
	spec := &ro.Spec
	path := field.NewPath("spec")
	var errs field.ErrorList

	if spec.Replicas != nil && *spec.Replicas < 0 {
		errs = append(errs, field.Invalid(path.Child("replicas"), *spec.Replicas, nonNegativeMessage))
	}
	errs = append(errs, validateSelectorAndTemplate(spec, path)...)
	if spec.MinReadySeconds < 0 {
		errs = append(errs, field.Invalid(path.Child("minReadySeconds"), spec.MinReadySeconds, nonNegativeMessage))
	}
	if spec.RollbackWindow != nil {
		errs = append(errs, field.Forbidden(path.Child("rollbackWindow"), NotSupportedYet))
	}
	errs = append(errs, validateStrategy(ro, path.Child("strategy"))...)
	if spec.RevisionHistoryLimit != nil && *spec.RevisionHistoryLimit < 0 {
		errs = append(errs, field.Invalid(path.Child("revisionHistoryLimit"), *spec.RevisionHistoryLimit, nonNegativeMessage))
	}
	if deadline := ro.ProgressDeadlineSecondsOrDefault(); deadline < 0 {
		errs = append(errs, field.Invalid(path.Child("progressDeadlineSeconds"), deadline, nonNegativeMessage))
	} else if deadline <= spec.MinReadySeconds {
		// A pod cannot become available before the deadline otherwise.
		errs = append(errs, field.Invalid(path.Child("progressDeadlineSeconds"), deadline, "must be greater than minReadySeconds"))
	}
	// spec.analysis only bounds AnalysisRun history; accepted and harmless.
	return errs
}

func validateSelectorAndTemplate(spec *v1alpha1.RolloutSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	templateSet := !equality.Semantic.DeepEqual(spec.Template, corev1.PodTemplateSpec{})

	if spec.WorkloadRef != nil {
		errs = append(errs, field.Forbidden(path.Child("workloadRef"), NotSupportedYet))
		if templateSet {
			errs = append(errs, field.Invalid(path.Child("template"), "<non-empty>", WorkloadRefAndTemplateMessage))
		}
		// With a workloadRef the selector and template come from the
		// referenced workload, so there is nothing more to check here.
		return errs
	}

	selPath := path.Child("selector")
	var selector labels.Selector
	switch {
	case spec.Selector == nil:
		errs = append(errs, field.Required(selPath, "a selector matching the template labels is required"))
	case len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0:
		errs = append(errs, field.Invalid(selPath, spec.Selector, SelectAllMessage))
	default:
		selErrs := metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, selPath)
		errs = append(errs, selErrs...)
		if len(selErrs) == 0 {
			var err error
			if selector, err = metav1.LabelSelectorAsSelector(spec.Selector); err != nil {
				errs = append(errs, field.Invalid(selPath, spec.Selector, err.Error()))
			}
		}
	}

	tmplPath := path.Child("template")
	if !templateSet {
		return append(errs, field.Required(tmplPath, "one of template or workloadRef must be set"))
	}
	if len(spec.Template.Spec.Containers) == 0 {
		errs = append(errs, field.Required(tmplPath.Child("spec", "containers"), "at least one container is required"))
	}
	if selector != nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(tmplPath.Child("metadata", "labels"), spec.Template.Labels, SelectorMismatchMessage))
	}
	return errs
}

func validateStrategy(ro *v1alpha1.Rollout, path *field.Path) field.ErrorList {
	s := ro.Spec.Strategy
	switch {
	case s.BlueGreen == nil && s.Canary == nil:
		return field.ErrorList{field.Required(path, MissingStrategyMessage)}
	case s.BlueGreen != nil && s.Canary != nil:
		return field.ErrorList{field.Invalid(path, "blueGreen and canary", MultipleStrategiesMessage)}
	case s.BlueGreen != nil:
		return validateBlueGreen(ro, s.BlueGreen, path.Child("blueGreen"))
	default:
		return validateCanary(s.Canary, path.Child("canary"))
	}
}

func validateBlueGreen(ro *v1alpha1.Rollout, bg *v1alpha1.BlueGreenStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if bg.ActiveService == "" {
		errs = append(errs, field.Required(path.Child("activeService"), "the Service to switch to the new version is required"))
	} else if bg.PreviewService == bg.ActiveService {
		errs = append(errs, field.Invalid(path.Child("previewService"), bg.PreviewService, SameServicesMessage))
	}
	errs = append(errs, nonNegative(path.Child("previewReplicaCount"), bg.PreviewReplicaCount)...)
	if bg.AutoPromotionSeconds < 0 {
		errs = append(errs, field.Invalid(path.Child("autoPromotionSeconds"), bg.AutoPromotionSeconds, nonNegativeMessage))
	}
	errs = append(errs, validateIntOrPercent(path.Child("maxUnavailable"), bg.MaxUnavailable)...)
	errs = append(errs, nonNegative(path.Child("scaleDownDelaySeconds"), bg.ScaleDownDelaySeconds)...)
	errs = append(errs, nonNegative(path.Child("scaleDownDelayRevisionLimit"), bg.ScaleDownDelayRevisionLimit)...)
	if bg.ScaleDownDelayRevisionLimit != nil && *bg.ScaleDownDelayRevisionLimit > ro.RevisionHistoryLimitOrDefault() {
		// Old ReplicaSets kept up by the delay must also be kept in history.
		errs = append(errs, field.Invalid(path.Child("scaleDownDelayRevisionLimit"), *bg.ScaleDownDelayRevisionLimit, ScaleDownLimitMessage))
	}
	errs = append(errs, nonNegative(path.Child("abortScaleDownDelaySeconds"), bg.AbortScaleDownDelaySeconds)...)

	errs = appendUnsupported(errs, path.Child("prePromotionAnalysis"), bg.PrePromotionAnalysis != nil)
	errs = appendUnsupported(errs, path.Child("postPromotionAnalysis"), bg.PostPromotionAnalysis != nil)
	errs = appendUnsupported(errs, path.Child("previewMetadata"), bg.PreviewMetadata != nil)
	errs = appendUnsupported(errs, path.Child("activeMetadata"), bg.ActiveMetadata != nil)
	errs = appendUnsupported(errs, path.Child("antiAffinity"), bg.AntiAffinity != nil)
	return errs
}

func validateCanary(c *v1alpha1.CanaryStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.CanaryService != "" && c.CanaryService == c.StableService {
		errs = append(errs, field.Invalid(path.Child("stableService"), c.StableService, SameCanaryServicesMessage))
	}
	for i := range c.Steps {
		errs = append(errs, validateStep(&c.Steps[i], path.Child("steps").Index(i), c.TrafficRouting != nil)...)
	}
	errs = appendUnsupported(errs, path.Child("trafficRouting"), c.TrafficRouting != nil)

	surgePath, unavailPath := path.Child("maxSurge"), path.Child("maxUnavailable")
	surgeErrs := validateIntOrPercent(surgePath, c.MaxSurge)
	unavailErrs := validateIntOrPercent(unavailPath, c.MaxUnavailable)
	errs = append(errs, surgeErrs...)
	errs = append(errs, unavailErrs...)
	surge, unavail := c.MaxSurgeOrDefault(), c.MaxUnavailableOrDefault()
	if len(surgeErrs) == 0 && len(unavailErrs) == 0 && isZero(surge) && isZero(unavail) {
		// Neither adding nor removing a pod is allowed: no progress possible.
		errs = append(errs, field.Invalid(surgePath, surge.String(), MaxSurgeMaxUnavailableMessage))
	}

	errs = appendUnsupported(errs, path.Child("analysis"), c.Analysis != nil)
	errs = appendUnsupported(errs, path.Child("antiAffinity"), c.AntiAffinity != nil)
	errs = appendUnsupported(errs, path.Child("canaryMetadata"), c.CanaryMetadata != nil)
	errs = appendUnsupported(errs, path.Child("stableMetadata"), c.StableMetadata != nil)

	// Argo rejects scaleDownDelaySeconds on a basic canary, whose old
	// ReplicaSets shrink through the replica arithmetic instead. (With
	// trafficRouting it would be valid, but trafficRouting is reported above.)
	if c.TrafficRouting == nil && c.ScaleDownDelaySeconds != nil {
		errs = append(errs, field.Invalid(path.Child("scaleDownDelaySeconds"), *c.ScaleDownDelaySeconds, CanaryScaleDownDelayMessage))
	}
	errs = append(errs, nonNegative(path.Child("scaleDownDelayRevisionLimit"), c.ScaleDownDelayRevisionLimit)...)
	errs = append(errs, nonNegative(path.Child("abortScaleDownDelaySeconds"), c.AbortScaleDownDelaySeconds)...)
	errs = appendUnsupported(errs, path.Child("dynamicStableScale"), c.DynamicStableScale)
	errs = appendUnsupported(errs, path.Child("pingPong"), c.PingPong != nil)
	errs = append(errs, nonNegative(path.Child("minPodsPerReplicaSet"), c.MinPodsPerReplicaSet)...)
	errs = appendUnsupported(errs, path.Child("replicaProgressThreshold"), c.ReplicaProgressThreshold != nil)
	return errs
}

func validateStep(step *v1alpha1.CanaryStep, path *field.Path, trafficRouting bool) field.ErrorList {
	var errs field.ErrorList
	if actions := stepActions(step); len(actions) != 1 {
		found := "none"
		if len(actions) > 0 {
			found = strings.Join(actions, ", ")
		}
		errs = append(errs, field.Invalid(path, found, StepActionMessage))
	}
	if w := step.SetWeight; w != nil && (*w < 0 || *w > 100) {
		errs = append(errs, field.Invalid(path.Child("setWeight"), *w, "must be between 0 and 100"))
	}
	if p := step.Pause; p != nil && p.Duration != nil {
		if _, err := v1alpha1.ParsePauseDuration(*p.Duration); err != nil {
			errs = append(errs, field.Invalid(path.Child("pause", "duration"), p.Duration.String(), err.Error()))
		}
	}
	if s := step.SetCanaryScale; s != nil {
		scalePath := path.Child("setCanaryScale")
		if s.Weight != nil && (*s.Weight < 0 || *s.Weight > 100) {
			errs = append(errs, field.Invalid(scalePath.Child("weight"), *s.Weight, "must be between 0 and 100"))
		}
		errs = append(errs, nonNegative(scalePath.Child("replicas"), s.Replicas)...)
		// Without a traffic router the canary's size is the weight: a
		// separate scale would be silently ignored, so refuse it as Argo does.
		if !trafficRouting {
			errs = append(errs, field.Invalid(scalePath, "setCanaryScale", "setCanaryScale requires trafficRouting to be set"))
		}
	}
	errs = appendUnsupported(errs, path.Child("experiment"), step.Experiment != nil)
	errs = appendUnsupported(errs, path.Child("analysis"), step.Analysis != nil)
	errs = appendUnsupported(errs, path.Child("setHeaderRoute"), step.SetHeaderRoute != nil)
	errs = appendUnsupported(errs, path.Child("setMirrorRoute"), step.SetMirrorRoute != nil)
	errs = appendUnsupported(errs, path.Child("plugin"), step.Plugin != nil)
	return errs
}

// stepActions lists the JSON names of the actions a step sets.
func stepActions(step *v1alpha1.CanaryStep) []string {
	var actions []string
	for _, a := range []struct {
		name string
		set  bool
	}{
		{"setWeight", step.SetWeight != nil},
		{"pause", step.Pause != nil},
		{"setCanaryScale", step.SetCanaryScale != nil},
		{"analysis", step.Analysis != nil},
		{"experiment", step.Experiment != nil},
		{"plugin", step.Plugin != nil},
		{"setHeaderRoute", step.SetHeaderRoute != nil},
		{"setMirrorRoute", step.SetMirrorRoute != nil},
	} {
		if a.set {
			actions = append(actions, a.name)
		}
	}
	return actions
}

func appendUnsupported(errs field.ErrorList, path *field.Path, set bool) field.ErrorList {
	if !set {
		return errs
	}
	return append(errs, field.Forbidden(path, NotSupportedYet))
}

func nonNegative(path *field.Path, v *int32) field.ErrorList {
	if v != nil && *v < 0 {
		return field.ErrorList{field.Invalid(path, *v, nonNegativeMessage)}
	}
	return nil
}

// validateIntOrPercent accepts a non-negative integer, or a string holding a
// non-negative integer or a percentage ("25%"). A plain numeric string is
// allowed because Argo reads it as a number.
func validateIntOrPercent(path *field.Path, v *intstr.IntOrString) field.ErrorList {
	if v == nil {
		return nil
	}
	if _, err := intOrPercentValue(*v); err != nil {
		return field.ErrorList{field.Invalid(path, v.String(), err.Error())}
	}
	return nil
}

func intOrPercentValue(v intstr.IntOrString) (int, error) {
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return 0, fmt.Errorf("%s", nonNegativeMessage)
		}
		return int(v.IntVal), nil
	}
	s := v.StrVal
	if strings.HasSuffix(s, "%") {
		if msgs := utilvalidation.IsValidPercent(s); len(msgs) > 0 {
			return 0, fmt.Errorf("%s", strings.Join(msgs, "; "))
		}
		s = strings.TrimSuffix(s, "%")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("must be a non-negative integer or a percentage such as 25%%")
	}
	return n, nil
}

func isZero(v intstr.IntOrString) bool {
	n, err := intOrPercentValue(v)
	return err == nil && n == 0
}

// Warnings lists fields that are valid but have no effect on this Rollout,
// as in Argo Rollouts; lint shows them, the controller ignores them.
func Warnings(ro *v1alpha1.Rollout) []string {
	var warnings []string
	canaryPath := field.NewPath("spec", "strategy", "canary")
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting == nil {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"abortScaleDownDelaySeconds", c.AbortScaleDownDelaySeconds != nil},
			{"minPodsPerReplicaSet", c.MinPodsPerReplicaSet != nil},
			{"scaleDownDelayRevisionLimit", c.ScaleDownDelayRevisionLimit != nil},
		} {
			if f.set {
				warnings = append(warnings, fmt.Sprintf("%s: ignored without trafficRouting", canaryPath.Child(f.name)))
			}
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.AutoPromotionSeconds != 0 && !bg.AutoPromotionEnabledOrDefault() {
		warnings = append(warnings, fmt.Sprintf("%s: ignored when autoPromotionEnabled is false",
			field.NewPath("spec", "strategy", "blueGreen", "autoPromotionSeconds")))
	}
	return warnings
}
