package rollout

import (
	"encoding/json"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// The writes every release makes (the status, a Service's switch, a
// ReplicaSet's scale and scale-down deadline) are JSON merge patches built
// from the fields they set. client.MergeFrom marshals the whole object
// twice and diffs them: for a Service or a ReplicaSet that cost more CPU
// than sending the request.

// mergePatch is the JSON merge patch setting fields (a nil value removes
// a key); with a resourceVersion it also locks on that version.
func mergePatch(fields map[string]any, resourceVersion string) (client.Patch, error) {
	if resourceVersion != "" {
		meta, _ := fields["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta["resourceVersion"] = resourceVersion
		fields["metadata"] = meta
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("merge patch: %w", err)
	}
	return client.RawPatch(types.MergePatchType, data), nil
}

// statusPatch is the merge patch from one status to the next (nil when
// their JSON is the same), locked to the resourceVersion the pass read (a
// concurrent promote or abort makes it conflict). Only the status is
// compared: the status subresource ignores the rest, and marshalling whole
// Rollouts (the pod template) cost more than the write.
func statusPatch(from, to *v1alpha1.RolloutStatus, resourceVersion string) (client.Patch, error) {
	before, err := json.Marshal(from)
	if err != nil {
		return nil, fmt.Errorf("marshal status: %w", err)
	}
	after, err := json.Marshal(to)
	if err != nil {
		return nil, fmt.Errorf("marshal status: %w", err)
	}
	diff, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return nil, fmt.Errorf("status patch: %w", err)
	}
	if string(diff) == "{}" {
		// Unequal in Go only (an empty list for none): nothing to write.
		return nil, nil
	}
	return mergePatch(map[string]any{"status": json.RawMessage(diff)}, resourceVersion)
}

// rolloutMetadata is a Rollout's metadata alone, for writes and reads whose
// answer is needed only for its resourceVersion or its existence: the API
// server then encodes, and the client decodes, no more than the metadata.
func rolloutMetadata(key types.NamespacedName) *metav1.PartialObjectMetadata {
	meta := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout"}}
	meta.Name, meta.Namespace = key.Name, key.Namespace
	return meta
}
