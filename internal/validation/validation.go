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
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
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
	CanaryScaleDownDelayMessage   = trafficrouting.NeedsTrafficRoutingMessage
	StepActionMessage             = "a step must set exactly one of setWeight, pause, setCanaryScale, analysis, experiment, plugin, setHeaderRoute, setMirrorRoute"
	WorkloadRefAndTemplateMessage = "template must be empty for workload reference rollout"
	AntiAffinityStrategyMessage   = "AntiAffinity must have exactly one strategy listed"
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
	if spec.RollbackWindow != nil && spec.RollbackWindow.Revisions < 0 {
		errs = append(errs, field.Invalid(path.Child("rollbackWindow", "revisions"), spec.RollbackWindow.Revisions, nonNegativeMessage))
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
	if a := spec.Analysis; a != nil {
		errs = append(errs, nonNegative(path.Child("analysis", "successfulRunHistoryLimit"), a.SuccessfulRunHistoryLimit)...)
		errs = append(errs, nonNegative(path.Child("analysis", "unsuccessfulRunHistoryLimit"), a.UnsuccessfulRunHistoryLimit)...)
	}
	return errs
}

func validateSelectorAndTemplate(spec *v1alpha1.RolloutSpec, path *field.Path) field.ErrorList {
	templateSet := !equality.Semantic.DeepEqual(spec.Template, corev1.PodTemplateSpec{})
	if ref := spec.WorkloadRef; ref != nil {
		var errs field.ErrorList
		refPath := path.Child("workloadRef")
		if templateSet {
			errs = append(errs, field.Invalid(path.Child("template"), "<non-empty>", WorkloadRefAndTemplateMessage))
		}
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		switch gk := (schema.GroupKind{Group: gv.Group, Kind: ref.Kind}); {
		case err != nil:
			errs = append(errs, field.Invalid(refPath.Child("apiVersion"), ref.APIVersion, err.Error()))
		case !slices.Contains(workloadKinds, gk):
			errs = append(errs, field.Invalid(refPath, gk.Group+"/"+gk.Kind, fmt.Sprintf("workload of type %s/%s is not supported", gk.Group, gk.Kind)))
		}
		if ref.Name == "" {
			errs = append(errs, field.Required(refPath.Child("name"), "the referenced workload's name is required"))
		}
		switch ref.ScaleDown {
		case "", v1alpha1.ScaleDownNever, v1alpha1.ScaleDownOnSuccess, v1alpha1.ScaleDownProgressively:
		default:
			errs = append(errs, field.NotSupported(refPath.Child("scaleDown"), ref.ScaleDown,
				[]string{v1alpha1.ScaleDownNever, v1alpha1.ScaleDownOnSuccess, v1alpha1.ScaleDownProgressively}))
		}
		if spec.Selector != nil {
			errs = append(errs, validateSelector(spec.Selector, path.Child("selector"))...)
		}
		// The template comes from the workload: ResolvedTemplate checks it
		// once read.
		return errs
	}
	if !templateSet {
		errs := validateSelector(spec.Selector, path.Child("selector"))
		return append(errs, field.Required(path.Child("template"), "one of template or workloadRef must be set"))
	}
	return validateTemplate(spec, path)
}

// workloadKinds are the kinds a workloadRef may name.
var workloadKinds = []schema.GroupKind{{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "ReplicaSet"}, {Group: "", Kind: "PodTemplate"}}

// ResolvedTemplate checks a Rollout whose template was taken from the
// workload its workloadRef names: the template has containers and the
// selector selects its labels.
func ResolvedTemplate(ro *v1alpha1.Rollout) field.ErrorList {
	return validateTemplate(&ro.Spec, field.NewPath("spec"))
}

func validateSelector(sel *metav1.LabelSelector, selPath *field.Path) field.ErrorList {
	switch {
	case sel == nil:
		return field.ErrorList{field.Required(selPath, "a selector matching the template labels is required")}
	case len(sel.MatchLabels)+len(sel.MatchExpressions) == 0:
		return field.ErrorList{field.Invalid(selPath, sel, SelectAllMessage)}
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, selPath)
	if len(errs) == 0 {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(selPath, sel, err.Error()))
		}
	}
	return errs
}

func validateTemplate(spec *v1alpha1.RolloutSpec, path *field.Path) field.ErrorList {
	errs := validateSelector(spec.Selector, path.Child("selector"))
	tmplPath := path.Child("template")
	if len(spec.Template.Spec.Containers) == 0 {
		errs = append(errs, field.Required(tmplPath.Child("spec", "containers"), "at least one container is required"))
	}
	if len(errs) == 0 || spec.Selector != nil {
		if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Empty() &&
			!selector.Matches(labels.Set(spec.Template.Labels)) {
			errs = append(errs, field.Invalid(tmplPath.Child("metadata", "labels"), spec.Template.Labels, SelectorMismatchMessage))
		}
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
		return validateCanary(ro, s.Canary, path.Child("canary"))
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

	errs = append(errs, validateAnalysis(bg.PrePromotionAnalysis, path.Child("prePromotionAnalysis"))...)
	errs = append(errs, validateAnalysis(bg.PostPromotionAnalysis, path.Child("postPromotionAnalysis"))...)
	errs = append(errs, validateMetadata(ro, bg.PreviewMetadata, path.Child("previewMetadata"))...)
	errs = append(errs, validateMetadata(ro, bg.ActiveMetadata, path.Child("activeMetadata"))...)
	errs = append(errs, validateAntiAffinity(bg.AntiAffinity, path.Child("antiAffinity"))...)
	return errs
}

func validateCanary(ro *v1alpha1.Rollout, c *v1alpha1.CanaryStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.TrafficRouting == nil && c.CanaryService != "" && c.CanaryService == c.StableService {
		// (With a router, trafficrouting.Validate reports it.)
		errs = append(errs, field.Invalid(path.Child("stableService"), c.StableService, SameCanaryServicesMessage))
	}
	for i := range c.Steps {
		errs = append(errs, validateStep(&c.Steps[i], path.Child("steps").Index(i), c.TrafficRouting)...)
	}
	// The routers, their Services, maxTrafficWeight and the knobs that
	// need a router (setCanaryScale, header and mirror routes,
	// dynamicStableScale, pingPong, scaleDownDelaySeconds).
	errs = append(errs, trafficrouting.Validate(ro)...)

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

	if a := c.Analysis; a != nil {
		errs = append(errs, validateAnalysis(&a.RolloutAnalysis, path.Child("analysis"))...)
		if a.StartingStep != nil && (*a.StartingStep < 0 || int(*a.StartingStep) > len(c.Steps)) {
			errs = append(errs, field.Invalid(path.Child("analysis", "startingStep"), *a.StartingStep,
				fmt.Sprintf("must be between 0 and the number of steps (%d)", len(c.Steps))))
		}
	}
	errs = append(errs, validateAntiAffinity(c.AntiAffinity, path.Child("antiAffinity"))...)
	errs = append(errs, validateMetadata(ro, c.CanaryMetadata, path.Child("canaryMetadata"))...)
	errs = append(errs, validateMetadata(ro, c.StableMetadata, path.Child("stableMetadata"))...)

	if c.TrafficRouting != nil {
		errs = append(errs, nonNegative(path.Child("scaleDownDelaySeconds"), c.ScaleDownDelaySeconds)...)
	}
	errs = append(errs, nonNegative(path.Child("scaleDownDelayRevisionLimit"), c.ScaleDownDelayRevisionLimit)...)
	errs = append(errs, nonNegative(path.Child("abortScaleDownDelaySeconds"), c.AbortScaleDownDelaySeconds)...)
	errs = append(errs, nonNegative(path.Child("minPodsPerReplicaSet"), c.MinPodsPerReplicaSet)...)
	if t := c.ReplicaProgressThreshold; t != nil {
		tPath := path.Child("replicaProgressThreshold")
		switch t.Type {
		case v1alpha1.ProgressTypePercentage:
			if t.Value < 0 || t.Value > 100 {
				errs = append(errs, field.Invalid(tPath.Child("value"), t.Value, "must be between 0 and 100 for type Percent"))
			}
		case v1alpha1.ProgressTypePod, "Pods":
			if t.Value < 0 {
				errs = append(errs, field.Invalid(tPath.Child("value"), t.Value, nonNegativeMessage))
			}
		default:
			errs = append(errs, field.NotSupported(tPath.Child("type"), t.Type, []string{string(v1alpha1.ProgressTypePercentage), string(v1alpha1.ProgressTypePod)}))
		}
	}
	return errs
}

func validateStep(step *v1alpha1.CanaryStep, path *field.Path, tr *v1alpha1.RolloutTrafficRouting) field.ErrorList {
	var errs field.ErrorList
	trafficRouting := tr != nil
	if actions := stepActions(step); len(actions) != 1 {
		found := "none"
		if len(actions) > 0 {
			found = strings.Join(actions, ", ")
		}
		errs = append(errs, field.Invalid(path, found, StepActionMessage))
	}
	// With a router the range is 0..maxTrafficWeight (trafficrouting.Validate).
	if w := step.SetWeight; w != nil && !trafficRouting && (*w < 0 || *w > 100) {
		errs = append(errs, field.Invalid(path.Child("setWeight"), *w, "must be between 0 and 100"))
	}
	if p := step.Pause; p != nil && p.Duration != nil {
		if _, err := v1alpha1.ParsePauseDuration(*p.Duration); err != nil {
			errs = append(errs, field.Invalid(path.Child("pause", "duration"), p.Duration.String(), err.Error()))
		}
	}
	if s := step.SetCanaryScale; s != nil {
		scalePath := path.Child("setCanaryScale")
		// Without a router trafficrouting.Validate refuses the step as a
		// whole: the canary's size is the weight, as in Argo.
		if s.Weight != nil && !trafficRouting && (*s.Weight < 0 || *s.Weight > 100) {
			errs = append(errs, field.Invalid(scalePath.Child("weight"), *s.Weight, "must be between 0 and 100"))
		}
		errs = append(errs, nonNegative(scalePath.Child("replicas"), s.Replicas)...)
	}
	errs = append(errs, validateExperimentStep(step.Experiment, path.Child("experiment"), tr)...)
	errs = append(errs, validateAnalysis(step.Analysis, path.Child("analysis"))...)
	errs = appendUnsupported(errs, path.Child("plugin"), step.Plugin != nil)
	return errs
}

// validateAnalysis checks an analysis as written: what needs no template
// to check. The templates themselves (that they exist, merge and get their
// args) are read and checked by the controller when it reconciles.
func validateAnalysis(a *v1alpha1.RolloutAnalysis, path *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	for i, t := range a.Templates {
		if t.TemplateName == "" {
			errs = append(errs, field.Required(path.Child("templates").Index(i).Child("templateName"), "the name of an AnalysisTemplate or ClusterAnalysisTemplate is required"))
		}
	}
	errs = append(errs, validateArgs(a.Args, path.Child("args"))...)
	errs = append(errs, validateDryRun(a.DryRun, path.Child("dryRun"))...)
	for i, r := range a.MeasurementRetention {
		if r.MetricName == "" {
			errs = append(errs, field.Required(path.Child("measurementRetention").Index(i).Child("metricName"), "metricName is required"))
		}
	}
	errs = append(errs, metav1validation.ValidateLabels(a.AnalysisRunMetadata.Labels, path.Child("analysisRunMetadata", "labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(a.AnalysisRunMetadata.Annotations, path.Child("analysisRunMetadata", "annotations"))...)
	return errs
}

// validateArgs checks the args of an analysis or of an experiment step's
// analysis: named once each, and a valueFrom naming exactly one source.
func validateArgs(args []v1alpha1.AnalysisRunArgument, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, arg := range args {
		argPath := path.Index(i)
		switch {
		case arg.Name == "":
			errs = append(errs, field.Required(argPath.Child("name"), "an argument needs a name"))
		case seen[arg.Name]:
			errs = append(errs, field.Duplicate(argPath.Child("name"), arg.Name))
		}
		seen[arg.Name] = true
		vf := arg.ValueFrom
		if vf == nil {
			continue
		}
		sources := 0
		if vf.SecretKeyRef != nil {
			sources++
		}
		if vf.FieldRef != nil {
			sources++
			if vf.FieldRef.FieldPath == "" {
				errs = append(errs, field.Required(argPath.Child("valueFrom", "fieldRef", "fieldPath"), "a field path is required"))
			}
		}
		if h := vf.PodTemplateHashValue; h != nil {
			sources++
			if *h != v1alpha1.Stable && *h != v1alpha1.Latest {
				errs = append(errs, field.NotSupported(argPath.Child("valueFrom", "podTemplateHashValue"), *h, []string{string(v1alpha1.Stable), string(v1alpha1.Latest)}))
			}
		}
		if sources != 1 {
			errs = append(errs, field.Invalid(argPath.Child("valueFrom"), sources, "must name exactly one of secretKeyRef, fieldRef, podTemplateHashValue"))
		}
	}
	return errs
}

func validateDryRun(rules []v1alpha1.DryRun, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rules {
		if r.MetricName == "" {
			errs = append(errs, field.Required(path.Index(i).Child("metricName"), "metricName is required"))
		}
	}
	return errs
}

// Messages of the experiment step's weight rules, the reference's.
const (
	ExperimentWeightNeedsRoutingMessage = "Experiment template weight cannot be set unless TrafficRouting is enabled"
	ExperimentWeightRouterMessage       = "Experiment template weight is only available for TrafficRouting with SMI, ALB, Istio and Plugins at this time"
)

// validateExperimentStep checks an experiment step as written: templates
// named once each and copying the stable or canary ReplicaSet, weights
// only with a router that can send traffic to extra Services (ALB, Istio
// or a plugin, as in the reference; SMI is refused as a router anyway),
// a duration that parses, and analyses named once each with their
// templates and args. The analyses' templates are checked by the
// Experiment before it creates anything. An empty templates list runs
// nothing (the step completes), as an analysis step without templates.
func validateExperimentStep(step *v1alpha1.RolloutExperimentStep, path *field.Path, tr *v1alpha1.RolloutTrafficRouting) field.ErrorList {
	if step == nil {
		return nil
	}
	var errs field.ErrorList
	if step.Templates == nil {
		errs = append(errs, field.Required(path.Child("templates"), "the templates to run (an empty list runs nothing)"))
	}
	names, services := map[string]bool{}, map[string]bool{}
	for i, t := range step.Templates {
		tPath := path.Child("templates").Index(i)
		switch {
		case t.Name == "":
			errs = append(errs, field.Required(tPath.Child("name"), "a template needs a name"))
		case names[t.Name]:
			errs = append(errs, field.Duplicate(tPath.Child("name"), t.Name))
		default:
			if msgs := utilvalidation.IsDNS1123Label(t.Name); len(msgs) > 0 {
				errs = append(errs, field.Invalid(tPath.Child("name"), t.Name, strings.Join(msgs, "; ")))
			}
		}
		names[t.Name] = true
		switch t.SpecRef {
		case v1alpha1.StableSpecRef, v1alpha1.CanarySpecRef:
		default:
			errs = append(errs, field.NotSupported(tPath.Child("specRef"), t.SpecRef, []string{string(v1alpha1.StableSpecRef), string(v1alpha1.CanarySpecRef)}))
		}
		errs = append(errs, nonNegative(tPath.Child("replicas"), t.Replicas)...)
		if t.Selector != nil {
			errs = append(errs, validateSelector(t.Selector, tPath.Child("selector"))...)
		}
		errs = append(errs, metav1validation.ValidateLabels(t.Metadata.Labels, tPath.Child("metadata", "labels"))...)
		errs = append(errs, apivalidation.ValidateAnnotations(t.Metadata.Annotations, tPath.Child("metadata", "annotations"))...)
		if w := t.Weight; w != nil {
			wPath := tPath.Child("weight")
			switch {
			case tr == nil:
				errs = append(errs, field.Invalid(wPath, *w, ExperimentWeightNeedsRoutingMessage))
			case tr.ALB == nil && tr.SMI == nil && tr.Istio == nil && len(tr.Plugins) == 0:
				errs = append(errs, field.Invalid(wPath, *w, ExperimentWeightRouterMessage))
			case *w < 0:
				errs = append(errs, field.Invalid(wPath, *w, nonNegativeMessage))
			}
		}
		if s := t.Service; s != nil && s.Name != "" {
			sPath := tPath.Child("service", "name")
			if msgs := utilvalidation.IsDNS1035Label(s.Name); len(msgs) > 0 {
				errs = append(errs, field.Invalid(sPath, s.Name, strings.Join(msgs, "; ")))
			} else if services[s.Name] {
				errs = append(errs, field.Duplicate(sPath, s.Name))
			}
			services[s.Name] = true
		}
	}
	if d := step.Duration; d != "" {
		if v, err := time.ParseDuration(string(d)); err != nil || v < 0 {
			errs = append(errs, field.Invalid(path.Child("duration"), string(d), "must be a duration such as 30s, 5m or 1h"))
		}
	}
	analyses := map[string]bool{}
	for i, a := range step.Analyses {
		aPath := path.Child("analyses").Index(i)
		switch {
		case a.Name == "":
			errs = append(errs, field.Required(aPath.Child("name"), "an analysis needs a name"))
		case analyses[a.Name]:
			errs = append(errs, field.Duplicate(aPath.Child("name"), a.Name))
		}
		analyses[a.Name] = true
		if a.TemplateName == "" {
			errs = append(errs, field.Required(aPath.Child("templateName"), "the name of an AnalysisTemplate or ClusterAnalysisTemplate is required"))
		}
		errs = append(errs, validateArgs(a.Args, aPath.Child("args"))...)
	}
	errs = append(errs, validateDryRun(step.DryRun, path.Child("dryRun"))...)
	errs = append(errs, metav1validation.ValidateLabels(step.AnalysisRunMetadata.Labels, path.Child("analysisRunMetadata", "labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(step.AnalysisRunMetadata.Annotations, path.Child("analysisRunMetadata", "annotations"))...)
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

// validateAntiAffinity: exactly one of required and preferred, and a
// preferred weight Kubernetes accepts.
func validateAntiAffinity(aa *v1alpha1.AntiAffinity, path *field.Path) field.ErrorList {
	if aa == nil {
		return nil
	}
	req, pref := aa.RequiredDuringSchedulingIgnoredDuringExecution, aa.PreferredDuringSchedulingIgnoredDuringExecution
	if (req == nil) == (pref == nil) {
		return field.ErrorList{field.Invalid(path, "", AntiAffinityStrategyMessage)}
	}
	if pref != nil && (pref.Weight < 1 || pref.Weight > 100) {
		return field.ErrorList{field.Invalid(path.Child("preferredDuringSchedulingIgnoredDuringExecution", "weight"), pref.Weight, "must be between 1 and 100")}
	}
	return nil
}

// validateMetadata checks ephemeral labels and annotations. A label that
// the selector (or the pod-template hash) uses would move pods out of their
// ReplicaSet, so it is refused.
func validateMetadata(ro *v1alpha1.Rollout, m *v1alpha1.PodTemplateMetadata, path *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	errs := metav1validation.ValidateLabels(m.Labels, path.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(m.Annotations, path.Child("annotations"))...)
	for k := range m.Labels {
		inSelector := false
		if ro.Spec.Selector != nil {
			_, inSelector = ro.Spec.Selector.MatchLabels[k]
			for _, e := range ro.Spec.Selector.MatchExpressions {
				inSelector = inSelector || e.Key == k
			}
		}
		if inSelector || k == v1alpha1.DefaultRolloutUniqueLabelKey {
			errs = append(errs, field.Invalid(path.Child("labels").Key(k), m.Labels[k], "must not be a label the selector or the pod-template hash uses"))
		}
	}
	return errs
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
