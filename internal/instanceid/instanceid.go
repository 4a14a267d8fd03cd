// Package instanceid implements the reference's rule for sharing a cluster
// between controllers: with an instance ID a controller serves only the
// objects labelled with it (v1alpha1.InstanceIDLabelKey), without one only
// the objects that have no such label.
package instanceid

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Validate checks that id can be a label value ("" means no instance ID).
func Validate(id string) error {
	if errs := validation.IsValidLabelValue(id); len(errs) > 0 {
		return fmt.Errorf("instance ID %q is not a valid label value: %s", id, strings.Join(errs, "; "))
	}
	return nil
}

// Selector selects the objects the controller with instance ID id serves:
// those labelled with id, or, for "", those without the label.
func Selector(id string) (labels.Selector, error) {
	if err := Validate(id); err != nil {
		return nil, err
	}
	var req *labels.Requirement
	var err error
	if id == "" {
		req, err = labels.NewRequirement(v1alpha1.InstanceIDLabelKey, selection.DoesNotExist, nil)
	} else {
		req, err = labels.NewRequirement(v1alpha1.InstanceIDLabelKey, selection.Equals, []string{id})
	}
	if err != nil {
		return nil, err
	}
	return labels.NewSelector().Add(*req), nil
}

// Serves reports whether the controller with instance ID id serves obj.
func Serves(id string, obj metav1.Object) bool {
	got, labelled := obj.GetLabels()[v1alpha1.InstanceIDLabelKey]
	if id == "" {
		return !labelled
	}
	return labelled && got == id
}

// CopyLabel gives child, an object created for owner (an AnalysisRun or
// Experiment for a Rollout), owner's instance-ID label, so that the same
// controller instance serves it. Without the label on owner, child is
// left as it is.
func CopyLabel(owner, child metav1.Object) {
	id, ok := owner.GetLabels()[v1alpha1.InstanceIDLabelKey]
	if !ok {
		return
	}
	l := child.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[v1alpha1.InstanceIDLabelKey] = id
	child.SetLabels(l)
}

// LeaseName is the leader-election Lease of the controller with instance ID
// id: base, suffixed with "-<id>" when id is set, so that instances elect
// their leaders independently.
func LeaseName(base, id string) string {
	if id == "" {
		return base
	}
	return base + "-" + id
}
