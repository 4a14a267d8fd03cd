package imageupdater

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
)

// The webhook side of argocd-image-updater.argoproj.io ImageUpdaters. An
// ImageUpdater's images are either in its spec (indexed by repository,
// like images.switchyard.dev ones) or in the annotations of the
// Applications it selects (useAnnotations): those ImageUpdaters are
// indexed under annotationsIndexValue, and a push reads the metadata of
// their namespace's Applications to learn whether it concerns them. What
// the Queue remembers for this kind is the pushed repository
// (webhook.RepositoryKey): an alias names an image only within one
// Application.

const (
	// appRepositoryIndex indexes the reference's ImageUpdaters by the
	// repositories of the images of their spec.
	appRepositoryIndex = "argocd-image-updater.argoproj.io/repository"
	// annotationsIndexValue is the index value of an ImageUpdater with a
	// useAnnotations ref; no repository key has this form.
	annotationsIndexValue = "<annotations>"
)

// indexAppRepositories returns the index values of an ImageUpdater of the
// reference's API.
func indexAppRepositories(obj client.Object) []string {
	cr, ok := obj.(*aiuv1.ImageUpdater)
	if !ok {
		return nil
	}
	var keys []string
	for _, ref := range cr.Spec.ApplicationRefs {
		if deref(ref.UseAnnotations) {
			keys = append(keys, annotationsIndexValue)
			continue
		}
		for _, im := range ref.Images {
			repo, _ := splitImageName(im.ImageName)
			if k, err := webhook.RepositoryKey(repo); err == nil {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// pushedBy reports whether ev is a push of the image: of its repository
// and, for the digest strategy, of the tag it tracks (as for
// images.switchyard.dev images, see triggeredImages).
func (ri refImage) pushedBy(ev webhook.Event) bool {
	repo, constraint := splitImageName(ri.imageName)
	tracked := ""
	if s, ok := refStrategy(deref(ri.settings.UpdateStrategy)); ok && s == imagesv1.StrategyDigest {
		tracked = constraint
	}
	return webhook.Matches(ev, repo, tracked)
}

// appMeta is what choosing an Application's images needs of it.
type appMeta struct {
	name        string
	labels      map[string]string
	annotations map[string]string
}

// triggersApps reports whether ev is a push of an image the ImageUpdater
// tracks: an image of its spec, or of the annotations of one of apps (the
// Applications of its namespace; only read with a useAnnotations ref).
// Each Application gets its images as a check gives them (appImages).
func triggersApps(cr *aiuv1.ImageUpdater, ev webhook.Event, apps func() ([]appMeta, error)) (bool, error) {
	refs, err := compileRefs(cr.Spec.ApplicationRefs)
	if err != nil {
		return false, nil // its checks fail anyway
	}
	annotations := false
	for _, ref := range refs {
		if deref(ref.ref.UseAnnotations) {
			annotations = true
			continue
		}
		for _, ri := range refImages(cr.Spec, ref) {
			if ri.pushedBy(ev) {
				return true, nil
			}
		}
	}
	if !annotations {
		return false, nil
	}
	list, err := apps()
	if err != nil {
		return false, err
	}
	for _, app := range list {
		images, _, err := appImages(cr.Spec, matchingRefs(refs, app.name, app.labels), app.annotations)
		if err != nil {
			continue
		}
		for _, ri := range images {
			if ri.pushedBy(ev) {
				return true, nil
			}
		}
	}
	return false, nil
}

// setupWebhook registers the repository index of the reference's
// ImageUpdaters.
func (r *AppReconciler) setupWebhook(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &aiuv1.ImageUpdater{}, appRepositoryIndex, indexAppRepositories); err != nil {
		return fmt.Errorf("index argocd-image-updater ImageUpdaters by repository: %w", err)
	}
	return nil
}

// WebhookTracker returns the webhook.Tracker of argocd-image-updater.
// argoproj.io ImageUpdaters: it finds those tracking a pushed image (from
// the informer cache, and the metadata of the Applications of those that
// use annotations) and adds them to r.Webhook. Call it after
// SetupWithManager.
func (r *AppReconciler) WebhookTracker() webhook.Tracker {
	return appTracker{cache: r.Client, reader: r.APIReader, queue: r.Webhook}
}

type appTracker struct {
	// cache lists ImageUpdaters by index; reader lists Applications (not
	// cached: the image updater does not watch them).
	cache, reader client.Reader
	queue         *webhook.Queue
}

func (t appTracker) Trigger(ctx context.Context, ev webhook.Event) (int, error) {
	key, err := ev.Key()
	if err != nil {
		return 0, nil // no image updater can track what is not an image
	}
	var candidates []aiuv1.ImageUpdater
	for _, v := range []string{key, annotationsIndexValue} {
		var list aiuv1.ImageUpdaterList
		if err := t.cache.List(ctx, &list, client.MatchingFields{appRepositoryIndex: v}); err != nil {
			return 0, fmt.Errorf("list argocd-image-updater ImageUpdaters tracking %s: %w", key, err)
		}
		candidates = append(candidates, list.Items...)
	}
	// One List of Applications per namespace and event.
	apps := map[string][]appMeta{}
	seen := map[client.ObjectKey]bool{}
	n := 0
	for i := range candidates {
		cr := &candidates[i]
		k := client.ObjectKeyFromObject(cr)
		if seen[k] {
			continue
		}
		seen[k] = true
		ok, err := triggersApps(cr, ev, func() ([]appMeta, error) {
			if list, ok := apps[cr.Namespace]; ok {
				return list, nil
			}
			list, err := t.listApps(ctx, cr.Namespace)
			if err != nil {
				return nil, err
			}
			apps[cr.Namespace] = list
			return list, nil
		})
		if err != nil {
			return n, fmt.Errorf("ImageUpdater %s: %w", k, err)
		}
		if ok {
			t.queue.Add(k, key)
			n++
		}
	}
	return n, nil
}

// listApps reads the metadata of the Applications of a namespace.
func (t appTracker) listApps(ctx context.Context, namespace string) ([]appMeta, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(argocd.ApplicationGVK.GroupVersion().WithKind("ApplicationList"))
	if err := t.reader.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list Applications in %s: %w", namespace, err)
	}
	out := make([]appMeta, 0, len(list.Items))
	for _, a := range list.Items {
		out = append(out, appMeta{name: a.Name, labels: a.Labels, annotations: a.Annotations})
	}
	return out, nil
}

// fullCheck reports whether a check of an ImageUpdater of the reference's
// API polls every image: when no push asked for it, when its spec
// changed, and when its interval has passed since the last full check
// (status.lastCheckedAt). Otherwise the check is a push's: only the
// pushed images (and those never checked) are polled, as
// argocd-image-updater's webhook cuts a run's images to the pushed
// repository.
func fullCheck(status aiuv1.ImageUpdaterStatus, generation int64, now time.Time, interval time.Duration, pushed map[string]bool) bool {
	return len(pushed) == 0 || status.ObservedGeneration != generation || status.LastCheckedAt == nil ||
		!now.Before(status.LastCheckedAt.Add(interval))
}

// pushedImage reports whether the image was pushed (pushed holds
// repository keys).
func pushedImage(ip imagePlan, pushed map[string]bool) bool {
	if len(pushed) == 0 {
		return false
	}
	k, err := webhook.RepositoryKey(ip.spec.Image)
	return err == nil && pushed[k]
}
