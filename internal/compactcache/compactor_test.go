package compactcache

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCompactorKeepsTheLastDecoded checks that only the last keep objects
// hold their decoded form, whichever was encoded when.
func TestCompactorKeepsTheLastDecoded(t *testing.T) {
	const keep = 3
	c := NewCompactor[appsv1.ReplicaSet](keep)
	var objs []*Object[appsv1.ReplicaSet, *appsv1.ReplicaSet]
	for i := range 7 {
		out, err := c.Transform(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("rs-%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, out.(*Object[appsv1.ReplicaSet, *appsv1.ReplicaSet]))
		for j, o := range objs {
			if want, got := j > i-keep, o.decoded.Load() != nil; got != want {
				t.Fatalf("after %d objects, object %d keeps its decoded form: %v, want %v", i+1, j, got, want)
			}
		}
	}
	// Without room, nothing is kept.
	out, err := NewCompactor[appsv1.ReplicaSet](0).Transform(&appsv1.ReplicaSet{})
	if err != nil {
		t.Fatal(err)
	}
	if out.(*Object[appsv1.ReplicaSet, *appsv1.ReplicaSet]).decoded.Load() != nil {
		t.Error("a Compactor with no room kept a decoded form")
	}
}
