// Package compactcache keeps cached Kubernetes objects as their protobuf
// encoding rather than as decoded Go structs.
//
// A decoded object is dozens of small allocations (every string, map and
// slice of it): 3,360 bytes for a ReplicaSet whose encoding is one slice
// of 400 (BenchmarkCachedBytes). An informer holds every object of its
// kind for the life of the controller, and a fleet keeps two ReplicaSets
// and two Services per Rollout, so their cached copies were a large part
// of the controller's memory, scattered in small pieces between
// short-lived ones.
//
// The encoded object is an Object, which informers, indexers, event
// handlers and the controller-runtime cache reader all take as any other
// client.Object: its metadata getters decode the metadata, and its
// DeepCopyObject, which the cache reader calls before handing an object
// out, decodes the whole object. Readers of the cache therefore get the
// usual typed objects and never see an Object.
package compactcache

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Proto is a Kubernetes API type with generated protobuf methods, such as
// *appsv1.ReplicaSet.
type Proto[T any] interface {
	*T
	runtime.Object
	metav1.Object
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// Object is a cached object of type PT held as its protobuf encoding. It is
// read-only: the setters of metav1.Object panic, as a write to a cached
// object is a bug whatever its form.
type Object[T any, PT Proto[T]] struct {
	// The namespace and name are kept decoded: every informer event and
	// index update keys the object by them.
	namespace, name string
	raw             []byte
}

// Compact is a cache transform: a PT is encoded, anything else passes
// through.
func Compact[T any, PT Proto[T]](in any) (any, error) {
	obj, ok := in.(PT)
	if !ok {
		return in, nil
	}
	raw, err := obj.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return &Object[T, PT]{namespace: obj.GetNamespace(), name: obj.GetName(), raw: raw}, nil
}

// DeepCopyObject decodes the object: a new, typed copy, which is what the
// cache reader hands out.
func (o *Object[T, PT]) DeepCopyObject() runtime.Object {
	out := PT(new(T))
	if err := out.Unmarshal(o.raw); err != nil {
		// The bytes are the encoding of a PT made by Compact; they fail to
		// decode only if memory is corrupt.
		panic(fmt.Errorf("decode cached %T: %w", out, err))
	}
	return out
}

// GetObjectKind is empty: the cache reader sets the kind on the copies it
// hands out.
func (o *Object[T, PT]) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// metadataField is the field number of metadata in every Kubernetes
// object's protobuf message.
const metadataField = 1

// meta decodes the metadata alone.
func (o *Object[T, PT]) meta() *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{}
	raw, err := metadataBytes(o.raw)
	if err == nil {
		err = m.Unmarshal(raw)
	}
	if err != nil {
		// As in DeepCopyObject: only corrupt memory gets here.
		panic(fmt.Errorf("decode cached %T metadata: %w", PT(nil), err))
	}
	return m
}

// metadataBytes finds the metadata field in an object's encoding; nil if
// it has none.
func metadataBytes(b []byte) ([]byte, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num == metadataField && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			return v, nil
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil, nil
}

func readOnly() { panic("compactcache: a cached object is read-only") }

func (o *Object[T, PT]) GetNamespace() string       { return o.namespace }
func (o *Object[T, PT]) GetName() string            { return o.name }
func (o *Object[T, PT]) GetGenerateName() string    { return o.meta().GenerateName }
func (o *Object[T, PT]) GetUID() types.UID          { return o.meta().UID }
func (o *Object[T, PT]) GetResourceVersion() string { return o.meta().ResourceVersion }
func (o *Object[T, PT]) GetGeneration() int64       { return o.meta().Generation }

// GetSelfLink is empty: the API server no longer sets selfLink.
func (o *Object[T, PT]) GetSelfLink() string                { return "" }
func (o *Object[T, PT]) GetCreationTimestamp() metav1.Time  { return o.meta().CreationTimestamp }
func (o *Object[T, PT]) GetDeletionTimestamp() *metav1.Time { return o.meta().DeletionTimestamp }
func (o *Object[T, PT]) GetDeletionGracePeriodSeconds() *int64 {
	return o.meta().DeletionGracePeriodSeconds
}
func (o *Object[T, PT]) GetLabels() map[string]string      { return o.meta().Labels }
func (o *Object[T, PT]) GetAnnotations() map[string]string { return o.meta().Annotations }
func (o *Object[T, PT]) GetFinalizers() []string           { return o.meta().Finalizers }
func (o *Object[T, PT]) GetOwnerReferences() []metav1.OwnerReference {
	return o.meta().OwnerReferences
}
func (o *Object[T, PT]) GetManagedFields() []metav1.ManagedFieldsEntry {
	return o.meta().ManagedFields
}

func (o *Object[T, PT]) SetNamespace(string)                        { readOnly() }
func (o *Object[T, PT]) SetName(string)                             { readOnly() }
func (o *Object[T, PT]) SetGenerateName(string)                     { readOnly() }
func (o *Object[T, PT]) SetUID(types.UID)                           { readOnly() }
func (o *Object[T, PT]) SetResourceVersion(string)                  { readOnly() }
func (o *Object[T, PT]) SetGeneration(int64)                        { readOnly() }
func (o *Object[T, PT]) SetSelfLink(string)                         { readOnly() }
func (o *Object[T, PT]) SetCreationTimestamp(metav1.Time)           { readOnly() }
func (o *Object[T, PT]) SetDeletionTimestamp(*metav1.Time)          { readOnly() }
func (o *Object[T, PT]) SetDeletionGracePeriodSeconds(*int64)       { readOnly() }
func (o *Object[T, PT]) SetLabels(map[string]string)                { readOnly() }
func (o *Object[T, PT]) SetAnnotations(map[string]string)           { readOnly() }
func (o *Object[T, PT]) SetFinalizers([]string)                     { readOnly() }
func (o *Object[T, PT]) SetOwnerReferences([]metav1.OwnerReference) { readOnly() }
func (o *Object[T, PT]) SetManagedFields([]metav1.ManagedFieldsEntry) {
	readOnly()
}
