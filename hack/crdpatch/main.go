// Command crdpatch adjusts the Rollout and analysis CRDs after
// controller-gen, for what markers cannot express:
//
//   - embedded object metadata (the Rollout's spec.template.metadata, a Job
//     metric's metadata and pod template metadata) keeps unknown fields, as
//     in Argo Rollouts' CRDs. Without it the API server prunes (or, with
//     kubectl's strict field validation, rejects) harmless keys such as
//     `creationTimestamp: null` that generated manifests often carry.
//   - a Job metric's JobSpec loses its CEL rules (see stripPaths).
//   - every resource.Quantity accepts JSON numbers, floats included, as the
//     built-in workloads do (see quantitySchema);
//   - env, imagePullSecrets and hostAliases accept duplicate keys, as the
//     built-in workloads and Argo Rollouts' CRD do (see unkeyedLists);
//   - the schema bounds the CEL validation rules need to fit kube-apiserver's
//     cost budget (see celBounds).
//
// Usage: go run ./hack/crdpatch config/crd/bases/argoproj.io_rollouts.yaml ...
// Which paths are patched depends on the CRD's kind.
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
	"Rollout":    {{"spec", "template", "metadata"}},
	"Experiment": {{"spec", "templates", "[]", "template", "metadata"}},
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

// quantityPattern is the pattern controller-gen gives a resource.Quantity,
// next to x-kubernetes-int-or-string. The two together are how quantities
// are recognised, wherever the pod template (or a later API field) has one.
const quantityPattern = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`

// quantitySchema replaces controller-gen's quantity schema. A Deployment
// accepts `cpu: 0.001`, `cpu: 1` and `cpu: "100m"` because the built-in API
// decodes straight into resource.Quantity; a CRD validates JSON first, and
// controller-gen's anyOf[integer, string] refuses 0.001 and 2.5.
//
// A structural schema cannot say "number or string": a field needs a type
// unless it is int-or-string (integers and strings only) or keeps unknown
// fields. So the type is dropped and x-kubernetes-preserve-unknown-fields
// set, and the rest is refused by validations that each apply to one JSON
// kind only:
//
//   - pattern applies to strings: a malformed quantity ("abc") is refused;
//   - minProperties 1 with maxProperties 0 no object can satisfy: {} and
//     {"a": 1} are refused;
//   - minItems 1 with maxItems 0 likewise refuses every array;
//   - not: enum [true, false] refuses booleans.
//
// Numbers pass them all. CEL (isQuantity) cannot be used here: the API
// server gives CEL no type for a schema without one, and refuses rules on it.
func quantitySchema() map[string]any {
	return map[string]any{
		"x-kubernetes-preserve-unknown-fields": true,
		"pattern":                              quantityPattern,
		"minProperties":                        1,
		"maxProperties":                        0,
		"minItems":                             1,
		"maxItems":                             0,
		"not":                                  map[string]any{"enum": []any{true, false}},
	}
}

// unkeyedLists are the pod-template lists that recent Kubernetes API types
// mark as maps keyed by name (or ip), which makes a CRD refuse two entries
// with the same key, although a Deployment accepts them (with a warning)
// and Argo Rollouts' CRD, generated from older types, does not key them.
// Helm charts produce such duplicates (a default env var overridden
// further down), so they are made plain (atomic) lists again, as in Argo's
// CRD. Lists whose duplicates a Deployment refuses too (containers,
// volumes, volumeMounts, ...) stay keyed: such a Rollout could never run.
var unkeyedLists = []string{"env", "imagePullSecrets", "hostAliases"}

// celBounds are set on schemas the Rollout's CEL rules read, so their
// estimated cost fits kube-apiserver's budget; without them it estimates
// every string at the maximum request size.
//
//   - spec.selector.matchLabels: values of at most 63 characters, the
//     Kubernetes limit for a label value (a longer one is InvalidSpec
//     anyway), and at most 1000 labels, so the rule that the template
//     carries every selected label with its value can run.
//   - canary steps[].experiment gets type object (Argo's CRD types it):
//     a schema without a type is invisible to CEL, and the rule that a step
//     sets exactly one action must see it.
//
// And spec.template.spec no longer requires containers (see
// templateOptionalContainers): a CEL rule requires them unless workloadRef
// is set.
var celBounds = []struct {
	path []string // property names below openAPIV3Schema; "[]" for items, "{}" for additionalProperties
	set  map[string]any
	// unless skips the patch when the schema already has this key.
	unless string
}{
	{path: []string{"spec", "selector", "matchLabels"}, set: map[string]any{"maxProperties": 1000}},
	{path: []string{"spec", "selector", "matchLabels", "{}"}, set: map[string]any{"maxLength": 63}},
	{path: []string{"spec", "strategy", "canary", "steps", "[]", "experiment"}, set: map[string]any{"type": "object"}, unless: "type"},
}

// templateOptionalContainers is the pod spec whose "containers" is no
// longer required by the schema. A Rollout with a workloadRef has an empty
// template, which Go clients write as {"spec":{"containers":null}}; the
// server drops the null and the schema would refuse the missing list,
// while the Rollout is valid. The Rollout's CEL rule requires containers
// when there is no workloadRef, with the message of internal/validation.
var templateOptionalContainers = []string{"spec", "template", "spec"}

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
		// The pod template has quantities (resources, overhead,
		// emptyDir.sizeLimit, divisor): none found means controller-gen
		// changed how it writes them, and this patch must follow.
		if n := replaceQuantities(schema); n == 0 {
			return fmt.Errorf("no resource.Quantity schema found (x-kubernetes-int-or-string with pattern %s)", quantityPattern)
		}
		for _, name := range unkeyedLists {
			if n := unkey(schema, name); n == 0 {
				return fmt.Errorf("no keyed list %q found", name)
			}
		}
		if kind != "Rollout" {
			// The template-is-optional and CEL-bound patches are the
			// Rollout's own.
			continue
		}
		podSpec := schema
		for _, name := range templateOptionalContainers {
			podSpec, _ = lookup(podSpec, "properties", name).(map[string]any)
			if podSpec == nil {
				return fmt.Errorf("schema has no property path %v", templateOptionalContainers)
			}
		}
		if req, ok := podSpec["required"].([]any); ok {
			var kept []any
			for _, r := range req {
				if r != "containers" {
					kept = append(kept, r)
				}
			}
			if len(kept) == 0 {
				delete(podSpec, "required")
			} else {
				podSpec["required"] = kept
			}
		}
		for _, b := range celBounds {
			node := schema
			for _, name := range b.path {
				switch name {
				case "[]":
					node, _ = node["items"].(map[string]any)
				case "{}":
					node, _ = node["additionalProperties"].(map[string]any)
				default:
					node, _ = lookup(node, "properties", name).(map[string]any)
				}
				if node == nil {
					return fmt.Errorf("schema has no path %v", b.path)
				}
			}
			if _, ok := node[b.unless]; ok && b.unless != "" {
				continue
			}
			for k, v := range b.set {
				node[k] = v
			}
		}
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// replaceQuantities replaces, below node, every quantity schema by
// quantitySchema and returns how many it replaced.
func replaceQuantities(node any) int {
	n := 0
	switch node := node.(type) {
	case map[string]any:
		for k, v := range node {
			if isQuantity(v) {
				node[k] = quantitySchema()
				n++
				continue
			}
			n += replaceQuantities(v)
		}
	case []any:
		for i, v := range node {
			if isQuantity(v) {
				node[i] = quantitySchema()
				n++
				continue
			}
			n += replaceQuantities(v)
		}
	}
	return n
}

// unkey drops the map list type from every property called name below
// node and returns how many it changed.
func unkey(node any, name string) int {
	n := 0
	switch node := node.(type) {
	case map[string]any:
		if props, ok := node["properties"].(map[string]any); ok {
			if list, ok := props[name].(map[string]any); ok && list["x-kubernetes-list-type"] == "map" {
				delete(list, "x-kubernetes-list-type")
				delete(list, "x-kubernetes-list-map-keys")
				n++
			}
		}
		for _, v := range node {
			n += unkey(v, name)
		}
	case []any:
		for _, v := range node {
			n += unkey(v, name)
		}
	}
	return n
}

func isQuantity(node any) bool {
	m, ok := node.(map[string]any)
	return ok && m["x-kubernetes-int-or-string"] == true && m["pattern"] == quantityPattern
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
