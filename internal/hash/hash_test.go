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
