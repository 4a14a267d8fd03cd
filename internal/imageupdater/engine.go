package imageupdater

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/redact"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
)

// unit is what the engine polls and writes back: a set of images with one
// write-back target. An images.switchyard.dev ImageUpdater is one unit; an
// argocd-image-updater.argoproj.io ImageUpdater is one unit per matched
// Application. Both front doors compile their spec into the plan of a unit
// and hand it to pollUnit and writeBackUnit.
type unit struct {
	// owner receives the events.
	owner runtime.Object
	// namespace and name label the metrics; namespace is where referenced
	// Secrets are read.
	namespace, name string
	// app names the Application in event messages (reference kind only).
	app  string
	plan *plan
	// statuses[i] is plan.images[i]'s status, edited in place.
	statuses []imagesv1.ImageStatus
	// resolved[i] holds plan.images[i]'s registry result when it was
	// polled successfully in this reconcile.
	resolved []*registry.Result
	// current[i] is the reference the target names for plan.images[i]
	// before the write-back ("" when unknown); commit messages and branch
	// names show it as the old version.
	current  []string
	now      metav1.Time
	redactor *redact.Redactor
	// errors counts the failed polls and write-backs of this reconcile.
	errors int
	// updated lists the images written (changed) in this reconcile.
	updated []int
}

// prefix starts event messages about the unit's images.
func (u *unit) prefix() string {
	if u.app == "" {
		return ""
	}
	return "Application " + u.app + ": "
}
