package analysis

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestSubstitute(t *testing.T) {
	m := v1alpha1.Metric{
		Name:             "rate",
		Count:            ptr.To(intstr.FromString("{{args.count}}")),
		FailureLimit:     ptr.To(intstr.FromString("{{ args.limit }}")),
		SuccessCondition: "result[0] >= {{args.threshold}}",
		Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
			URL:     "http://{{args.host}}/q?svc={{args.svc}}",
			Headers: []v1alpha1.WebMetricHeader{{Key: "X-Note", Value: "{{args.note}}"}},
			Body:    `echo {{ not an arg }}`,
		}},
	}
	got, err := substitute(m, map[string]string{
		"count": "3", "limit": "1", "threshold": "0.95", "host": "api", "svc": "checkout",
		"note": "quote \" backslash \\ newline \n <tag> \x01",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Count.String() != "3" || got.FailureLimit.String() != "1" || got.SuccessCondition != "result[0] >= 0.95" {
		t.Errorf("fields: count %v limit %v condition %q", got.Count, got.FailureLimit, got.SuccessCondition)
	}
	if got.Provider.Web.URL != "http://api/q?svc=checkout" {
		t.Errorf("url %q", got.Provider.Web.URL)
	}
	if v := got.Provider.Web.Headers[0].Value; v != "quote \" backslash \\ newline \n <tag> \x01" {
		t.Errorf("value is not carried verbatim: %q", v)
	}
	if got.Provider.Web.Body != "echo {{ not an arg }}" {
		t.Errorf("braces that are not args must be left alone: %q", got.Provider.Web.Body)
	}
	if r, err := rulesOf(&got); err != nil || r.count != 3 || r.failureLimit != 1 {
		t.Errorf("rules after substitution: %+v %v", r, err)
	}

	_, err = substitute(v1alpha1.Metric{Name: "x", SuccessCondition: "{{args.missing}} > 1 && {{args.other}}"}, map[string]string{})
	if err == nil || err.Error() != "failed to resolve {{args.missing}}, {{args.other}}" {
		t.Errorf("unknown args: %v", err)
	}
}

func TestFieldPathValue(t *testing.T) {
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{
			Name: "shop", Namespace: "prod", UID: "u-1",
			Labels:      map[string]string{"team": "pay", "app.kubernetes.io/name": "shop"},
			Annotations: map[string]string{"owner": "ops"},
		},
		Spec: v1alpha1.RolloutSpec{Replicas: ptr.To[int32](4), Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](20)}},
		}}},
	}
	ro.Spec.Template.Labels = map[string]string{"version": "v2"}
	tests := []struct {
		path, want, wantErr string
	}{
		{path: "metadata.name", want: "shop"},
		{path: "metadata.namespace", want: "prod"},
		{path: "metadata.uid", want: "u-1"},
		{path: "metadata.labels['team']", want: "pay"},
		{path: "metadata.labels['app.kubernetes.io/name']", want: "shop"},
		{path: "metadata.annotations['owner']", want: "ops"},
		{path: "metadata.labels['absent']", want: ""},
		{path: "metadata.labels", want: "app.kubernetes.io/name=\"shop\"\nteam=\"pay\""},
		{path: "metadata.generation", wantErr: "metadata.generation: Analyses arguments must refer to valid object metadata supported by downwardAPI"},
		{path: "spec.replicas", want: "4"},
		{path: "spec.template.metadata.labels.version", want: "v2"},
		{path: "spec.strategy.canary.steps[0].setWeight", want: "20"},
		{path: "spec.strategy.canary.steps[3].setWeight", wantErr: `invalid path spec.strategy.canary.steps[3].setWeight: bad index "3"`},
		{path: "spec.strategy.blueGreen.activeService", wantErr: `invalid path spec.strategy.blueGreen.activeService: "blueGreen" not found`},
		{path: "spec.strategy.canary", wantErr: "path spec.strategy.canary must terminate in a primitive value"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := FieldPathValue(ro, tt.path)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestResolveRunArgs(t *testing.T) {
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "r1", Labels: map[string]string{"rollouts-pod-template-hash": "abc"}}}
	run.Spec.Args = []v1alpha1.Argument{
		{Name: "plain", Value: ptr.To("v")},
		{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
		{Name: "hash", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.labels['rollouts-pod-template-hash']"}}},
	}
	got, err := resolveRunArgs(run)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"plain": "v", "token": secretPlaceholder, "hash": "abc"}, got.values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if got.secretRefs["token"] != (v1alpha1.SecretKeyRef{Name: "s", Key: "k"}) {
		t.Errorf("secret refs %v", got.secretRefs)
	}
	for _, tt := range []struct {
		arg     v1alpha1.Argument
		wantErr string
	}{
		{v1alpha1.Argument{Name: "x"}, `argument "x" was not supplied`},
		{v1alpha1.Argument{Name: "h", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Stable)}}, `argument "h": podTemplateHashValue is only resolved when a Rollout creates the run`},
		{v1alpha1.Argument{Name: "f", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "spec.nothing"}}}, `argument "f": invalid path spec.nothing: "nothing" not found`},
	} {
		run.Spec.Args = []v1alpha1.Argument{tt.arg}
		if _, err := resolveRunArgs(run); err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: error %v, want %q", tt.arg.Name, err, tt.wantErr)
		}
	}
}

func TestResolveRolloutArgs(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "pay"}}}
	args := []v1alpha1.AnalysisRunArgument{
		{Name: "svc", Value: "shop-canary"},
		{Name: "empty"},
		{Name: "stable", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Stable)}},
		{Name: "latest", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Latest)}},
		{Name: "team", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.labels['team']"}}},
		{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
	}
	got, err := ResolveRolloutArgs(args, ArgSources{Object: ro, StableHash: "old", LatestHash: "new"})
	if err != nil {
		t.Fatal(err)
	}
	want := []v1alpha1.Argument{
		{Name: "svc", Value: ptr.To("shop-canary")},
		{Name: "empty", Value: ptr.To("")},
		{Name: "stable", Value: ptr.To("old")},
		{Name: "latest", Value: ptr.To("new")},
		{Name: "team", Value: ptr.To("pay")},
		{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = ResolveRolloutArgs([]v1alpha1.AnalysisRunArgument{{Name: "m", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.finalizers"}}}}, ArgSources{Object: ro})
	if !IsSpecError(err) || !strings.Contains(err.Error(), "Analyses arguments must refer to valid object metadata supported by downwardAPI") {
		t.Errorf("bad metadata path: %v", err)
	}
}

// templates is an in-memory TemplateGetter.
type templates struct {
	ns      map[string]*v1alpha1.AnalysisTemplate
	cluster map[string]*v1alpha1.ClusterAnalysisTemplate
}

func (g templates) AnalysisTemplate(_ context.Context, _, name string) (*v1alpha1.AnalysisTemplate, error) {
	if t, ok := g.ns[name]; ok {
		return t, nil
	}
	return nil, &TemplateNotFoundError{Kind: "AnalysisTemplate", Name: name}
}

func (g templates) ClusterAnalysisTemplate(_ context.Context, name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	if t, ok := g.cluster[name]; ok {
		return t, nil
	}
	return nil, &TemplateNotFoundError{Kind: "ClusterAnalysisTemplate", Name: name}
}

func webMetric(name string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://x/{{args.svc}}"}}}
}

func TestBuildRun(t *testing.T) {
	at := func(name string, spec v1alpha1.AnalysisTemplateSpec) *v1alpha1.AnalysisTemplate {
		return &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	}
	get := templates{
		ns: map[string]*v1alpha1.AnalysisTemplate{
			"rate": at("rate", v1alpha1.AnalysisTemplateSpec{
				Metrics: []v1alpha1.Metric{webMetric("success-rate")},
				Args:    []v1alpha1.Argument{{Name: "svc"}, {Name: "threshold", Value: ptr.To("0.95")}},
				DryRun:  []v1alpha1.DryRun{{MetricName: "latency"}},
			}),
			"latency": at("latency", v1alpha1.AnalysisTemplateSpec{
				Metrics:              []v1alpha1.Metric{webMetric("latency")},
				Args:                 []v1alpha1.Argument{{Name: "svc"}, {Name: "threshold", Value: ptr.To("0.95")}},
				MeasurementRetention: []v1alpha1.MeasurementRetention{{MetricName: "latency", Limit: 3}},
			}),
			"umbrella": at("umbrella", v1alpha1.AnalysisTemplateSpec{
				Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "rate"}, {TemplateName: "latency"}, {TemplateName: "rate"}, {TemplateName: "global", ClusterScope: true}},
			}),
			"dup": at("dup", v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{webMetric("latency")}}),
			"conflict": at("conflict", v1alpha1.AnalysisTemplateSpec{
				Metrics: []v1alpha1.Metric{webMetric("other")}, Args: []v1alpha1.Argument{{Name: "threshold", Value: ptr.To("0.5")}},
			}),
			"dryrun-dup": at("dryrun-dup", v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{webMetric("x")}, DryRun: []v1alpha1.DryRun{{MetricName: "latency"}}}),
			"loop-a":     at("loop-a", v1alpha1.AnalysisTemplateSpec{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "loop-b"}}}),
			"loop-b":     at("loop-b", v1alpha1.AnalysisTemplateSpec{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "loop-a"}}}),
			"empty":      at("empty", v1alpha1.AnalysisTemplateSpec{}),
		},
		cluster: map[string]*v1alpha1.ClusterAnalysisTemplate{
			"global": {ObjectMeta: metav1.ObjectMeta{Name: "global"}, Spec: v1alpha1.AnalysisTemplateSpec{
				Metrics: []v1alpha1.Metric{webMetric("up")},
				Args:    []v1alpha1.Argument{{Name: "svc"}},
			}},
		},
	}
	refs := func(names ...string) TemplateRefs {
		var out TemplateRefs
		for _, n := range names {
			out = append(out, v1alpha1.AnalysisTemplateRef{TemplateName: n})
		}
		return out
	}
	svc := []v1alpha1.Argument{{Name: "svc", Value: ptr.To("checkout")}, {Name: "unknown", Value: ptr.To("dropped")}}

	t.Run("nested templates merge in order, each once", func(t *testing.T) {
		spec, err := BuildRun(context.Background(), get, RunRequest{
			Namespace: "ns", Templates: refs("umbrella"), Args: svc,
			DryRun: []v1alpha1.DryRun{{MetricName: "up"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range spec.Metrics {
			names = append(names, m.Name)
		}
		if diff := cmp.Diff([]string{"success-rate", "latency", "up"}, names); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
		wantArgs := []v1alpha1.Argument{{Name: "svc", Value: ptr.To("checkout")}, {Name: "threshold", Value: ptr.To("0.95")}}
		if diff := cmp.Diff(wantArgs, spec.Args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]v1alpha1.DryRun{{MetricName: "latency"}, {MetricName: "up"}}, spec.DryRun); diff != "" {
			t.Errorf("dryRun (-want +got):\n%s", diff)
		}
		if len(spec.MeasurementRetention) != 1 || spec.MeasurementRetention[0].Limit != 3 {
			t.Errorf("retention %v", spec.MeasurementRetention)
		}
		// The built spec is a valid run once args are substituted.
		if errs := ValidateRunSpec(spec.Metrics, spec.DryRun, spec.MeasurementRetention, nil); len(errs) > 0 {
			t.Errorf("built run is invalid: %v", errs)
		}
	})
	t.Run("a caller's valueFrom replaces a template value", func(t *testing.T) {
		spec, err := BuildRun(context.Background(), get, RunRequest{Templates: refs("rate"), Args: []v1alpha1.Argument{
			{Name: "svc", Value: ptr.To("a")},
			{Name: "threshold", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if a := spec.Args[1]; a.Value != nil || a.ValueFrom == nil || a.ValueFrom.SecretKeyRef.Name != "s" {
			t.Errorf("threshold %+v", a)
		}
	})

	t.Run("template fieldRef and podTemplateHashValue args read the owner", func(t *testing.T) {
		owned := templates{ns: map[string]*v1alpha1.AnalysisTemplate{"t": at("t", v1alpha1.AnalysisTemplateSpec{
			Metrics: []v1alpha1.Metric{webMetric("m")},
			Args: []v1alpha1.Argument{
				{Name: "svc", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}}},
				{Name: "hash", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Latest)}},
				{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
			},
		})}}
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
		spec, err := BuildRun(context.Background(), owned, RunRequest{
			Templates: refs("t"), Sources: &ArgSources{Object: ro, StableHash: "s1", LatestHash: "l1"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []v1alpha1.Argument{
			{Name: "svc", Value: ptr.To("shop")},
			{Name: "hash", Value: ptr.To("l1")},
			{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
		}
		if diff := cmp.Diff(want, spec.Args); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	for _, tt := range []struct {
		name    string
		req     RunRequest
		wantErr string
		spec    bool
	}{
		{"missing template", RunRequest{Templates: refs("nope"), Args: svc}, "AnalysisTemplate 'nope' not found", true},
		{"missing cluster template", RunRequest{Templates: TemplateRefs{{TemplateName: "nope", ClusterScope: true}}}, "ClusterAnalysisTemplate 'nope' not found", true},
		{"missing arg", RunRequest{Templates: refs("rate")}, "args.svc was not resolved", true},
		{"duplicate metric names", RunRequest{Templates: refs("latency", "dup"), Args: svc}, "two metrics have the same name 'latency'", true},
		{"conflicting arg values", RunRequest{Templates: refs("rate", "conflict"), Args: svc}, "Argument `threshold` specified multiple times with different values: '0.95', '0.5'", true},
		{"duplicate dry-run rules", RunRequest{Templates: refs("rate", "dryrun-dup"), Args: svc}, "two Dry-Run metric rules have the same name 'latency'", true},
		{"duplicate caller retention", RunRequest{Templates: refs("latency"), Args: svc, MeasurementRetention: []v1alpha1.MeasurementRetention{{MetricName: "latency", Limit: 1}}}, "two Measurement Retention metric rules have the same name 'latency'", true},
		{"a template cycle", RunRequest{Templates: refs("loop-a")}, `template "loop-a" references itself through [loop-a loop-b loop-a]`, true},
		{"no metrics", RunRequest{Templates: refs("empty")}, "no metrics specified", true},
		{"no templates", RunRequest{}, "no templates referenced", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildRun(context.Background(), get, tt.req)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if IsSpecError(err) != tt.spec {
				t.Errorf("IsSpecError = %v", !tt.spec)
			}
		})
	}
}

func TestValidateRunSpec(t *testing.T) {
	metric := func(f func(*v1alpha1.Metric)) v1alpha1.Metric {
		m := webMetric("m")
		m.Provider.Web.URL = "http://x"
		f(&m)
		return m
	}
	i := func(v int32) *intstr.IntOrString { return ptr.To(intstr.FromInt32(v)) }
	tests := []struct {
		name      string
		metrics   []v1alpha1.Metric
		dryRun    []v1alpha1.DryRun
		retention []v1alpha1.MeasurementRetention
		want      string // the run's message; "" = valid
	}{
		{name: "valid", metrics: []v1alpha1.Metric{metric(func(*v1alpha1.Metric) {})}},
		{name: "no metrics", want: "Analysis spec invalid: no metrics specified"},
		{name: "duplicate", metrics: []v1alpha1.Metric{metric(func(*v1alpha1.Metric) {}), metric(func(*v1alpha1.Metric) {})}, want: "Analysis spec invalid: metrics[1]: duplicate name 'm'"},
		{name: "no provider", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.Provider = v1alpha1.MetricProvider{} })}, want: "Analysis spec invalid: metrics[0]: no provider specified"},
		{name: "two providers", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.Provider.Prometheus = &v1alpha1.PrometheusMetric{} })}, want: "Analysis spec invalid: metrics[0]: multiple providers specified"},
		{name: "unsupported provider", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) {
			m.Provider = v1alpha1.MetricProvider{Datadog: nil, NewRelic: ptrJSON(`{"query":"x"}`)}
		})}, want: "Analysis spec invalid: metrics[0]: provider newRelic is not supported by Switchyard (supported: prometheus, web, job)"},
		{name: "bad condition", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.SuccessCondition = "result >= " })}, want: `Analysis spec invalid: metrics[0]: successCondition "result >= " does not parse: unexpected token EOF (1:10)`},
		{name: "negative success limit", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.ConsecutiveSuccessLimit = i(-1) })}, want: "Analysis spec invalid: metrics[0]: consecutiveSuccessLimit must be >= 0"},
		{name: "failureLimit -2", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.FailureLimit = i(-2) })}, want: "Analysis spec invalid: metrics[0]: failureLimit must be >= 0, or -1 to be disabled"},
		{name: "both disabled", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.FailureLimit = i(-1) })}, want: "Analysis spec invalid: metrics[0]: failureLimit and consecutiveSuccessLimit cannot both be disabled"},
		{name: "negative inconclusiveLimit", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.InconclusiveLimit = i(-1) })}, want: "Analysis spec invalid: metrics[0]: inconclusiveLimit must be >= 0"},
		{name: "negative consecutiveErrorLimit", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.ConsecutiveErrorLimit = i(-1) })}, want: "Analysis spec invalid: metrics[0]: consecutiveErrorLimit must be >= 0"},
		{name: "count below limits", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) {
			m.Count, m.FailureLimit, m.ConsecutiveSuccessLimit, m.Interval = i(3), i(2), i(2), "1m"
		})}, want: "Analysis spec invalid: metrics[0]: count (3) must be >= failureLimit + consecutiveSuccessLimit (2 + 2) if both >= 0"},
		{name: "count below success limit", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) {
			m.Count, m.FailureLimit, m.ConsecutiveSuccessLimit, m.Interval = i(2), i(-1), i(3), "1m"
		})}, want: "Analysis spec invalid: metrics[0]: count must be >= consecutiveSuccessLimit"},
		{name: "count below inconclusiveLimit", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) {
			m.Count, m.InconclusiveLimit, m.Interval = i(2), i(3), "1m"
		})}, want: "Analysis spec invalid: metrics[0]: count must be >= inconclusiveLimit"},
		{name: "count without interval", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.Count = i(2) })}, want: "Analysis spec invalid: metrics[0]: interval must be specified when count > 1"},
		{name: "bad interval", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.Interval = "soon" })}, want: `Analysis spec invalid: metrics[0]: invalid interval string: time: invalid duration "soon"`},
		{name: "dryRun matches nothing", metrics: []v1alpha1.Metric{metric(func(*v1alpha1.Metric) {})}, dryRun: []v1alpha1.DryRun{{MetricName: "other"}}, want: "Analysis spec invalid: dryRun[0].metricName: matches no metric"},
		{name: "dryRun is a regexp, unanchored", metrics: []v1alpha1.Metric{metric(func(m *v1alpha1.Metric) { m.Name = "error-rate" })}, dryRun: []v1alpha1.DryRun{{MetricName: "rate"}}},
		{name: "dryRun star", metrics: []v1alpha1.Metric{metric(func(*v1alpha1.Metric) {})}, dryRun: []v1alpha1.DryRun{{MetricName: "*"}}, want: "not a regular expression"},
		{name: "retention matches nothing", metrics: []v1alpha1.Metric{metric(func(*v1alpha1.Metric) {})}, retention: []v1alpha1.MeasurementRetention{{MetricName: "x", Limit: 2}}, want: "measurementRetention[0].metricName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateRunSpec(tt.metrics, tt.dryRun, tt.retention, nil)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected %v", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("no error, want %q", tt.want)
			}
			got := specMessage(errs)
			if got != tt.want && !strings.Contains(got, tt.want) {
				t.Errorf("message %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateTemplateSpec(t *testing.T) {
	spec := &v1alpha1.AnalysisTemplateSpec{
		Metrics: []v1alpha1.Metric{{
			Name: "rate", Interval: "{{args.interval}}", Count: ptr.To(intstr.FromString("{{args.count}}")),
			SuccessCondition: "result >= {{args.threshold}}",
			Provider:         v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: "up"}},
		}, {
			Name: "bad", FailureCondition: "result[", Provider: v1alpha1.MetricProvider{Kayenta: ptrJSON(`{}`)},
		}},
		DryRun:    []v1alpha1.DryRun{{MetricName: "anything"}},
		Templates: []v1alpha1.AnalysisTemplateRef{{}},
	}
	errs := ValidateTemplateSpec(spec, field.NewPath("spec"))
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`spec.metrics[1]: Invalid value: "bad": provider kayenta is not supported by Switchyard (supported: prometheus, web, job)`,
		`spec.metrics[1]: Invalid value: "bad": failureCondition "result[" does not parse: unexpected token EOF (1:7)`,
		`spec.templates[0].templateName: Required value: templateName is required`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func ptrJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }
