// Package argocd writes images to an Argo CD Application the way
// argocd-image-updater's "argocd" write-back method does: entries
// "<kustomize image name>=<repo>:<tag>@<digest>" in
// spec.source.kustomize.images, which Argo CD hands to
// `kustomize edit set image` when it renders the app. The Application is
// handled as unstructured, so Argo CD's Go module is not needed.
package argocd

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

// ApplicationGVK is Argo CD's Application.
var ApplicationGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}

// Image is one image to set.
type Image struct {
	// KustomizeName is the image name the manifests use.
	KustomizeName string
	// Ref is what it becomes: repo:tag@digest, repo:tag or repo@digest.
	Ref string
}

// Entry is the kustomize images entry for the image.
func (i Image) Entry() string { return i.KustomizeName + "=" + i.Ref }

// SetImages makes the Application's kustomize images name images. It reads
// with r (uncached) and patches with c, guarded by the resourceVersion read,
// so a concurrent edit of the Application fails the patch rather than being
// overwritten. changed[i] reports whether images[i] had to be written.
func SetImages(ctx context.Context, r client.Reader, c client.Client, key types.NamespacedName, images []Image) (changed []bool, err error) {
	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(ApplicationGVK)
	if err := r.Get(ctx, key, app); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "Application %s not found", key)
		}
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "get Application %s", key)
	}
	if _, multi, _ := unstructured.NestedSlice(app.Object, "spec", "sources"); multi {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, nil,
			"Application %s has spec.sources; only single-source Applications are supported", key)
	}
	if t, _, _ := unstructured.NestedString(app.Object, "status", "sourceType"); t != "" && t != "Kustomize" {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, nil,
			"Application %s is a %s application; the argocd write-back supports Kustomize applications", key, t)
	}
	current, _, err := unstructured.NestedStringSlice(app.Object, "spec", "source", "kustomize", "images")
	if err != nil {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "Application %s: spec.source.kustomize.images is not a list of strings", key)
	}
	merged, changed := MergeImages(current, images)
	if !anyTrue(changed) {
		return changed, nil
	}

	orig := app.DeepCopy()
	if err := unstructured.SetNestedStringSlice(app.Object, merged, "spec", "source", "kustomize", "images"); err != nil {
		return nil, fmt.Errorf("set kustomize images of Application %s: %w", key, err)
	}
	if err := c.Patch(ctx, app, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "patch Application %s", key)
	}
	return changed, nil
}

// MergeImages returns current with an entry per image: an entry for the
// same image (by alias before "=", or by image name without tag and digest)
// is replaced in place, others are appended, unrelated entries are kept.
func MergeImages(current []string, images []Image) (merged []string, changed []bool) {
	merged = append([]string(nil), current...)
	changed = make([]bool, len(images))
	for i, img := range images {
		want := img.Entry()
		found := false
		for j, e := range merged {
			if entryName(e) != img.KustomizeName {
				continue
			}
			found = true
			if e != want {
				merged[j] = want
				changed[i] = true
			}
		}
		if !found {
			merged = append(merged, want)
			changed[i] = true
		}
	}
	return merged, changed
}

// entryName is the image an entry overrides: the alias of "alias=ref", or
// the name of a bare "name:tag" / "name@digest".
func entryName(e string) string {
	if alias, _, ok := strings.Cut(e, "="); ok {
		return alias
	}
	return StripTagAndDigest(e)
}

// StripTagAndDigest returns the repository part of an image reference.
func StripTagAndDigest(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	// A ":" after the last "/" starts the tag; before it, it is a port.
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}
