package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

const crdPath = "../../config/crd/bases/argoproj.io_rollouts.yaml"

// clientSideApplyLimit is the size limit of the last-applied-configuration
// annotation that `kubectl apply` (client-side) writes: all annotations of an
// object together must stay under 256 KiB.
const clientSideApplyLimit = 262144

func loadCRD(t *testing.T) (*apiextensionsv1.CustomResourceDefinition, *structuralschema.Structural) {
	t.Helper()
	return loadCRDAt(t, crdPath)
}

func loadCRDAt(t *testing.T, path string) (*apiextensionsv1.CustomResourceDefinition, *structuralschema.Structural) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		t.Fatalf("decode CRD: %v", err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("want one version, got %d", len(crd.Spec.Versions))
	}
	var internal apiextensionsinternal.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		t.Fatal(err)
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatalf("schema is not structural: %v", err)
	}
	if errs := structuralschema.ValidateStructural(field.NewPath("openAPIV3Schema"), s); len(errs) > 0 {
		t.Fatalf("schema is not structural: %v", errs.ToAggregate())
	}
	return &crd, s
}

func TestCRDShape(t *testing.T) {
	crd, _ := loadCRD(t)
	if crd.Name != "rollouts.argoproj.io" || crd.Spec.Group != "argoproj.io" || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Errorf("CRD identity: name %q group %q scope %q", crd.Name, crd.Spec.Group, crd.Spec.Scope)
	}
	if got := crd.Spec.Names.ShortNames; !reflect.DeepEqual(got, []string{"ro"}) {
		t.Errorf("short names %v, want [ro]", got)
	}
	v := crd.Spec.Versions[0]
	if v.Name != "v1alpha1" || !v.Served || !v.Storage {
		t.Errorf("version %q served=%v storage=%v", v.Name, v.Served, v.Storage)
	}
	sub := v.Subresources
	if sub == nil || sub.Status == nil || sub.Scale == nil {
		t.Fatalf("want status and scale subresources, got %+v", sub)
	}
	if sub.Scale.SpecReplicasPath != ".spec.replicas" || sub.Scale.StatusReplicasPath != ".status.HPAReplicas" ||
		sub.Scale.LabelSelectorPath == nil || *sub.Scale.LabelSelectorPath != ".status.selector" {
		t.Errorf("scale subresource %+v", sub.Scale)
	}
	var cols []string
	for _, c := range v.AdditionalPrinterColumns {
		cols = append(cols, c.Name+"="+c.JSONPath)
	}
	wantCols := []string{
		"Desired=.spec.replicas", "Current=.status.replicas", "Up-to-date=.status.updatedReplicas",
		"Available=.status.availableReplicas", "Age=.metadata.creationTimestamp",
	}
	if !reflect.DeepEqual(cols, wantCols) {
		t.Errorf("printer columns %v, want %v", cols, wantCols)
	}

	// kubectl stores the object as compact JSON in the annotation.
	js, err := json.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) >= clientSideApplyLimit {
		t.Errorf("CRD is %d bytes as JSON; client-side kubectl apply needs < %d", len(js), clientSideApplyLimit)
	}
}

// TestManifestsSurviveAPIServer runs manifests through what the API server
// does to a custom resource (drop nulls, default, prune) and checks nothing
// is pruned, then that the Go types decode strictly and write back the same
// JSON, so fields are neither lost by the server nor by the controller.
func TestManifestsSurviveAPIServer(t *testing.T) {
	_, structural := loadCRD(t)
	files := []string{
		"../../examples/bluegreen-rollout.yaml",
		"../../examples/canary-rollout.yaml",
		"testdata/argo-full-canary.yaml",
		"testdata/argo-full-bluegreen.yaml",
	}
	for _, file := range files {
		for i, doc := range rolloutDocuments(t, file) {
			t.Run(filepath.Base(file)+"#"+string(rune('0'+i)), func(t *testing.T) {
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

				var ro v1alpha1.Rollout
				if err := yaml.UnmarshalStrict(stored, &ro); err != nil {
					t.Fatalf("Go types reject the stored object: %v", err)
				}
				written, err := json.Marshal(&ro)
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
				// A null creationTimestamp is preserved by the server (the
				// template metadata keeps unknown fields) but Go omits the
				// zero time; both mean "unset".
				if tmpl, ok := nested(before, "spec", "template", "metadata").(map[string]any); ok {
					if v, ok := tmpl["creationTimestamp"]; ok && v == nil {
						delete(tmpl, "creationTimestamp")
					}
				}
				normalizeQuantities(before)
				dropEmptyAnalysisRunMetadata(after)
				dropEmptyExperimentTemplateMetadata(after)
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("round trip through Go types changed the object (-stored +written back):\n%s", diff)
				}
			})
		}
	}
}

// quantityPattern is the pattern the CRD gives every resource.Quantity.
const quantityPattern = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`

// TestQuantitySchemas checks that hack/crdpatch found every quantity: the
// CRD has exactly as many number-or-string quantity schemas as the Go
// types have resource.Quantity fields, and no integer-or-string one is
// left (it would refuse `cpu: 0.001`). crdtest checks what these schemas
// accept on a real API server.
func TestQuantitySchemas(t *testing.T) {
	crd, _ := loadCRD(t)
	var numberOrString, intOrString []string
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		if s == nil {
			return
		}
		if s.Pattern == quantityPattern {
			switch {
			case s.XIntOrString:
				intOrString = append(intOrString, path)
			case s.Type == "" && s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields:
				numberOrString = append(numberOrString, path)
			}
		}
		for name, p := range s.Properties {
			walk(path+"."+name, &p)
		}
		if s.Items != nil {
			walk(path+"[]", s.Items.Schema)
		}
		if s.AdditionalProperties != nil {
			walk(path+"{}", s.AdditionalProperties.Schema)
		}
	}
	walk("", crd.Spec.Versions[0].Schema.OpenAPIV3Schema)
	if len(intOrString) > 0 {
		t.Errorf("quantities that refuse floats: %v", intOrString)
	}
	want := quantityFields(reflect.TypeFor[v1alpha1.Rollout](), nil)
	if len(numberOrString) != want {
		sort.Strings(numberOrString)
		t.Errorf("%d number-or-string quantity schemas, want %d (one per resource.Quantity in the Go types):\n%s",
			len(numberOrString), want, strings.Join(numberOrString, "\n"))
	}
}

// quantityFields counts the places in t's JSON form that hold a
// resource.Quantity (a ResourceList counts once: its values share a schema).
func quantityFields(t reflect.Type, seen []reflect.Type) int {
	quantity := reflect.TypeFor[resource.Quantity]()
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t == quantity {
		return 1
	}
	if t.Kind() == reflect.Map {
		return quantityFields(t.Elem(), seen)
	}
	if t.Kind() != reflect.Struct || slices.Contains(seen, t) {
		return 0
	}
	seen = append(seen, t)
	n := 0
	for f := range t.Fields() {
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		n += quantityFields(f.Type, seen)
	}
	return n
}

func TestStatusQuirks(t *testing.T) {
	doc := rolloutDocuments(t, "testdata/argo-full-canary.yaml")[0]
	var ro v1alpha1.Rollout
	if err := yaml.UnmarshalStrict(doc, &ro); err != nil {
		t.Fatal(err)
	}
	if ro.Status.ObservedGeneration != v1alpha1.ObservedGenerationString(4) {
		t.Errorf("observedGeneration %q", ro.Status.ObservedGeneration)
	}
	if ro.Status.HPAReplicas != 6 {
		t.Errorf("HPAReplicas %d", ro.Status.HPAReplicas)
	}
	c := ro.Status.GetCondition(v1alpha1.RolloutProgressing)
	if c == nil || c.Reason != v1alpha1.PausedRolloutReason || c.LastUpdateTime.IsZero() {
		t.Errorf("progressing condition %+v", c)
	}
	if w := ro.Status.Canary.ReplicaWeights; w == nil || w.SetWeight != 20 || w.ActualWeight != 17 {
		t.Errorf("replicaWeights %+v", w)
	}
	js, err := json.Marshal(ro.Status)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"observedGeneration":"4"`, `"HPAReplicas":6`, `"lastUpdateTime":"2024-05-01T10:01:00Z"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("status JSON lacks %s", want)
		}
	}
}

// rolloutDocuments returns the Rollout documents of a multi-document YAML file.
func rolloutDocuments(t *testing.T, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, doc := range bytes.Split(raw, []byte("\n---")) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if meta.Kind == "Rollout" {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s has no Rollout", path)
	}
	return docs
}

func nested(obj map[string]any, keys ...string) any {
	var cur any = obj
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// normalizeQuantities rewrites numeric resource quantities (`cpu: 1`) as the
// canonical strings resource.Quantity marshals to; the value is the same.
func normalizeQuantities(node any) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if m, ok := v.(map[string]any); ok && (k == "limits" || k == "requests") {
				for rk, rv := range m {
					if f, ok := rv.(float64); ok {
						q := resource.MustParse(strconv.FormatFloat(f, 'f', -1, 64))
						m[rk] = q.String()
					}
				}
			}
			normalizeQuantities(v)
		}
	case []any:
		for _, v := range n {
			normalizeQuantities(v)
		}
	}
}

// dropEmptyAnalysisRunMetadata removes the "analysisRunMetadata": {} that
// the Go types write for every RolloutAnalysis: Argo's struct is encoded the
// same way, and the canary step hash is computed over that encoding. An
// empty object adds nothing, so it is not a change to the stored manifest.
func dropEmptyAnalysisRunMetadata(v any) {
	switch v := v.(type) {
	case map[string]any:
		if m, ok := v["analysisRunMetadata"].(map[string]any); ok && len(m) == 0 {
			delete(v, "analysisRunMetadata")
		}
		for _, child := range v {
			dropEmptyAnalysisRunMetadata(child)
		}
	case []any:
		for _, child := range v {
			dropEmptyAnalysisRunMetadata(child)
		}
	}
}

// dropEmptyExperimentTemplateMetadata removes the `metadata: {}` that Argo's
// encoding of an experiment step's template always writes (a struct with
// omitempty), where the manifest had none.
func dropEmptyExperimentTemplateMetadata(obj map[string]any) {
	steps, _ := nested(obj, "spec", "strategy", "canary", "steps").([]any)
	for _, step := range steps {
		exp, _ := nested(step.(map[string]any), "experiment").(map[string]any)
		if exp == nil {
			continue
		}
		templates, _ := exp["templates"].([]any)
		for _, t := range templates {
			tm := t.(map[string]any)
			if m, ok := tm["metadata"].(map[string]any); ok && len(m) == 0 {
				delete(tm, "metadata")
			}
		}
	}
}
