package rollout

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestForgetBoundsTheMaps: what the reconciler remembers of a Rollout goes
// when the Rollout does, whatever else it remembers.
func TestForgetBoundsTheMaps(t *testing.T) {
	r := &Reconciler{}
	gone := types.NamespacedName{Namespace: "ns", Name: "gone"}
	kept := types.NamespacedName{Namespace: "ns", Name: "kept"}
	for _, key := range []types.NamespacedName{gone, kept} {
		r.ownWrites.Store(key, []string{"1"})
		r.templateHashes.Store(key, templateHash{hash: "h"})
		r.validSpecs.Store(key, specVersion{uid: "u", generation: 1})
		r.equivalents.Store(equivalentKey{rollout: key, uid: "u", hash: "a"}, "rs-a")
		r.equivalents.Store(equivalentKey{rollout: key, uid: "u", hash: "b"}, "rs-b")
	}
	r.forget(gone)
	count := func(m interface {
		Range(func(k, v any) bool)
	}) (n int) {
		m.Range(func(any, any) bool { n++; return true })
		return n
	}
	if n := count(&r.ownWrites); n != 1 {
		t.Errorf("ownWrites has %d entries, want 1", n)
	}
	if n := count(&r.templateHashes); n != 1 {
		t.Errorf("templateHashes has %d entries, want 1", n)
	}
	if n := count(&r.validSpecs); n != 1 {
		t.Errorf("validSpecs has %d entries, want 1", n)
	}
	if n := count(&r.equivalents); n != 2 {
		t.Errorf("equivalents has %d entries, want 2 (kept's)", n)
	}
	if _, ok := r.equivalents.Load(equivalentKey{rollout: kept, uid: "u", hash: "a"}); !ok {
		t.Error("kept's entry was dropped")
	}
}
