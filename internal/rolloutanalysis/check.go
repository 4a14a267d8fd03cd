package rolloutanalysis

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
)

// Spec is one analysis a Rollout's spec asks for.
type Spec struct {
	Kind     Kind
	Path     *field.Path
	Analysis *v1alpha1.RolloutAnalysis
	// Step is the canary step index of a step analysis.
	Step int32
}

// Specs lists the analyses of a Rollout's spec that have templates (an
// empty templates list is no analysis, as in the reference).
func Specs(ro *v1alpha1.Rollout) []Spec {
	var out []Spec
	add := func(kind Kind, path *field.Path, a *v1alpha1.RolloutAnalysis, step int32) {
		if a != nil && len(a.Templates) > 0 {
			out = append(out, Spec{Kind: kind, Path: path, Analysis: a, Step: step})
		}
	}
	strategy := field.NewPath("spec", "strategy")
	if c := ro.Spec.Strategy.Canary; c != nil {
		for i := range c.Steps {
			add(Step, strategy.Child("canary", "steps").Index(i).Child("analysis"), c.Steps[i].Analysis, int32(i))
		}
		if c.Analysis != nil {
			add(Background, strategy.Child("canary", "analysis"), &c.Analysis.RolloutAnalysis, 0)
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		add(PrePromotion, strategy.Child("blueGreen", "prePromotionAnalysis"), bg.PrePromotionAnalysis, 0)
		add(PostPromotion, strategy.Child("blueGreen", "postPromotionAnalysis"), bg.PostPromotionAnalysis, 0)
	}
	return out
}

// Check reports what is wrong with the templates one analysis names, with
// the reference's messages: a template that does not exist, a template
// whose metrics are invalid (an unknown provider, a condition that does not
// parse), an arg the templates need and the Rollout does not give
// ("missing analysis arguments in rollout spec"), templates that do not
// merge, and, outside background analysis, a metric that never ends ("...
// runs indefinitely"). The templates are read through get only; err is a
// failure to read them (anything but a template that does not exist).
func Check(ctx context.Context, get analysis.TemplateGetter, ro *v1alpha1.Rollout, spec Spec) (field.ErrorList, error) {
	a := spec.Analysis
	templatesPath := spec.Path.Child("templates")
	names := make([]string, 0, len(a.Templates))
	for _, t := range a.Templates {
		names = append(names, t.TemplateName)
	}
	value := fmt.Sprintf("templateNames: %v", names)
	templates, err := analysis.FetchTemplates(ctx, get, ro.Namespace, analysis.FromRollout(a.Templates))
	if err != nil {
		if analysis.IsSpecError(err) {
			return field.ErrorList{field.Invalid(templatesPath, value, err.Error())}, nil
		}
		return nil, err
	}

	type named struct {
		kind, name string
		spec       *v1alpha1.AnalysisTemplateSpec
	}
	var all []named
	for _, t := range templates.Namespaced {
		all = append(all, named{"AnalysisTemplate", t.Name, &t.Spec})
	}
	for _, t := range templates.Cluster {
		all = append(all, named{"ClusterAnalysisTemplate", t.Name, &t.Spec})
	}
	var errs field.ErrorList
	for _, t := range all {
		for _, e := range analysis.ValidateTemplateSpec(t.spec, field.NewPath("spec")) {
			errs = append(errs, field.Invalid(templatesPath, t.name, fmt.Sprintf("%s %s: %s", t.kind, t.name, e.Error())))
		}
		if spec.Kind == Background {
			continue
		}
		for i := range t.spec.Metrics {
			m := &t.spec.Metrics[i]
			if analysis.RunsIndefinitely(m) {
				count := "<nil>"
				if m.Count != nil {
					count = m.Count.String()
				}
				errs = append(errs, field.Invalid(templatesPath, t.name,
					fmt.Sprintf("%s %s has metric %s which runs indefinitely. Invalid value for count: %s", t.kind, t.name, m.Name, count)))
			}
		}
	}
	if len(errs) > 0 {
		return errs, nil
	}
	merged, err := templates.Flatten()
	if err != nil {
		return field.ErrorList{field.Invalid(templatesPath, value, err.Error())}, nil
	}
	given := map[string]bool{}
	for _, arg := range a.Args {
		given[arg.Name] = true
	}
	for _, arg := range merged.Args {
		if arg.Value == nil && arg.ValueFrom == nil && !given[arg.Name] {
			errs = append(errs, field.Invalid(spec.Path.Child("args"), arg.Name, "missing analysis arguments in rollout spec"))
		}
	}
	if len(errs) > 0 {
		return errs, nil
	}
	args, argErrs := checkArgs(ro, a.Args, spec.Path.Child("args"))
	if len(argErrs) > 0 {
		return argErrs, nil
	}
	placeholders := analysis.ArgSources{Object: ro, StableHash: "stable", LatestHash: "latest"}
	if _, err := analysis.BuildRunFrom(templates, analysis.RunRequest{
		Namespace: ro.Namespace, Args: args, DryRun: a.DryRun, MeasurementRetention: a.MeasurementRetention, Sources: &placeholders,
	}); err != nil {
		if analysis.IsSpecError(err) {
			return field.ErrorList{field.Invalid(templatesPath, value, err.Error())}, nil
		}
		return nil, err
	}
	return nil, nil
}

// checkArgs resolves a Rollout's args as far as they can be without a run:
// metadata fieldRefs (the downward API's paths) and podTemplateHashValue
// are checked; other fieldRefs, which may name status fields set later,
// stand in with a placeholder.
func checkArgs(ro *v1alpha1.Rollout, args []v1alpha1.AnalysisRunArgument, path *field.Path) ([]v1alpha1.Argument, field.ErrorList) {
	in := make([]v1alpha1.AnalysisRunArgument, len(args))
	for i, a := range args {
		in[i] = *a.DeepCopy()
		if vf := a.ValueFrom; vf != nil && vf.FieldRef != nil && !strings.HasPrefix(vf.FieldRef.FieldPath, "metadata") {
			in[i].ValueFrom, in[i].Value = nil, "placeholder"
		}
	}
	out, err := analysis.ResolveRolloutArgs(in, analysis.ArgSources{Object: ro, StableHash: "stable", LatestHash: "latest"})
	if err != nil {
		return nil, field.ErrorList{field.Invalid(path, "", err.Error())}
	}
	return out, nil
}
