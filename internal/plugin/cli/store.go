package cli

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// Cached lists a typed informer's store as values of T; anything else in
// it is left out.
func Cached[T any](store cache.Store) []T {
	objs := store.List()
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		if t, ok := obj.(*T); ok {
			out = append(out, *t)
		}
	}
	return out
}

// CachedDecoded converts the objects of a dynamic informer's store into
// T. One it cannot convert is left out, with an error naming it: a caller
// may fail on it or show the rest.
func CachedDecoded[T any](store cache.Store) ([]T, []error) {
	objs := store.List()
	out := make([]T, 0, len(objs))
	var errs []error
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		var t T
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &t); err != nil {
			errs = append(errs, fmt.Errorf("read %s %s from cache: %w", u.GetKind(), u.GetName(), err))
			continue
		}
		out = append(out, t)
	}
	return out, errs
}
