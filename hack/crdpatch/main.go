// Command crdpatch adjusts CRDs after controller-gen, for what markers
// cannot express: it marks embedded object metadata (the Rollout's
// spec.template.metadata, a Job metric's metadata and pod template
// metadata) with x-kubernetes-preserve-unknown-fields, as Argo Rollouts'
// CRDs do.
// Without it the API server prunes (or, with kubectl's strict field
// validation, rejects) harmless keys such as `creationTimestamp: null`
// that generated manifests often carry, and Argo-valid manifests would fail.
//
// Usage: go run ./hack/crdpatch config/crd/bases/argoproj.io_rollouts.yaml ...
// Which paths are patched depends on the CRD (its spec.names.kind).
package main

import (
	"bytes"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// jobMetric is where a Job metric sits in an analysis CRD's schema; "[]"
// steps into the items of an array.
var jobMetric = []string{"spec", "metrics", "[]", "provider", "job"}

// preservePaths are property paths below openAPIV3Schema, by kind.
var preservePaths = map[string][][]string{
	"Rollout": {{"spec", "template", "metadata"}},
	"AnalysisTemplate": {
		append(append([]string{}, jobMetric...), "metadata"),
		append(append([]string{}, jobMetric...), "spec", "template", "metadata"),
	},
}

// stripPaths are schema nodes whose CEL rules (x-kubernetes-validations)
// are removed, by kind. A Job metric embeds batch/v1 JobSpec, whose rules
// compare with oldSelf; inside the metrics list (an atomic list, as in
// Argo) the API server refuses such rules, and they are the Job API's to
// enforce when the Job is created anyway.
var stripPaths = map[string][][]string{
	"AnalysisTemplate": {append(append([]string{}, jobMetric...), "spec")},
}

func init() {
	for _, kind := range []string{"ClusterAnalysisTemplate", "AnalysisRun"} {
		preservePaths[kind] = preservePaths["AnalysisTemplate"]
		stripPaths[kind] = stripPaths["AnalysisTemplate"]
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crdpatch CRD.yaml...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := patchFile(path); err != nil {
			fmt.Fprintf(os.Stderr, "crdpatch %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func patchFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// controller-gen writes one document preceded by "---".
	body := bytes.TrimPrefix(raw, []byte("---\n"))
	var crd map[string]any
	if err := yaml.Unmarshal(body, &crd); err != nil {
		return err
	}
	kind, _ := lookup(crd, "spec", "names", "kind").(string)
	paths, ok := preservePaths[kind]
	if !ok {
		return fmt.Errorf("no paths to patch for kind %q", kind)
	}
	versions, _ := lookup(crd, "spec", "versions").([]any)
	if len(versions) == 0 {
		return fmt.Errorf("no spec.versions")
	}
	for _, v := range versions {
		schema, _ := lookup(v, "schema", "openAPIV3Schema").(map[string]any)
		if schema == nil {
			return fmt.Errorf("version without openAPIV3Schema")
		}
		for _, p := range paths {
			node, err := walk(schema, p)
			if err != nil {
				return err
			}
			node["x-kubernetes-preserve-unknown-fields"] = true
		}
		for _, p := range stripPaths[kind] {
			node, err := walk(schema, p)
			if err != nil {
				return err
			}
			stripValidations(node)
		}
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// walk follows a property path ("[]" steps into array items).
func walk(schema map[string]any, path []string) (map[string]any, error) {
	node := schema
	for _, name := range path {
		if name == "[]" {
			node, _ = lookup(node, "items").(map[string]any)
		} else {
			node, _ = lookup(node, "properties", name).(map[string]any)
		}
		if node == nil {
			return nil, fmt.Errorf("schema has no property path %v", path)
		}
	}
	return node, nil
}

func stripValidations(node any) {
	switch n := node.(type) {
	case map[string]any:
		delete(n, "x-kubernetes-validations")
		for _, v := range n {
			stripValidations(v)
		}
	case []any:
		for _, v := range n {
			stripValidations(v)
		}
	}
}

func lookup(node any, keys ...string) any {
	for _, k := range keys {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[k]
	}
	return node
}
