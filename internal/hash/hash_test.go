package hash_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/hash"
)

const crdPath = "../../config/crd/bases/argoproj.io_rollouts.yaml"

// The golden values are the ReplicaSet hashes of the seed manifests once
// stored by the API server. The server applies the CRD's structural defaults
// first: both seeds declare container ports without a protocol, and the
// schema (generated from k8s.io/api markers) defaults it to TCP. The
// controller only ever sees that stored form, so that is what is pinned.
func TestPodTemplateHashGolden(t *testing.T) {
	tests := []struct {
		file string
		// asStored is the hash of the template as the controller reads it.
		asStored string
		// asWritten is the hash of the template decoded straight from the
		// file, without server defaulting; it differs, which is why offline
		// tools must not compare it with ReplicaSet labels.
		asWritten string
	}{
		{file: "../../examples/bluegreen-rollout.yaml", asStored: "75d5d67b94", asWritten: "7c8dd4c6b7"},
		{file: "../../examples/canary-rollout.yaml", asStored: "7c56df565d", asWritten: "76bc6bbdb7"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			doc := firstDocument(t, tt.file)

			var written v1alpha1.Rollout
			if err := yaml.UnmarshalStrict(doc, &written); err != nil {
				t.Fatalf("decode %s: %v", tt.file, err)
			}
			if got := hash.PodTemplateHash(&written.Spec.Template, nil); got != tt.asWritten {
				t.Errorf("hash of template as written = %s, want %s", got, tt.asWritten)
			}

			stored := asStoredByAPIServer(t, doc)
			if got := hash.PodTemplateHash(&stored.Spec.Template, nil); got != tt.asStored {
				t.Errorf("hash of template as stored = %s, want %s", got, tt.asStored)
			}
			for _, c := range stored.Spec.Template.Spec.Containers {
				for _, p := range c.Ports {
					if p.Protocol != corev1.ProtocolTCP {
						t.Errorf("port %s: protocol %q, want the CRD default TCP", p.Name, p.Protocol)
					}
				}
			}
		})
	}
}

func TestPodTemplateHashCollisionCount(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	base := hash.PodTemplateHash(tmpl, nil)

	seen := map[string]int32{}
	for _, n := range []int32{0, 1, 2, 255, 256} {
		got := hash.PodTemplateHash(tmpl, ptr.To(n))
		if got == base {
			t.Errorf("collisionCount %d: hash equals the hash without a count", n)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("collisionCount %d and %d give the same hash %s", prev, n, got)
		}
		seen[got] = n
		if again := hash.PodTemplateHash(tmpl, ptr.To(n)); again != got {
			t.Errorf("collisionCount %d: hash not deterministic: %s then %s", n, got, again)
		}
	}
}

// The hash depends on labels: a ReplicaSet template that already carries the
// pod-template-hash label does not hash like the Rollout's template. Callers
// must hash spec.template, as the package doc says.
func TestPodTemplateHashIncludesLabels(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	tmpl.Labels = map[string]string{"app": "x"}
	plain := hash.PodTemplateHash(tmpl, nil)
	tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = plain
	if hash.PodTemplateHash(tmpl, nil) == plain {
		t.Fatal("adding the hash label did not change the hash")
	}
}

func firstDocument(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitN(raw, []byte("\n---"), 2)[0]
}

// asStoredByAPIServer runs doc through what kube-apiserver does to a custom
// resource before storing it (drop non-nullable nulls, apply schema defaults,
// prune unknown fields) using the generated CRD, and decodes the result.
func asStoredByAPIServer(t *testing.T, doc []byte) *v1alpha1.Rollout {
	t.Helper()
	raw, err := os.ReadFile(crdPath)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatalf("decode CRD: %v", err)
	}
	var internal apiextensionsinternal.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		t.Fatalf("convert CRD schema: %v", err)
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatalf("CRD schema is not structural: %v", err)
	}

	var obj map[string]any
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		t.Fatal(err)
	}
	defaulting.PruneNonNullableNullsWithoutDefaults(obj, structural)
	defaulting.Default(obj, structural)
	if pruned := pruning.PruneWithOptions(obj, structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}); len(pruned) > 0 {
		t.Fatalf("API server would prune %v", pruned)
	}

	js, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var ro v1alpha1.Rollout
	if err := json.Unmarshal(js, &ro); err != nil {
		t.Fatal(err)
	}
	return &ro
}

// TestStepsHash pins status.currentStepHash to the values the reference
// computes (checked against its own function) and the JSON it hashes to
// Argo's encoding of the steps, which is what makes the two agree.
func TestStepsHash(t *testing.T) {
	tests := []struct {
		name     string
		steps    []v1alpha1.CanaryStep
		wantJSON string
		want     string
	}{
		{name: "steps omitted", steps: nil, wantJSON: `null`, want: "5ffbfbbd64"},
		{name: "steps: []", steps: []v1alpha1.CanaryStep{}, wantJSON: `[]`, want: "5f8cb5778f"},
		{
			name:     "the seed's steps",
			steps:    []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](30)}, {Pause: &v1alpha1.RolloutPause{}}},
			wantJSON: `[{"setWeight":30},{"pause":{}}]`,
		},
		{
			name: "an analysis step keeps the empty analysisRunMetadata and an explicit clusterScope",
			steps: []v1alpha1.CanaryStep{{Analysis: &v1alpha1.RolloutAnalysis{
				Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "t", ClusterScope: ptr.To(false)}},
			}}},
			wantJSON: `[{"analysis":{"templates":[{"templateName":"t","clusterScope":false}],"analysisRunMetadata":{}}}]`,
		},
		{
			// Argo's RolloutExperimentStep writes templates even when nil
			// and analysisRunMetadata always (a struct); each template
			// writes metadata always, for the same reason.
			name:     "an experiment step without templates keeps templates: null and the empty analysisRunMetadata",
			steps:    []v1alpha1.CanaryStep{{Experiment: &v1alpha1.RolloutExperimentStep{}}},
			wantJSON: `[{"experiment":{"templates":null,"analysisRunMetadata":{}}}]`,
		},
		{
			name: "an experiment step in the reference's field order",
			steps: []v1alpha1.CanaryStep{{Experiment: &v1alpha1.RolloutExperimentStep{
				Templates: []v1alpha1.RolloutExperimentTemplate{
					{Name: "baseline", SpecRef: v1alpha1.StableSpecRef},
					{
						Name: "canary", SpecRef: v1alpha1.CanarySpecRef, Replicas: ptr.To[int32](2),
						Metadata: v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}},
						Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "canary"}},
						Weight:   ptr.To[int32](5), Service: &v1alpha1.TemplateService{Name: "canary-svc"},
					},
				},
				Duration: "5m",
				Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{
					Name: "compare", TemplateName: "mann-whitney", ClusterScope: true,
					Args:                  []v1alpha1.AnalysisRunArgument{{Name: "hash", Value: "{{templates.baseline.podTemplateHash}}"}},
					RequiredForCompletion: true,
				}},
				DryRun:              []v1alpha1.DryRun{{MetricName: ".*"}},
				AnalysisRunMetadata: v1alpha1.AnalysisRunMetadata{Labels: map[string]string{"team": "web"}},
			}}},
			wantJSON: `[{"experiment":{"templates":[{"name":"baseline","specRef":"stable","metadata":{}},` +
				`{"name":"canary","specRef":"canary","replicas":2,"metadata":{"labels":{"role":"canary"}},"selector":{"matchLabels":{"role":"canary"}},"weight":5,"service":{"name":"canary-svc"}}],` +
				`"duration":"5m","analyses":[{"name":"compare","templateName":"mann-whitney","clusterScope":true,"args":[{"name":"hash","value":"{{templates.baseline.podTemplateHash}}"}],"requiredForCompletion":true}],` +
				`"dryRun":[{"metricName":".*"}],"analysisRunMetadata":{"labels":{"team":"web"}}}}]`,
		},
		{
			name: "header and mirror routes in the reference's field order",
			steps: []v1alpha1.CanaryStep{
				{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "h", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "x", HeaderValue: &v1alpha1.StringMatch{Exact: "1"}}}}},
				{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m", Percentage: ptr.To[int32](50)}},
			},
			wantJSON: `[{"setHeaderRoute":{"name":"h","match":[{"headerName":"x","headerValue":{"exact":"1"}}]}},{"setMirrorRoute":{"name":"m","percentage":50}}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.steps)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantJSON {
				t.Errorf("steps JSON = %s, want %s", b, tt.wantJSON)
			}
			got := hash.StepsHash(tt.steps)
			if tt.want != "" && got != tt.want {
				t.Errorf("StepsHash = %q, want %q", got, tt.want)
			}
		})
	}
	a := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](30)}}
	b := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](40)}}
	if hash.StepsHash(a) == hash.StepsHash(b) {
		t.Error("different steps, same hash")
	}
}
