package instanceid

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestSelectorAndServes(t *testing.T) {
	objects := map[string]map[string]string{
		"unlabelled": {"app": "x"},
		"a":          {v1alpha1.InstanceIDLabelKey: "a"},
		"b":          {v1alpha1.InstanceIDLabelKey: "b"},
		"empty":      {v1alpha1.InstanceIDLabelKey: ""},
	}
	for _, tc := range []struct {
		id   string
		want []string
	}{
		// Without an instance ID: only objects without the label, even an
		// empty one (the reference's rule: the label must not exist).
		{id: "", want: []string{"unlabelled"}},
		{id: "a", want: []string{"a"}},
		{id: "b", want: []string{"b"}},
	} {
		t.Run("id="+tc.id, func(t *testing.T) {
			sel, err := Selector(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			for name, l := range objects {
				want := false
				for _, w := range tc.want {
					want = want || w == name
				}
				if got := sel.Matches(labels.Set(l)); got != want {
					t.Errorf("selector %q matches %s: %v, want %v", sel, name, got, want)
				}
				if got := Serves(tc.id, &metav1.ObjectMeta{Labels: l}); got != want {
					t.Errorf("Serves(%q, %s) = %v, want %v", tc.id, name, got, want)
				}
			}
		})
	}
}

func TestSelectorRefusesInvalidID(t *testing.T) {
	for _, id := range []string{"has space", "-leading", "a/b", string(make([]byte, 64))} {
		if _, err := Selector(id); err == nil {
			t.Errorf("Selector(%q): no error", id)
		}
	}
}

func TestCopyLabel(t *testing.T) {
	owner := &metav1.ObjectMeta{Labels: map[string]string{v1alpha1.InstanceIDLabelKey: "a", "app": "x"}}
	child := &metav1.ObjectMeta{}
	CopyLabel(owner, child)
	if got := child.Labels; len(got) != 1 || got[v1alpha1.InstanceIDLabelKey] != "a" {
		t.Errorf("child labels %v, want only the instance ID a", got)
	}

	child = &metav1.ObjectMeta{Labels: map[string]string{"run": "1"}}
	CopyLabel(&metav1.ObjectMeta{}, child)
	if got := child.Labels; len(got) != 1 || got["run"] != "1" {
		t.Errorf("an unlabelled owner changed the child's labels: %v", got)
	}
}

func TestLeaseName(t *testing.T) {
	for id, want := range map[string]string{"": "switchyard-controller-lock", "blue": "switchyard-controller-lock-blue"} {
		if got := LeaseName("switchyard-controller-lock", id); got != want {
			t.Errorf("LeaseName(%q) = %q, want %q", id, got, want)
		}
	}
}
