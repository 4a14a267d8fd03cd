// Package compactcache keeps cached Kubernetes objects encoded rather than
// as decoded Go structs.
//
// A decoded object is dozens of small allocations (every string, map and
// slice of it): 3,360 bytes for a ReplicaSet whose encoding is one slice
// of 400 (BenchmarkCachedBytes). An informer holds every object of its
// kind for the life of the controller, and a fleet keeps a Rollout, two
// ReplicaSets, two Services and their EndpointSlices per Rollout, so their
// cached copies were a large part of the controller's memory, scattered in
// small pieces between short-lived ones.
//
// Built-in kinds are held as their protobuf encoding. Kinds without one
// (custom resources such as the Rollout) are held as an envelope in the
// same wire format: the metadata in protobuf as field 1, where every
// Kubernetes object has it, and the rest of the object in JSON as field 2.
// Either way the metadata getters read field 1 alone.
//
// The encoded object is an Object, which informers, indexers, event
// handlers and the controller-runtime cache reader all take as any other
// client.Object: its metadata getters decode the metadata, and its
// DeepCopyObject, which the cache reader calls before handing an object
// out, decodes the whole object; both read the decoded form instead while
// a Compactor keeps it (the objects it encoded last). Readers of the cache
// therefore get the usual typed objects and never see an Object; index
// functions and event handlers given the cached object itself reach the
// typed one through DeepCopyObject, or what they need through Memo.
package compactcache

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	kjson "sigs.k8s.io/json"
)

// Typed is a Kubernetes API type, such as *appsv1.ReplicaSet or
// *v1alpha1.Rollout.
type Typed[T any] interface {
	*T
	runtime.Object
	metav1.Object
}

// protoMessage is what the generated protobuf code of built-in kinds adds.
type protoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// Object is a cached object of type PT held encoded. It is read-only: the
// setters of metav1.Object panic, as a write to a cached object is a bug
// whatever its form.
type Object[T any, PT Typed[T]] struct {
	// The namespace and name are kept decoded: every informer event and
	// index update keys the object by them.
	namespace, name string
	raw             []byte
	// decoded is the object as Compact got it, kept while its Compactor
	// holds it (nil otherwise): the reads a change brings copy it rather
	// than decode raw.
	decoded atomic.Pointer[T]
	// memo is what the Compactor's memo derived from the decoded object.
	memo any
}

// Compact is a cache transform: a PT is encoded, anything else passes
// through.
func Compact[T any, PT Typed[T]](in any) (any, error) {
	obj, ok := in.(PT)
	if !ok {
		return in, nil
	}
	return compact(obj)
}

func compact[T any, PT Typed[T]](obj PT) (*Object[T, PT], error) {
	raw, err := encode(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return &Object[T, PT]{namespace: obj.GetNamespace(), name: obj.GetName(), raw: raw}, nil
}

// Compactor is a cache transform like Compact that also keeps the objects
// it encoded last decoded for a while, so the reads a change brings (the
// cache reads of the passes that follow, the event handlers' lookups) copy
// rather than decode: a Rollout's JSON decode was the largest part of a
// promote's pass before its Service write, and in a burst of a hundred
// promotes most of those reads came after a few dozen other changes.
//
// At most keep objects are kept decoded, each for hold to 1.5 hold, and
// only the latest version of each (nothing reads a replaced one whole): a
// fleet changing at once costs a bounded amount of memory, and a
// controller at rest holds none of it.
type Compactor[T any, PT Typed[T]] struct {
	hold  time.Duration
	memo  func(PT) any
	clock clock.WithDelayedExecution

	mu sync.Mutex
	// recent are the objects last encoded, oldest at next once full; an
	// entry whose hold has passed is empty.
	recent []recentObject[T, PT]
	next   int
	// latest is the last version of each object in recent: the one still
	// holding its decoded form.
	latest map[objectKey]*Object[T, PT]
	// expiry is armed while recent holds an object.
	expiry clock.Timer
}

type objectKey struct{ namespace, name string }

type recentObject[T any, PT Typed[T]] struct {
	obj       *Object[T, PT]
	encodedAt time.Time
}

// NewCompactor keeps the last keep objects decoded, each for at least hold
// (0: until keep newer ones displace it). memo, if not nil, is computed
// from each object as it is encoded and kept with it (Object.Memo).
func NewCompactor[T any, PT Typed[T]](keep int, hold time.Duration, memo func(PT) any) *Compactor[T, PT] {
	return &Compactor[T, PT]{
		hold: hold, memo: memo, clock: clock.RealClock{},
		recent: make([]recentObject[T, PT], keep), latest: make(map[objectKey]*Object[T, PT], keep),
	}
}

// Transform is the cache transform.
func (c *Compactor[T, PT]) Transform(in any) (any, error) {
	obj, ok := in.(PT)
	if !ok {
		return in, nil
	}
	out, err := compact(obj)
	if err != nil {
		return nil, err
	}
	if c.memo != nil {
		out.memo = c.memo(obj)
	}
	if len(c.recent) == 0 {
		return out, nil
	}
	// The informer hands each decoded object to the transform and keeps
	// only what the transform returns: obj is not shared, and nothing
	// writes to it from here on.
	out.decoded.Store((*T)(obj))
	key := objectKey{out.namespace, out.name}
	c.mu.Lock()
	defer c.mu.Unlock()
	if replaced := c.latest[key]; replaced != nil {
		replaced.decoded.Store(nil)
	}
	c.latest[key] = out
	c.forget(c.recent[c.next].obj)
	c.recent[c.next] = recentObject[T, PT]{obj: out, encodedAt: c.clock.Now()}
	c.next = (c.next + 1) % len(c.recent)
	if c.hold > 0 && c.expiry == nil {
		c.expiry = c.clock.AfterFunc(c.hold, c.expire)
	}
	return out, nil
}

// forget drops obj's decoded form as its entry in recent goes.
func (c *Compactor[T, PT]) forget(obj *Object[T, PT]) {
	if obj == nil {
		return
	}
	obj.decoded.Store(nil)
	if key := (objectKey{obj.namespace, obj.name}); c.latest[key] == obj {
		delete(c.latest, key)
	}
}

// expire drops the decoded forms held for hold, and comes back while
// some are left. It comes back after half a hold rather than at the next
// one's due time, so a steady stream of changes wakes it twice a hold,
// not once per change.
func (c *Compactor[T, PT]) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	left := false
	for i := range c.recent {
		e := &c.recent[i]
		if e.obj == nil {
			continue
		}
		if now.Sub(e.encodedAt) < c.hold {
			left = true
			continue
		}
		c.forget(e.obj)
		*e = recentObject[T, PT]{}
	}
	c.expiry = nil
	if left {
		c.expiry = c.clock.AfterFunc(c.hold/2, c.expire)
	}
}

// Memo is what the Compactor's memo computed from the object when it was
// encoded; nil without one.
func (o *Object[T, PT]) Memo() any { return o.memo }

// DeepCopyObject returns a new, typed copy of the object, which is what
// the cache reader hands out: a deep copy of the decoded form while the
// object has one, otherwise decoded from its encoding. Both are the same
// object (TestCompactorCopiesAsDecoded), without its kind, which the cache
// reader sets.
func (o *Object[T, PT]) DeepCopyObject() runtime.Object {
	if d := o.decoded.Load(); d != nil {
		out := PT(d).DeepCopyObject()
		out.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		return out
	}
	out := PT(new(T))
	if err := decode(o.raw, out); err != nil {
		// The bytes are the encoding of a PT made by Compact; they fail to
		// decode only if memory is corrupt.
		panic(fmt.Errorf("decode cached %T: %w", out, err))
	}
	return out
}

// Field numbers of the envelope; metadataField is also where every
// built-in object's protobuf message has its metadata.
const (
	metadataField = 1
	restField     = 2
)

func encode[T any, PT Typed[T]](obj PT) ([]byte, error) {
	if msg, ok := any(obj).(protoMessage); ok {
		return msg.Marshal()
	}
	objMeta, err := objectMeta(obj)
	if err != nil {
		return nil, err
	}
	metaRaw, err := objMeta.Marshal()
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	// The rest is a shallow copy without the metadata (held once, above)
	// and without the kind (the cache reader sets it on what it hands out).
	rest := PT(new(T))
	*rest = *obj
	restMeta, _ := objectMeta(rest)
	*restMeta = metav1.ObjectMeta{}
	rest.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	restRaw, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 2*binary.MaxVarintLen64+2+len(metaRaw)+len(restRaw))
	out = protowire.AppendTag(out, metadataField, protowire.BytesType)
	out = protowire.AppendBytes(out, metaRaw)
	out = protowire.AppendTag(out, restField, protowire.BytesType)
	return protowire.AppendBytes(out, restRaw), nil
}

func decode[T any, PT Typed[T]](raw []byte, out PT) error {
	if msg, ok := any(out).(protoMessage); ok {
		return msg.Unmarshal(raw)
	}
	metaRaw, err := fieldBytes(raw, metadataField)
	if err != nil {
		return err
	}
	restRaw, err := fieldBytes(raw, restField)
	if err != nil {
		return err
	}
	// The same decoding as the API client's for custom resources.
	if err := kjson.UnmarshalCaseSensitivePreserveInts(restRaw, out); err != nil {
		return err
	}
	objMeta, err := objectMeta(out)
	if err != nil {
		return err
	}
	*objMeta = metav1.ObjectMeta{}
	return objMeta.Unmarshal(metaRaw)
}

// objectMeta is obj's own ObjectMeta, which every API type embeds.
func objectMeta(obj any) (*metav1.ObjectMeta, error) {
	if acc, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if m, ok := acc.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%T does not embed metav1.ObjectMeta", obj)
}

// GetObjectKind is empty: the cache reader sets the kind on the copies it
// hands out.
func (o *Object[T, PT]) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// metadata is the object's metadata: the decoded object's, while its
// Compactor holds it (the handlers and indexers a change runs read the
// new object's metadata several times), else decoded from raw.
func (o *Object[T, PT]) metadata() metav1.Object {
	if d := o.decoded.Load(); d != nil {
		return PT(d)
	}
	return o.meta()
}

// meta decodes the metadata alone.
func (o *Object[T, PT]) meta() *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{}
	raw, err := fieldBytes(o.raw, metadataField)
	if err == nil {
		err = m.Unmarshal(raw)
	}
	if err != nil {
		// As in DeepCopyObject: only corrupt memory gets here.
		panic(fmt.Errorf("decode cached %T metadata: %w", PT(nil), err))
	}
	return m
}

// fieldBytes finds the bytes field num in an object's encoding (protobuf
// or envelope); nil if it has none.
func fieldBytes(b []byte, num protowire.Number) ([]byte, error) {
	for len(b) > 0 {
		fieldNum, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if fieldNum == num && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			return v, nil
		}
		if n = protowire.ConsumeFieldValue(fieldNum, typ, b); n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil, nil
}

func readOnly() { panic("compactcache: a cached object is read-only") }

func (o *Object[T, PT]) GetNamespace() string       { return o.namespace }
func (o *Object[T, PT]) GetName() string            { return o.name }
func (o *Object[T, PT]) GetGenerateName() string    { return o.metadata().GetGenerateName() }
func (o *Object[T, PT]) GetUID() types.UID          { return o.metadata().GetUID() }
func (o *Object[T, PT]) GetResourceVersion() string { return o.metadata().GetResourceVersion() }
func (o *Object[T, PT]) GetGeneration() int64       { return o.metadata().GetGeneration() }

// GetSelfLink is empty: the API server no longer sets selfLink.
func (o *Object[T, PT]) GetSelfLink() string { return "" }
func (o *Object[T, PT]) GetCreationTimestamp() metav1.Time {
	return o.metadata().GetCreationTimestamp()
}
func (o *Object[T, PT]) GetDeletionTimestamp() *metav1.Time {
	return o.metadata().GetDeletionTimestamp()
}
func (o *Object[T, PT]) GetDeletionGracePeriodSeconds() *int64 {
	return o.metadata().GetDeletionGracePeriodSeconds()
}
func (o *Object[T, PT]) GetLabels() map[string]string      { return o.metadata().GetLabels() }
func (o *Object[T, PT]) GetAnnotations() map[string]string { return o.metadata().GetAnnotations() }
func (o *Object[T, PT]) GetFinalizers() []string           { return o.metadata().GetFinalizers() }
func (o *Object[T, PT]) GetOwnerReferences() []metav1.OwnerReference {
	return o.metadata().GetOwnerReferences()
}
func (o *Object[T, PT]) GetManagedFields() []metav1.ManagedFieldsEntry {
	return o.metadata().GetManagedFields()
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
