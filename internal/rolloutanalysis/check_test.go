package rolloutanalysis

import (
	"context"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
)

// memTemplates serves templates from memory, as the cache would.
type memTemplates map[string]*v1alpha1.AnalysisTemplateSpec

func (m memTemplates) AnalysisTemplate(_ context.Context, _, name string) (*v1alpha1.AnalysisTemplate, error) {
	spec, ok := m[name]
	if !ok {
		return nil, &analysis.TemplateNotFoundError{Kind: "AnalysisTemplate", Name: name}
	}
	t := &v1alpha1.AnalysisTemplate{Spec: *spec.DeepCopy()}
	t.Name = name
	return t, nil
}

func (m memTemplates) ClusterAnalysisTemplate(_ context.Context, name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	spec, ok := m["cluster/"+name]
	if !ok {
		return nil, &analysis.TemplateNotFoundError{Kind: "ClusterAnalysisTemplate", Name: name}
	}
	t := &v1alpha1.ClusterAnalysisTemplate{Spec: *spec.DeepCopy()}
	t.Name = name
	return t, nil
}

func webMetric(name string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://metrics/{{args.service}}"}}}
}

func TestCheck(t *testing.T) {
	templates := memTemplates{
		"smoke":        {Args: []v1alpha1.Argument{{Name: "service"}}, Metrics: []v1alpha1.Metric{webMetric("smoke")}},
		"smoke-copy":   {Metrics: []v1alpha1.Metric{webMetric("smoke")}},
		"defaulted":    {Args: []v1alpha1.Argument{{Name: "service", Value: ptr.To("backend")}}, Metrics: []v1alpha1.Metric{webMetric("d")}},
		"other-value":  {Args: []v1alpha1.Argument{{Name: "service", Value: ptr.To("frontend")}}, Metrics: []v1alpha1.Metric{webMetric("o")}},
		"cluster/rate": {Metrics: []v1alpha1.Metric{webMetric("rate")}},
		"forever": {Metrics: []v1alpha1.Metric{func() v1alpha1.Metric {
			m := webMetric("poll")
			m.Interval = "30s"
			m.Count = ptr.To(intstr.FromInt32(0))
			return m
		}()}},
		"bad-provider": {Metrics: []v1alpha1.Metric{{Name: "q", Provider: v1alpha1.MetricProvider{NewRelic: &apiextensionsv1.JSON{Raw: []byte(`{"query":"q"}`)}}}}},
	}
	ref := func(names ...string) []v1alpha1.RolloutAnalysisTemplate {
		var out []v1alpha1.RolloutAnalysisTemplate
		for _, n := range names {
			if c, ok := strings.CutPrefix(n, "cluster/"); ok {
				out = append(out, v1alpha1.RolloutAnalysisTemplate{TemplateName: c, ClusterScope: ptr.To(true)})
				continue
			}
			out = append(out, v1alpha1.RolloutAnalysisTemplate{TemplateName: n})
		}
		return out
	}
	service := []v1alpha1.AnalysisRunArgument{{Name: "service", Value: "backend"}}
	tests := []struct {
		name string
		kind Kind
		a    v1alpha1.RolloutAnalysis
		want string // "" for no problem
	}{
		{"fine", Step, v1alpha1.RolloutAnalysis{Templates: ref("smoke"), Args: service}, ""},
		{"template default fills the arg", Step, v1alpha1.RolloutAnalysis{Templates: ref("defaulted")}, ""},
		{"cluster template", PrePromotion, v1alpha1.RolloutAnalysis{Templates: ref("cluster/rate")}, ""},
		{"not found", Step, v1alpha1.RolloutAnalysis{Templates: ref("nope")},
			`spec.strategy.canary.steps[0].analysis.templates: Invalid value: "templateNames: [nope]": AnalysisTemplate 'nope' not found`},
		{"cluster template not found", PostPromotion, v1alpha1.RolloutAnalysis{Templates: ref("cluster/nope")},
			`ClusterAnalysisTemplate 'nope' not found`},
		{"missing arg", Background, v1alpha1.RolloutAnalysis{Templates: ref("smoke")},
			`spec.strategy.canary.steps[0].analysis.args: Invalid value: "service": missing analysis arguments in rollout spec`},
		{"duplicate metric", Step, v1alpha1.RolloutAnalysis{Templates: ref("smoke", "smoke-copy"), Args: service},
			`two metrics have the same name 'smoke'`},
		{"args with two values", Step, v1alpha1.RolloutAnalysis{Templates: ref("defaulted", "other-value")},
			"Argument `service` specified multiple times with different values: 'backend', 'frontend'"},
		{"runs indefinitely", PrePromotion, v1alpha1.RolloutAnalysis{Templates: ref("forever")},
			`AnalysisTemplate forever has metric poll which runs indefinitely. Invalid value for count: 0`},
		{"background may run indefinitely", Background, v1alpha1.RolloutAnalysis{Templates: ref("forever")}, ""},
		{"unsupported provider", Step, v1alpha1.RolloutAnalysis{Templates: ref("bad-provider")},
			`AnalysisTemplate bad-provider: spec.metrics[0]: Invalid value: "q": provider newRelic is not supported by Switchyard`},
		{"downward API path", Step, v1alpha1.RolloutAnalysis{Templates: ref("smoke"),
			Args: []v1alpha1.AnalysisRunArgument{{Name: "service", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.generateName.x"}}}}},
			`Analyses arguments must refer to valid object metadata supported by downwardAPI`},
		{"a status path is read when the run is made", Step, v1alpha1.RolloutAnalysis{Templates: ref("smoke"),
			Args: []v1alpha1.AnalysisRunArgument{{Name: "service", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "status.alb.canaryTargetGroup.name"}}}}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{}
			ro.Name, ro.Namespace = "backend", "shop"
			a := tc.a
			spec := Spec{Kind: tc.kind, Path: Specs(canaryWithStep(&a))[0].Path, Analysis: &a}
			errs, err := Check(context.Background(), templates, ro, spec)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			got := errs.ToAggregate()
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("want no problem, got %v", got)
			case tc.want != "" && (got == nil || !strings.Contains(got.Error(), tc.want)):
				t.Errorf("got %v, want a problem containing %q", got, tc.want)
			}
		})
	}
}

func canaryWithStep(a *v1alpha1.RolloutAnalysis) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{{Analysis: a}},
	}}}}
}

func TestSpecs(t *testing.T) {
	a := &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "t"}}}
	empty := &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{}}
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps:    []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](10)}, {Analysis: a}, {Analysis: empty}},
		Analysis: &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: *a},
	}}}}
	var got []string
	for _, s := range Specs(ro) {
		got = append(got, string(s.Kind)+" "+s.Path.String())
	}
	want := "Step spec.strategy.canary.steps[1].analysis,Background spec.strategy.canary.analysis"
	if strings.Join(got, ",") != want {
		t.Errorf("Specs = %v, want %s", got, want)
	}
}
