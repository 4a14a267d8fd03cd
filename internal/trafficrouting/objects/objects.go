// Package objects reads and edits the routers' custom objects (Gateway API
// routes, Istio VirtualServices and DestinationRules) as unstructured
// data: whatever the served version holds, including fields newer than
// this build, goes back to the API server untouched. Only the fields a
// router owns are edited, and an object changed by someone else between
// the read and the write is read again (optimistic concurrency).
package objects

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Ref names one object.
type Ref struct {
	GroupKind schema.GroupKind
	Namespace string
	Name      string
}

// String is "Kind namespace/name", the way errors name the object.
func (r Ref) String() string { return fmt.Sprintf("%s %s/%s", r.GroupKind.Kind, r.Namespace, r.Name) }

// GVK resolves the version the API server prefers for a kind, so the
// router works with whichever version the installed CRDs serve.
func GVK(c client.Client, gk schema.GroupKind) (schema.GroupVersionKind, error) {
	m, err := c.RESTMapper().RESTMapping(gk)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return schema.GroupVersionKind{}, fmt.Errorf("the API server does not serve %s (are its CRDs installed?): %w", gk, err)
		}
		return schema.GroupVersionKind{}, fmt.Errorf("find the served version of %s: %w", gk, err)
	}
	return m.GroupVersionKind, nil
}

// Get reads an object; a missing one is an error naming it.
func Get(ctx context.Context, c client.Client, ref Ref) (*unstructured.Unstructured, error) {
	gvk, err := GVK(c, ref.GroupKind)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%s not found", ref)
		}
		return nil, fmt.Errorf("get %s: %w", ref, err)
	}
	return u, nil
}

// Edit reads the object, lets edit change it and writes it back when it
// changed, reading again on a write conflict. It reports whether it wrote.
func Edit(ctx context.Context, c client.Client, ref Ref, edit func(u *unstructured.Unstructured) error) (bool, error) {
	wrote := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := Get(ctx, c, ref)
		if err != nil {
			return err
		}
		before := u.DeepCopy()
		if err := edit(u); err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		if equality.Semantic.DeepEqual(before.Object, u.Object) {
			return nil
		}
		if err := c.Update(ctx, u); err != nil {
			if apierrors.IsConflict(err) {
				return err
			}
			return fmt.Errorf("update %s: %w", ref, err)
		}
		wrote = true
		return nil
	})
	if apierrors.IsConflict(err) {
		return false, fmt.Errorf("update %s: still conflicting after retries: %w", ref, err)
	}
	return wrote, err
}

// List lists the objects of a kind in a namespace matching a selector.
func List(ctx context.Context, c client.Client, gk schema.GroupKind, namespace string, opts ...client.ListOption) ([]unstructured.Unstructured, error) {
	gvk, err := GVK(c, gk)
	if err != nil {
		return nil, err
	}
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.List(ctx, l, append(opts, client.InNamespace(namespace))...); err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", gk.Kind, namespace, err)
	}
	return l.Items, nil
}

// Maps returns the elements of a list that are objects, in place: the
// maps are the list's own, so changes to them change the list.
func Maps(list []any) []map[string]any {
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Slice is the list at key in m (nil if absent or not a list).
func Slice(m map[string]any, key string) []any {
	s, _ := m[key].([]any)
	return s
}

// String is the string at key in m ("" if absent).
func String(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// Int is the integer at key in m (JSON numbers decode as int64 or float64).
func Int(m map[string]any, key string) (int64, bool) {
	switch v := m[key].(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int:
		return int64(v), true
	case float64:
		return int64(v), true
	}
	return 0, false
}
