// Package workload sets container images directly on a workload in the
// cluster: an Argo Rollout or a Deployment, handled as unstructured so the
// image updater does not depend on the Rollout Go types. Changing the pod
// template is what starts a new rollout revision.
package workload

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

// Target is the workload to update.
type Target struct {
	GVK       schema.GroupVersionKind
	Key       types.NamespacedName
	Container string // only this container, when set
}

func (t Target) String() string { return t.GVK.Kind + " " + t.Key.String() }

// Image is one image to set.
type Image struct {
	// Names are the image names that identify containers running this
	// image (the kustomize name and the registry repository).
	Names []string
	// Ref is what the containers' image becomes: repo:tag@digest.
	Ref string
}

// SetImages sets the image of the target's matching containers and init
// containers. It reads with r (uncached) and patches with c using a JSON
// merge patch guarded by the resourceVersion it read: a merge patch replaces
// the container lists whole, so the precondition is what keeps a concurrent
// change to another container from being lost. changed[i] reports whether
// images[i] changed a container.
func SetImages(ctx context.Context, r client.Reader, c client.Client, t Target, images []Image) (changed []bool, err error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(t.GVK)
	if err := r.Get(ctx, t.Key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "%s not found", t)
		}
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "get %s", t)
	}
	orig := obj.DeepCopy()
	changed, err = SetContainerImages(obj, t, images)
	if err != nil {
		return nil, err
	}
	if !anyTrue(changed) {
		return changed, nil
	}
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "patch %s", t)
	}
	return changed, nil
}

// SetContainerImages edits obj's pod template in memory; it is the pure
// part of SetImages.
func SetContainerImages(obj *unstructured.Unstructured, t Target, images []Image) ([]bool, error) {
	if _, found, _ := unstructured.NestedMap(obj.Object, "spec", "template"); !found {
		if _, ref, _ := unstructured.NestedMap(obj.Object, "spec", "workloadRef"); ref {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, nil,
				"%s takes its pod template from spec.workloadRef; point the ImageUpdater at the referenced workload", t)
		}
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, nil, "%s has no spec.template", t)
	}
	changed := make([]bool, len(images))
	matched := make([]bool, len(images))
	for _, field := range []string{"initContainers", "containers"} {
		path := []string{"spec", "template", "spec", field}
		containers, _, err := unstructured.NestedSlice(obj.Object, path...)
		if err != nil {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, err, "%s: spec.template.spec.%s is not a list", t, field)
		}
		for ci, raw := range containers {
			ctr, ok := raw.(map[string]any)
			if !ok {
				continue
			}
			cname, _ := ctr["name"].(string)
			current, _ := ctr["image"].(string)
			for ii, img := range images {
				if !matches(t, cname, current, img) {
					continue
				}
				matched[ii] = true
				if current != img.Ref {
					ctr["image"] = img.Ref
					containers[ci] = ctr
					changed[ii] = true
				}
			}
		}
		if len(containers) > 0 {
			if err := unstructured.SetNestedSlice(obj.Object, containers, path...); err != nil {
				return nil, fmt.Errorf("set %s of %s: %w", field, t, err)
			}
		}
	}
	for ii, ok := range matched {
		if ok {
			continue
		}
		if t.Container != "" {
			return nil, failure.New(imagesv1.ReasonWriteBackFailed, nil, "%s has no container %q", t, t.Container)
		}
		return nil, failure.New(imagesv1.ReasonWriteBackFailed, nil, "no container of %s runs image %s", t, images[ii].Names[0])
	}
	return changed, nil
}

// matches says whether a container should run img: by name when the target
// names a container, else by the repository of its current image.
func matches(t Target, containerName, current string, img Image) bool {
	if t.Container != "" {
		return containerName == t.Container
	}
	repo := repository(current)
	for _, n := range img.Names {
		if n != "" && repository(n) == repo {
			return true
		}
	}
	return false
}

// repository normalises an image reference to its repository, so "nginx",
// "docker.io/library/nginx:1" and "index.docker.io/library/nginx" agree.
func repository(ref string) string {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		// Not a reference go-containerregistry accepts; compare the text.
		return ref
	}
	return r.Context().Name()
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}
