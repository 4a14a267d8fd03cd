// Package rolloutcorpus holds what the Rollout CRD's validation is tested
// with: the corpus of manifests it must admit (the seed examples, the
// reference's shapes, the e2e tests' shapes) and of manifests it must refuse
// with a given field and message, the spec mutations of the fuzz test, and
// the judgement of one object: what kube-apiserver (crdvalidation) and
// internal/validation each say about it, and whether they are consistent.
// api/v1alpha1 runs it in process; api/v1alpha1/crdtest against a real
// kube-apiserver; internal/rollout applies the mutations to a real
// kube-apiserver with the Rollout reconciler running.
package rolloutcorpus

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// Doc is one Rollout manifest of a corpus.
type Doc struct {
	// Name is file#index/metadata.name, for test names.
	Name string
	// Object is the manifest as kube-apiserver decodes JSON: integers are
	// int64, other numbers float64.
	Object map[string]any
	// Wants are what the refusal must name (invalid corpus only).
	Wants []Want
}

// Want is a field path and a message the refusal must contain.
type Want struct{ Field, Message string }

// ValidFiles are the manifests, relative to the repository root, whose
// Rollouts the CRD must admit.
var ValidFiles = []string{
	"examples/bluegreen-rollout.yaml",
	"examples/canary-rollout.yaml",
	"api/v1alpha1/testdata/argo-full-canary.yaml",
	"api/v1alpha1/testdata/argo-full-bluegreen.yaml",
	"api/v1alpha1/testdata/rollouts-valid.yaml",
}

// InvalidFile holds the Rollouts the CRD must refuse, each preceded by
// "# want: <field> | <message>" lines.
const InvalidFile = "api/v1alpha1/testdata/rollouts-invalid.yaml"

// Valid returns the Rollouts of ValidFiles.
func Valid(root string) ([]Doc, error) {
	var out []Doc
	for _, f := range ValidFiles {
		docs, err := read(root, f)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}

// Invalid returns the Rollouts of InvalidFile with what each refusal must
// name.
func Invalid(root string) ([]Doc, error) {
	docs, err := read(root, InvalidFile)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if len(d.Wants) == 0 {
			return nil, fmt.Errorf("%s has no want line", d.Name)
		}
	}
	return docs, nil
}

func read(root, file string) ([]Doc, error) {
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	var out []Doc
	for i, part := range bytes.Split(raw, []byte("\n---")) {
		obj, err := Decode(part)
		if err != nil {
			return nil, fmt.Errorf("%s#%d: %w", file, i, err)
		}
		if obj["kind"] != "Rollout" {
			continue
		}
		name, _ := Lookup(obj, "metadata", "name").(string)
		d := Doc{Name: fmt.Sprintf("%s#%d/%s", filepath.Base(file), i, name), Object: obj}
		for line := range strings.Lines(string(part)) {
			want, ok := strings.CutPrefix(strings.TrimSpace(line), "# want:")
			if !ok {
				continue
			}
			f, m, _ := strings.Cut(want, "|")
			d.Wants = append(d.Wants, Want{Field: strings.TrimSpace(f), Message: strings.TrimSpace(m)})
		}
		out = append(out, d)
	}
	return out, nil
}

// Decode reads YAML or JSON into the form kube-apiserver validates.
func Decode(data []byte) (map[string]any, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// Lookup returns the value at keys, or nil.
func Lookup(obj any, keys ...string) any {
	for _, k := range keys {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		obj = m[k]
	}
	return obj
}

// DeepCopy copies a decoded object.
func DeepCopy(obj map[string]any) map[string]any {
	return deepCopy(obj).(map[string]any)
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
