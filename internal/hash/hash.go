// Package hash computes the pod-template hash that names ReplicaSets and
// labels them with rollouts-pod-template-hash.
//
// The value must be bit-for-bit what Argo Rollouts computes: Services and
// ReplicaSets created by Argo carry it, and a Rollout moved between the two
// controllers must find its existing ReplicaSets instead of creating new
// revisions (Argo itself once broke this, argo-rollouts#4696).
package hash

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// PodTemplateHash returns the hash of template, perturbed by collisionCount
// when it is set (the controller bumps it when the name is already taken by a
// ReplicaSet with another template).
//
// Algorithm: FNV-32a over the template's encoding/json bytes; then, if
// collisionCount is set, the count as a little-endian uint32 in an 8-byte
// buffer (Argo writes the upper four bytes as zeros, unlike the 4-byte form in
// kube-controller-manager, so we do too); the decimal Sum32 is passed through
// rand.SafeEncodeString so the result contains no vowels.
//
// The template is hashed as given, labels included, so callers must pass the
// Rollout's spec.template as read from the API server, not a ReplicaSet
// template that already carries the hash label, and not a template decoded
// straight from a manifest: the server applies the CRD's schema defaults
// (ports[].protocol: TCP, for one) before storing, and those change the hash.
func PodTemplateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, err := json.Marshal(template)
	if err != nil {
		// A PodTemplateSpec has no channels, funcs or cyclic values, so
		// marshalling cannot fail; a failure means memory corruption.
		panic(fmt.Sprintf("marshal pod template: %v", err))
	}
	// hash.Hash writes never fail.
	_, _ = h.Write(b)
	if collisionCount != nil {
		buf := make([]byte, 8)
		binary.LittleEndian.PutUint32(buf, uint32(*collisionCount))
		_, _ = h.Write(buf)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
