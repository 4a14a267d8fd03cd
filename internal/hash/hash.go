// Package hash computes the pod-template hash that names ReplicaSets and
// labels them with rollouts-pod-template-hash, and the canary step hash
// recorded in status.currentStepHash.
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

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
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
	var suffix []byte
	if collisionCount != nil {
		suffix = make([]byte, 8)
		binary.LittleEndian.PutUint32(suffix, uint32(*collisionCount))
	}
	return encodedFNV(template, suffix)
}

// StepsHash is status.currentStepHash of a canary: FNV-32a over the JSON of
// spec.strategy.canary.steps (null when there are none), encoded like the
// pod-template hash. A Rollout adopted mid-update from Argo Rollouts keeps
// its step only if this matches what Argo wrote, so the steps' JSON must be
// Argo's byte for byte: field order, omitempty, and empty structs that Argo
// does not omit (analysisRunMetadata: {}, an experiment template's
// metadata: {}).
func StepsHash(steps []v1alpha1.CanaryStep) string {
	return encodedFNV(steps, nil)
}

// encodedFNV hashes the JSON of v followed by suffix and encodes the decimal
// Sum32 with rand.SafeEncodeString, so the result contains no vowels.
func encodedFNV(v any, suffix []byte) string {
	b, err := json.Marshal(v)
	if err != nil {
		// API types have no channels, funcs or cyclic values, so
		// marshalling cannot fail; a failure means memory corruption.
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	h := fnv.New32a()
	// hash.Hash writes never fail.
	_, _ = h.Write(b)
	_, _ = h.Write(suffix)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
