package validation_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/validation"
)

func loadSeed(t *testing.T, name string) *v1alpha1.Rollout {
	t.Helper()
	raw, err := os.ReadFile("../../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	doc := bytes.SplitN(raw, []byte("\n---"), 2)[0]
	var ro v1alpha1.Rollout
	if err := yaml.UnmarshalStrict(doc, &ro); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return &ro
}

func TestSeedsAreValid(t *testing.T) {
	for _, name := range []string{"bluegreen-rollout.yaml", "canary-rollout.yaml", "canary-gatewayapi-rollout.yaml"} {
		t.Run(name, func(t *testing.T) {
			ro := loadSeed(t, name)
			if errs := validation.Rollout(ro); len(errs) > 0 {
				t.Fatalf("seed is invalid: %v", errs.ToAggregate())
			}
			if w := validation.Warnings(ro); len(w) > 0 {
				t.Fatalf("seed has warnings: %v", w)
			}
		})
	}
}

func raw(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

func intOrStr(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

// Each case mutates one seed and lists substrings, each of which must appear
// in some reported error; want == nil means the result must be valid.
func TestRollout(t *testing.T) {
	tests := []struct {
		name   string
		seed   string // "bg" or "canary"
		mutate func(ro *v1alpha1.Rollout)
		want   []string
	}{
		// Spec-level rules.
		{
			name: "negative replicas", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Replicas = ptr.To[int32](-1) },
			want:   []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		},
		{
			name: "zero replicas is fine", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Replicas = ptr.To[int32](0) },
		},
		{
			name: "missing selector", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Selector = nil },
			want:   []string{"spec.selector: Required value"},
		},
		{
			name: "empty selector selects all pods", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Selector = &metav1.LabelSelector{} },
			want:   []string{"spec.selector: Invalid value", "selecting all pods"},
		},
		{
			name: "selector syntax", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}
			},
			want: []string{"spec.selector.matchExpressions[0].operator"},
		},
		{
			name: "selector does not match template labels", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Template.Labels = map[string]string{"app": "other"} },
			want:   []string{"spec.template.metadata.labels: Invalid value", "does not match template"},
		},
		{
			name: "selector with expressions matching the template", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"backend-bluegreen"}},
				}}
			},
		},
		{
			name: "neither template nor workloadRef", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Template = corev1.PodTemplateSpec{} },
			want:   []string{"spec.template: Required value: one of template or workloadRef must be set"},
		},
		{
			name: "template without containers", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Template.Spec.Containers = nil },
			want:   []string{"spec.template.spec.containers: Required value"},
		},
		{
			name: "workloadRef alone", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Template = corev1.PodTemplateSpec{}
				ro.Spec.WorkloadRef = &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "x", ScaleDown: "progressively"}
			},
		},
		{
			name: "workloadRef without a selector takes the workload's", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Template, ro.Spec.Selector = corev1.PodTemplateSpec{}, nil
				ro.Spec.WorkloadRef = &v1alpha1.ObjectRef{APIVersion: "v1", Kind: "PodTemplate", Name: "x"}
			},
		},
		{
			name: "workloadRef and template", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.WorkloadRef = &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "x"}
			},
			want: []string{"spec.template: Invalid value", "template must be empty for workload reference rollout"},
		},
		{
			name: "workloadRef to an unsupported kind, with an unknown scaleDown", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Template = corev1.PodTemplateSpec{}
				ro.Spec.WorkloadRef = &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "x", ScaleDown: "sometimes"}
			},
			want: []string{"spec.workloadRef: Invalid value", "workload of type apps/StatefulSet is not supported",
				`spec.workloadRef.scaleDown: Unsupported value: "sometimes"`},
		},
		{
			name: "rollbackWindow", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.RollbackWindow = &v1alpha1.RollbackWindowSpec{Revisions: 2} },
		},
		{
			name: "negative rollbackWindow", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.RollbackWindow = &v1alpha1.RollbackWindowSpec{Revisions: -1} },
			want:   []string{"spec.rollbackWindow.revisions: Invalid value: -1"},
		},
		{
			name: "negative minReadySeconds", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.MinReadySeconds = -5 },
			want:   []string{"spec.minReadySeconds: Invalid value: -5"},
		},
		{
			name: "negative revisionHistoryLimit", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.RevisionHistoryLimit = ptr.To[int32](-1) },
			want:   []string{"spec.revisionHistoryLimit: Invalid value: -1"},
		},
		{
			name: "progress deadline not above minReadySeconds", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.MinReadySeconds = 30
				ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](30)
			},
			want: []string{"spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds"},
		},
		{
			name: "supported spec fields", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.MinReadySeconds = 10
				ro.Spec.RevisionHistoryLimit = ptr.To[int32](3)
				ro.Spec.Paused = true
				ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](120)
				ro.Spec.ProgressDeadlineAbort = true
				ro.Spec.RestartAt = ptr.To(metav1.Now())
				ro.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](1)}
			},
		},

		// Strategy selection.
		{
			name: "no strategy", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy = v1alpha1.RolloutStrategy{} },
			want:   []string{"spec.strategy: Required value"},
		},
		{
			name: "both strategies", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{} },
			want:   []string{"spec.strategy: Invalid value", "Multiple Strategies can not be listed"},
		},

		// Blue-green.
		{
			name: "missing activeService", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.BlueGreen.ActiveService = "" },
			want:   []string{"spec.strategy.blueGreen.activeService: Required value"},
		},
		{
			name: "previewService equals activeService", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.BlueGreen.PreviewService = "backend-active" },
			want:   []string{"spec.strategy.blueGreen.previewService: Invalid value", "two different Services"},
		},
		{
			name: "no previewService is fine", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.BlueGreen.PreviewService = "" },
		},
		{
			name: "scaleDownDelayRevisionLimit above revisionHistoryLimit", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.RevisionHistoryLimit = ptr.To[int32](2)
				ro.Spec.Strategy.BlueGreen.ScaleDownDelayRevisionLimit = ptr.To[int32](3)
			},
			want: []string{"spec.strategy.blueGreen.scaleDownDelayRevisionLimit: Invalid value: 3: must not be greater than revisionHistoryLimit"},
		},
		{
			name: "scaleDownDelayRevisionLimit above the default history limit", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.ScaleDownDelayRevisionLimit = ptr.To[int32](11)
			},
			want: []string{"spec.strategy.blueGreen.scaleDownDelayRevisionLimit: Invalid value: 11"},
		},
		{
			name: "negative blue-green numbers", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				bg := ro.Spec.Strategy.BlueGreen
				bg.PreviewReplicaCount = ptr.To[int32](-1)
				bg.AutoPromotionSeconds = -1
				bg.ScaleDownDelaySeconds = ptr.To[int32](-1)
				bg.AbortScaleDownDelaySeconds = ptr.To[int32](-1)
				bg.MaxUnavailable = intOrStr("-1")
			},
			want: []string{
				"spec.strategy.blueGreen.previewReplicaCount: Invalid value: -1",
				"spec.strategy.blueGreen.autoPromotionSeconds: Invalid value: -1",
				"spec.strategy.blueGreen.scaleDownDelaySeconds: Invalid value: -1",
				"spec.strategy.blueGreen.abortScaleDownDelaySeconds: Invalid value: -1",
				"spec.strategy.blueGreen.maxUnavailable: Invalid value",
			},
		},
		{
			name: "supported blue-green fields", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				bg := ro.Spec.Strategy.BlueGreen
				bg.AutoPromotionEnabled = ptr.To(true)
				bg.AutoPromotionSeconds = 30
				bg.ScaleDownDelaySeconds = ptr.To[int32](0)
				bg.ScaleDownDelayRevisionLimit = ptr.To[int32](2)
				bg.PreviewReplicaCount = ptr.To[int32](1)
				bg.AbortScaleDownDelaySeconds = ptr.To[int32](0)
				bg.MaxUnavailable = intOrStr("50%")
			},
		},
		{
			name: "blue-green analyses", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				bg := ro.Spec.Strategy.BlueGreen
				bg.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "smoke"}},
					Args: []v1alpha1.AnalysisRunArgument{{Name: "hash", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Latest)}}}}
				bg.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "error-rate", ClusterScope: ptr.To(true)}}}
				ro.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](2), UnsuccessfulRunHistoryLimit: ptr.To[int32](0)}
			},
		},
		{
			name: "blue-green analyses written wrong", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				bg := ro.Spec.Strategy.BlueGreen
				bg.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{}},
					Args: []v1alpha1.AnalysisRunArgument{
						{Name: "hash", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.ValueFromPodTemplateHash("Canary"))}},
						{Name: "hash"},
						{Name: "both", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}, SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
					},
					DryRun: []v1alpha1.DryRun{{}}}
				bg.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{AnalysisRunMetadata: v1alpha1.AnalysisRunMetadata{Labels: map[string]string{"bad key!": "v"}}}
				ro.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](-1)}
			},
			want: []string{
				"spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName: Required value",
				`spec.strategy.blueGreen.prePromotionAnalysis.args[0].valueFrom.podTemplateHashValue: Unsupported value: "Canary"`,
				`spec.strategy.blueGreen.prePromotionAnalysis.args[1].name: Duplicate value: "hash"`,
				"spec.strategy.blueGreen.prePromotionAnalysis.args[2].valueFrom: Invalid value: 2: must name exactly one of secretKeyRef, fieldRef, podTemplateHashValue",
				"spec.strategy.blueGreen.prePromotionAnalysis.dryRun[0].metricName: Required value",
				"spec.strategy.blueGreen.postPromotionAnalysis.analysisRunMetadata.labels: Invalid value: \"bad key!\"",
				"spec.analysis.successfulRunHistoryLimit: Invalid value: -1",
			},
		},
		{
			name: "ephemeral metadata and anti-affinity", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				bg := ro.Spec.Strategy.BlueGreen
				bg.PreviewMetadata = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "preview"}}
				bg.ActiveMetadata = &v1alpha1.PodTemplateMetadata{Annotations: map[string]string{"role": "active"}}
				bg.AntiAffinity = &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 50}}
			},
		},
		{
			name: "anti-affinity with both or neither strategy, weight out of range", seed: "bg",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.AntiAffinity = &v1alpha1.AntiAffinity{}
				ro.Spec.Strategy.Canary = nil
			},
			want: []string{"spec.strategy.blueGreen.antiAffinity: Invalid value", "AntiAffinity must have exactly one strategy listed"},
		},
		{
			name: "preferred anti-affinity weight above 100", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.AntiAffinity = &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 101}}
			},
			want: []string{"spec.strategy.canary.antiAffinity.preferredDuringSchedulingIgnoredDuringExecution.weight: Invalid value: 101"},
		},
		{
			name: "ephemeral labels may not take a selector key or the hash", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.CanaryMetadata = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"app": "other", "rollouts-pod-template-hash": "x", "bad key!": "v"}}
			},
			want: []string{"spec.strategy.canary.canaryMetadata.labels[app]: Invalid value",
				"spec.strategy.canary.canaryMetadata.labels[rollouts-pod-template-hash]: Invalid value",
				"spec.strategy.canary.canaryMetadata.labels: Invalid value: \"bad key!\""},
		},

		// Canary.
		{
			name: "maxSurge and maxUnavailable both 0", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.MaxSurge = intOrStr("0%") },
			want:   []string{"spec.strategy.canary.maxSurge: Invalid value", "can not both be 0"},
		},
		{
			name: "maxSurge 0 with default maxUnavailable is fine", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.MaxSurge = intOrStr("0")
				ro.Spec.Strategy.Canary.MaxUnavailable = nil
			},
		},
		{
			name: "malformed maxSurge and maxUnavailable", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.MaxSurge = intOrStr("lots")
				ro.Spec.Strategy.Canary.MaxUnavailable = intOrStr("-1")
			},
			want: []string{"spec.strategy.canary.maxSurge: Invalid value: \"lots\"", "spec.strategy.canary.maxUnavailable: Invalid value"},
		},
		{
			name: "canaryService equals stableService", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.CanaryService = "svc"
				ro.Spec.Strategy.Canary.StableService = "svc"
			},
			want: []string{"spec.strategy.canary.stableService: Invalid value"},
		},
		{
			name: "setWeight above 100", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.Steps[0].SetWeight = ptr.To[int32](101) },
			want:   []string{"spec.strategy.canary.steps[0].setWeight: Invalid value: 101: must be between 0 and 100"},
		},
		{
			name: "setWeight below 0", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.Steps[0].SetWeight = ptr.To[int32](-1) },
			want:   []string{"spec.strategy.canary.steps[0].setWeight: Invalid value: -1"},
		},
		{
			name: "setWeight bounds are inclusive", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](0)}, {SetWeight: ptr.To[int32](100)}}
			},
		},
		{
			name: "good pause durations", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				for _, d := range []string{"30", "30s", "5m", "1h", "0"} {
					ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps,
						v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: intOrStr(d)}})
				}
			},
		},
		{
			name: "bad pause duration", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps[1].Pause.Duration = intOrStr("soon")
			},
			want: []string{"spec.strategy.canary.steps[1].pause.duration: Invalid value: \"soon\""},
		},
		{
			name: "negative pause duration", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				d := intstr.FromInt32(-10)
				ro.Spec.Strategy.Canary.Steps[1].Pause.Duration = &d
			},
			want: []string{"spec.strategy.canary.steps[1].pause.duration: Invalid value", "negative"},
		},
		{
			name: "step without action", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{})
			},
			want: []string{"spec.strategy.canary.steps[2]: Invalid value: \"none\": a step must set exactly one of"},
		},
		{
			name: "step with two actions", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.Steps[0].Pause = &v1alpha1.RolloutPause{} },
			want:   []string{"spec.strategy.canary.steps[0]: Invalid value: \"setWeight, pause\""},
		},
		{
			name: "setCanaryScale needs trafficRouting, as in Argo", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps,
					v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{MatchTrafficWeight: true}})
			},
			want: []string{"spec.strategy.canary.steps[2].setCanaryScale: Invalid value: \"setCanaryScale\": can only be used with trafficRouting"},
		},
		{
			name: "setCanaryScale out of range", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps,
					v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{Weight: ptr.To[int32](150), Replicas: ptr.To[int32](-1)}})
			},
			want: []string{
				"spec.strategy.canary.steps[2].setCanaryScale.weight: Invalid value: 150",
				"spec.strategy.canary.steps[2].setCanaryScale.replicas: Invalid value: -1",
				"spec.strategy.canary.steps[2].setCanaryScale: Invalid value: \"setCanaryScale\": can only be used with trafficRouting",
			},
		},
		{
			name: "unsupported step actions", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps,
					v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "t"}}}},
					v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{}}},
					v1alpha1.CanaryStep{Plugin: &v1alpha1.PluginStep{Name: "p"}},
					v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "h"}},
					v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}})
			},
			want: []string{
				"spec.strategy.canary.steps[4].plugin: Forbidden: not supported yet",
				"spec.strategy.canary.steps[5].setHeaderRoute: Invalid value: \"setHeaderRoute\": can only be used with trafficRouting",
				"spec.strategy.canary.steps[6].setMirrorRoute: Invalid value: \"setMirrorRoute\": can only be used with trafficRouting",
			},
		},
		{
			name: "an experiment step: baseline from stable, canary from canary, an analysis", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{
					Duration: "5m",
					Templates: []v1alpha1.RolloutExperimentTemplate{
						{Name: "baseline", SpecRef: v1alpha1.StableSpecRef, Replicas: ptr.To[int32](1)},
						{Name: "canary", SpecRef: v1alpha1.CanarySpecRef, Metadata: v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}}, Service: &v1alpha1.TemplateService{}},
					},
					Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{
						Name: "compare", TemplateName: "compare", RequiredForCompletion: true,
						Args: []v1alpha1.AnalysisRunArgument{{Name: "canary-hash", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Latest)}}},
					}},
				}})
			},
		},
		{
			name: "an experiment step without templates runs nothing, and is valid", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{}}})
			},
		},
		{
			name: "experiment step problems", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
					{Experiment: &v1alpha1.RolloutExperimentStep{}},
					{Experiment: &v1alpha1.RolloutExperimentStep{
						Duration: "ten minutes",
						Templates: []v1alpha1.RolloutExperimentTemplate{
							{Name: "baseline", SpecRef: "previous", Replicas: ptr.To[int32](-1), Weight: ptr.To[int32](10)},
							{Name: "baseline", SpecRef: v1alpha1.CanarySpecRef, Selector: &metav1.LabelSelector{}},
							{SpecRef: v1alpha1.CanarySpecRef, Service: &v1alpha1.TemplateService{Name: "Not_A_Name"}},
							{Name: "Upper", SpecRef: v1alpha1.StableSpecRef},
						},
						Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{
							{Name: "a", TemplateName: "t", Args: []v1alpha1.AnalysisRunArgument{{Value: "x"}}},
							{Name: "a"},
						},
						DryRun: []v1alpha1.DryRun{{}},
					}},
				}
			},
			want: []string{
				"spec.strategy.canary.steps[0].experiment.templates: Required value",
				"spec.strategy.canary.steps[1].experiment.templates[0].specRef: Unsupported value: \"previous\": supported values: \"stable\", \"canary\"",
				"spec.strategy.canary.steps[1].experiment.templates[0].replicas: Invalid value: -1",
				"spec.strategy.canary.steps[1].experiment.templates[0].weight: Invalid value: 10: " + validation.ExperimentWeightNeedsRoutingMessage,
				"spec.strategy.canary.steps[1].experiment.templates[1].name: Duplicate value: \"baseline\"",
				"spec.strategy.canary.steps[1].experiment.templates[1].selector: Invalid value",
				"spec.strategy.canary.steps[1].experiment.templates[2].name: Required value",
				"spec.strategy.canary.steps[1].experiment.templates[2].service.name: Invalid value: \"Not_A_Name\"",
				"spec.strategy.canary.steps[1].experiment.templates[3].name: Invalid value: \"Upper\"",
				"spec.strategy.canary.steps[1].experiment.duration: Invalid value: \"ten minutes\"",
				"spec.strategy.canary.steps[1].experiment.analyses[0].args[0].name: Required value",
				"spec.strategy.canary.steps[1].experiment.analyses[1].name: Duplicate value: \"a\"",
				"spec.strategy.canary.steps[1].experiment.analyses[1].templateName: Required value",
				"spec.strategy.canary.steps[1].experiment.dryRun[0].metricName: Required value",
			},
		},
		{
			name: "experiment weights need ALB, Istio or a plugin", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.CanaryService, c.StableService = "canary", "stable"
				c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "i"}}
				c.Steps = append(c.Steps, v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{
					{Name: "canary", SpecRef: v1alpha1.CanarySpecRef, Weight: ptr.To[int32](5)},
				}}})
			},
			want: []string{"spec.strategy.canary.steps[2].experiment.templates[0].weight: Invalid value: 5: " + validation.ExperimentWeightRouterMessage},
		},
		{
			name: "experiment weights with Istio", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.CanaryService, c.StableService = "canary", "stable"
				c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "vs"}}}
				c.Steps = append(c.Steps, v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{
					{Name: "baseline", SpecRef: v1alpha1.StableSpecRef, Weight: ptr.To[int32](5)},
					{Name: "canary", SpecRef: v1alpha1.CanarySpecRef, Weight: ptr.To[int32](5), Service: &v1alpha1.TemplateService{Name: "exp-canary"}},
				}}})
			},
		},
		{
			name: "unsupported canary fields", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.Analysis = &v1alpha1.RolloutAnalysisBackground{StartingStep: ptr.To[int32](3)}
				c.PingPong = &v1alpha1.PingPongSpec{PingService: "a", PongService: "b"}
				c.DynamicStableScale = true
			},
			want: []string{
				"spec.strategy.canary.analysis.startingStep: Invalid value: 3: must be between 0 and the number of steps (2)",
				"spec.strategy.canary.pingPong: Invalid value: \"pingPong\": can only be used with trafficRouting",
				"spec.strategy.canary.dynamicStableScale: Invalid value: true: can only be used with trafficRouting",
			},
		},
		{
			name: "a traffic-routed canary", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.CanaryService, c.StableService = "canary", "stable"
				c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{
					Nginx:            &v1alpha1.NginxTrafficRouting{StableIngress: "i"},
					MaxTrafficWeight: ptr.To[int32](1000),
				}
				c.DynamicStableScale = true
				c.Steps = []v1alpha1.CanaryStep{
					{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](2)}},
					{SetWeight: ptr.To[int32](50)}, {SetWeight: ptr.To[int32](500)}, {Pause: &v1alpha1.RolloutPause{}},
				}
			},
		},
		{
			name: "header and mirror route steps with Istio", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.CanaryService, c.StableService = "canary", "stable"
				c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{
					Istio:         &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "vs"}},
					ManagedRoutes: []v1alpha1.ManagedRoute{{Name: "h"}, {Name: "m"}},
				}
				c.Steps = append(c.Steps,
					v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "h", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}},
					v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m", Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{Prefix: "/"}}}}})
			},
		},
		{
			name: "traffic-routed canary: weight above maxTrafficWeight, same Services", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.CanaryService, c.StableService = "svc", "svc"
				c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "i"}}
				c.Steps[0].SetWeight = ptr.To[int32](150)
			},
			want: []string{
				"spec.strategy.canary.steps[0].setWeight: Invalid value: 150: must be between 0 and 100 (maxTrafficWeight)",
				"spec.strategy.canary.stableService: Invalid value: \"svc\": canaryService and stableService must name two different Services",
			},
		},
		{
			name: "routers Switchyard does not drive are refused by name", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.CanaryService, c.StableService = "canary", "stable"
				c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{SMI: raw(`{}`), Traefik: raw(`{}`)}
			},
			want: []string{
				"spec.strategy.canary.trafficRouting.smi: Forbidden: the SMI traffic router is not supported",
				"spec.strategy.canary.trafficRouting.traefik: Forbidden: the Traefik traffic router is not supported",
			},
		},
		{
			name: "replicaProgressThreshold", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.ReplicaProgressThreshold = &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePod, Value: 1}
			},
		},
		{
			name: "replicaProgressThreshold: percent above 100, unknown type", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.ReplicaProgressThreshold = &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePercentage, Value: 120}
			},
			want: []string{"spec.strategy.canary.replicaProgressThreshold.value: Invalid value: 120"},
		},
		{
			name: "scaleDownDelaySeconds needs trafficRouting", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](30) },
			want:   []string{"spec.strategy.canary.scaleDownDelaySeconds: Invalid value: 30: can only be used with trafficRouting"},
		},
		{
			// Argo accepts and ignores these on a basic canary; so do we
			// (Warnings reports them).
			name: "trafficRouting-only knobs are ignored on a basic canary", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				c := ro.Spec.Strategy.Canary
				c.AbortScaleDownDelaySeconds = ptr.To[int32](10)
				c.MinPodsPerReplicaSet = ptr.To[int32](2)
				c.ScaleDownDelayRevisionLimit = ptr.To[int32](1)
			},
		},
		{
			name: "supported canary services", seed: "canary",
			mutate: func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.CanaryService = "canary"
				ro.Spec.Strategy.Canary.StableService = "stable"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := "canary-rollout.yaml"
			if tt.seed == "bg" {
				seed = "bluegreen-rollout.yaml"
			}
			ro := loadSeed(t, seed)
			tt.mutate(ro)
			errs := validation.Rollout(ro)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if tt.want == nil {
				if len(errs) > 0 {
					t.Fatalf("want valid, got:\n  %s", strings.Join(msgs, "\n  "))
				}
				return
			}
			all := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no error contains %q; got:\n  %s", w, strings.Join(msgs, "\n  "))
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	ro := loadSeed(t, "canary-rollout.yaml")
	ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = ptr.To[int32](2)
	got := validation.Warnings(ro)
	if len(got) != 1 || !strings.Contains(got[0], "spec.strategy.canary.minPodsPerReplicaSet: ignored without trafficRouting") {
		t.Errorf("Warnings() = %q", got)
	}

	bg := loadSeed(t, "bluegreen-rollout.yaml")
	bg.Spec.Strategy.BlueGreen.AutoPromotionSeconds = 30
	got = validation.Warnings(bg)
	if len(got) != 1 || !strings.Contains(got[0], "spec.strategy.blueGreen.autoPromotionSeconds") {
		t.Errorf("Warnings() = %q", got)
	}
}
