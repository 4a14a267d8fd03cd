package analysis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// argTag matches {{args.NAME}}, with optional blanks inside the braces.
// Other {{...}} text is left alone, so a Job script may contain braces.
var argTag = regexp.MustCompile(`\{\{\s*args\.([^{}\s]*)\s*\}\}`)

// substitute replaces every {{args.x}} in the metric with its value,
// JSON-escaped, so any string field (queries, URLs, headers, bodies, Job
// specs, and counts and limits written as strings) can take args.
func substitute(m v1alpha1.Metric, values map[string]string) (v1alpha1.Metric, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return m, err
	}
	var missing []string
	out := argTag.ReplaceAllFunc(raw, func(tag []byte) []byte {
		name := string(argTag.FindSubmatch(tag)[1])
		v, ok := values[name]
		if !ok {
			missing = append(missing, "{{args."+name+"}}")
			return tag
		}
		return jsonEscape(v)
	})
	if len(missing) > 0 {
		return m, fmt.Errorf("failed to resolve %s", strings.Join(missing, ", "))
	}
	var resolved v1alpha1.Metric
	if err := json.Unmarshal(out, &resolved); err != nil {
		return m, fmt.Errorf("metric %s after substituting args: %w", m.Name, err)
	}
	return resolved, nil
}

// jsonEscape is s as it appears inside a JSON string, without the quotes.
func jsonEscape(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return b[1 : len(b)-1]
}

// FieldPathValue reads fieldPath from obj (any object that marshals to
// JSON: a Rollout, an AnalysisRun). Paths under metadata use the
// downward API's syntax (metadata.name, metadata.labels['k']); any other
// path walks the object's JSON, split on '.', '[' and ']', and must end in
// a string, number or bool.
func FieldPathValue(obj any, fieldPath string) (string, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	if fieldPath == "metadata" || strings.HasPrefix(fieldPath, "metadata.") {
		return metadataValue(doc, fieldPath)
	}
	var cur any = doc
	for _, part := range strings.FieldsFunc(fieldPath, func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[part]
			if !ok {
				return "", fmt.Errorf("invalid path %s: %q not found", fieldPath, part)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return "", fmt.Errorf("invalid path %s: bad index %q", fieldPath, part)
			}
			cur = node[i]
		default:
			return "", fmt.Errorf("invalid path %s", fieldPath)
		}
	}
	switch v := cur.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("path %s must terminate in a primitive value", fieldPath)
}

var metadataMapKey = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.+)'\]$`)

// errDownwardAPI is the reference's message for a metadata path the
// downward API cannot read.
//
//lint:ignore ST1005 the reference's text, which users may match on
var errDownwardAPI = errors.New("Analyses arguments must refer to valid object metadata supported by downwardAPI")

func metadataValue(doc map[string]any, fieldPath string) (string, error) {
	meta, _ := doc["metadata"].(map[string]any)
	str := func(v any) string { s, _ := v.(string); return s }
	switch fieldPath {
	case "metadata.name", "metadata.namespace", "metadata.uid":
		return str(meta[strings.TrimPrefix(fieldPath, "metadata.")]), nil
	case "metadata.labels", "metadata.annotations":
		m, _ := meta[strings.TrimPrefix(fieldPath, "metadata.")].(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		lines := make([]string, 0, len(keys))
		for _, k := range keys {
			lines = append(lines, fmt.Sprintf("%s=%q", k, str(m[k])))
		}
		return strings.Join(lines, "\n"), nil
	}
	if sub := metadataMapKey.FindStringSubmatch(fieldPath); sub != nil {
		m, _ := meta[sub[1]].(map[string]any)
		return str(m[sub[2]]), nil
	}
	return "", fmt.Errorf("%s: %w", fieldPath, errDownwardAPI)
}

// argValues are a run's resolved arguments. Secret values stay out until
// a measurement needs them: secretRefs says where to read them.
type argValues struct {
	values     map[string]string
	secretRefs map[string]v1alpha1.SecretKeyRef
}

// secretPlaceholder stands in for a secret until it is read, and replaces
// secret values in everything the controller writes or logs.
const secretPlaceholder = "*****"

// resolveRunArgs reads the run's args: plain values, fieldRefs against
// the run itself, and where each secret lives.
func resolveRunArgs(run *v1alpha1.AnalysisRun) (argValues, error) {
	a := argValues{values: map[string]string{}, secretRefs: map[string]v1alpha1.SecretKeyRef{}}
	for _, arg := range run.Spec.Args {
		switch {
		case arg.Value != nil:
			a.values[arg.Name] = *arg.Value
		case arg.ValueFrom != nil && arg.ValueFrom.SecretKeyRef != nil:
			a.secretRefs[arg.Name] = *arg.ValueFrom.SecretKeyRef
			a.values[arg.Name] = secretPlaceholder
		case arg.ValueFrom != nil && arg.ValueFrom.FieldRef != nil:
			v, err := FieldPathValue(run, arg.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return a, fmt.Errorf("argument %q: %w", arg.Name, err)
			}
			a.values[arg.Name] = v
		case arg.ValueFrom != nil && arg.ValueFrom.PodTemplateHashValue != nil:
			return a, fmt.Errorf("argument %q: podTemplateHashValue is only resolved when a Rollout creates the run", arg.Name)
		default:
			return a, fmt.Errorf("argument %q was not supplied", arg.Name)
		}
	}
	return a, nil
}
