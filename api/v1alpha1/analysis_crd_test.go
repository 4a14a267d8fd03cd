package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

var analysisCRDs = map[string]struct {
	path    string
	short   string
	scope   apiextensionsv1.ResourceScope
	columns []string
	newObj  func() any
}{
	"AnalysisTemplate": {
		"../../config/crd/bases/argoproj.io_analysistemplates.yaml", "at", apiextensionsv1.NamespaceScoped,
		[]string{"Age=.metadata.creationTimestamp"}, func() any { return &v1alpha1.AnalysisTemplate{} },
	},
	"ClusterAnalysisTemplate": {
		"../../config/crd/bases/argoproj.io_clusteranalysistemplates.yaml", "cat", apiextensionsv1.ClusterScoped,
		[]string{"Age=.metadata.creationTimestamp"}, func() any { return &v1alpha1.ClusterAnalysisTemplate{} },
	},
	"AnalysisRun": {
		"../../config/crd/bases/argoproj.io_analysisruns.yaml", "ar", apiextensionsv1.NamespaceScoped,
		[]string{"Status=.status.phase", "Age=.metadata.creationTimestamp"}, func() any { return &v1alpha1.AnalysisRun{} },
	},
	"Experiment": {
		"../../config/crd/bases/argoproj.io_experiments.yaml", "exp", apiextensionsv1.NamespaceScoped,
		[]string{"Status=.status.phase", "Age=.metadata.creationTimestamp"}, func() any { return &v1alpha1.Experiment{} },
	},
}

func TestAnalysisCRDShape(t *testing.T) {
	for kind, want := range analysisCRDs {
		t.Run(kind, func(t *testing.T) {
			crd, _ := loadCRDAt(t, want.path)
			if crd.Spec.Names.Kind != kind || crd.Spec.Scope != want.scope {
				t.Errorf("kind %q scope %q", crd.Spec.Names.Kind, crd.Spec.Scope)
			}
			if got := crd.Spec.Names.ShortNames; !reflect.DeepEqual(got, []string{want.short}) {
				t.Errorf("short names %v, want [%s]", got, want.short)
			}
			v := crd.Spec.Versions[0]
			// As in Argo: no status subresource, so status is written (and
			// `{"status":null}` patched) through the main resource.
			if v.Subresources != nil && (v.Subresources.Status != nil || v.Subresources.Scale != nil) {
				t.Errorf("want no subresources, got %+v", v.Subresources)
			}
			var cols []string
			for _, c := range v.AdditionalPrinterColumns {
				cols = append(cols, c.Name+"="+c.JSONPath)
			}
			if !reflect.DeepEqual(cols, want.columns) {
				t.Errorf("printer columns %v, want %v", cols, want.columns)
			}
			js, err := json.Marshal(crd)
			if err != nil {
				t.Fatal(err)
			}
			if len(js) >= clientSideApplyLimit {
				t.Errorf("CRD is %d bytes as JSON; client-side kubectl apply needs < %d", len(js), clientSideApplyLimit)
			}
		})
	}
}

// TestAnalysisManifestsSurviveAPIServer: what users write for Argo (every
// provider, raw or typed) is neither pruned by the CRDs nor changed by a
// round trip through the Go types.
func TestAnalysisManifestsSurviveAPIServer(t *testing.T) {
	raw, err := os.ReadFile("testdata/argo-analysis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range bytes.Split(raw, []byte("\n---")) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		want, ok := analysisCRDs[meta.Kind]
		if !ok {
			t.Fatalf("document %d: unexpected kind %q", i, meta.Kind)
		}
		t.Run(meta.Kind, func(t *testing.T) {
			_, structural := loadCRDAt(t, want.path)
			var obj map[string]any
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Fatal(err)
			}
			defaulting.PruneNonNullableNullsWithoutDefaults(obj, structural)
			defaulting.Default(obj, structural)
			opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
			if pruned := pruning.PruneWithOptions(obj, structural, true, opts); len(pruned) > 0 {
				t.Fatalf("API server would prune %v", pruned)
			}
			stored, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			typed := want.newObj()
			if err := yaml.UnmarshalStrict(stored, typed); err != nil {
				t.Fatalf("Go types reject the stored object: %v", err)
			}
			written, err := json.Marshal(typed)
			if err != nil {
				t.Fatal(err)
			}
			var before, after map[string]any
			if err := json.Unmarshal(stored, &before); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(written, &after); err != nil {
				t.Fatal(err)
			}
			for _, tmpl := range experimentTemplates(before) {
				if meta, ok := nested(tmpl, "template", "metadata").(map[string]any); ok {
					if v, ok := meta["creationTimestamp"]; ok && v == nil {
						delete(meta, "creationTimestamp")
					}
				}
			}
			for _, m := range metrics(before) {
				if tmpl, ok := nested(m, "provider", "job", "spec", "template", "metadata").(map[string]any); ok {
					if v, ok := tmpl["creationTimestamp"]; ok && v == nil {
						delete(tmpl, "creationTimestamp")
					}
				}
			}
			normalizeQuantities(before)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("round trip through Go types changed the object (-stored +written back):\n%s", diff)
			}
		})
	}
}

func experimentTemplates(obj map[string]any) []map[string]any {
	list, _ := nested(obj, "spec", "templates").([]any)
	var out []map[string]any
	for _, t := range list {
		if tm, ok := t.(map[string]any); ok {
			out = append(out, tm)
		}
	}
	return out
}

func metrics(obj map[string]any) []map[string]any {
	list, _ := nested(obj, "spec", "metrics").([]any)
	var out []map[string]any
	for _, m := range list {
		if mm, ok := m.(map[string]any); ok {
			out = append(out, mm)
		}
	}
	return out
}
