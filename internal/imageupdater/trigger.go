package imageupdater

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
)

// repositoryIndex indexes ImageUpdaters in the informer cache by the
// repositories of their images (webhook.RepositoryKey), so a push event
// finds the ImageUpdaters tracking its image without a scan.
const repositoryIndex = "images.switchyard.dev/repository"

// indexRepositories returns the index values of an ImageUpdater.
func indexRepositories(obj client.Object) []string {
	iu, ok := obj.(*imagesv1.ImageUpdater)
	if !ok {
		return nil
	}
	var keys []string
	for _, im := range iu.Spec.Images {
		if k, err := webhook.RepositoryKey(im.Image); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// triggeredImages returns the aliases of iu's images that ev is a push of.
func triggeredImages(iu *imagesv1.ImageUpdater, ev webhook.Event) []string {
	var aliases []string
	for _, im := range iu.Spec.Images {
		tracked := ""
		if im.Strategy == imagesv1.StrategyDigest || im.Strategy == "" {
			tracked = orDefault(im.Tag, registry.DefaultTag)
		}
		if webhook.Matches(ev, im.Image, tracked) {
			aliases = append(aliases, im.Name)
		}
	}
	return aliases
}

// setupWebhook registers the repository index and watches the webhook
// queue.
func (r *Reconciler) setupWebhook(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &imagesv1.ImageUpdater{}, repositoryIndex, indexRepositories); err != nil {
		return fmt.Errorf("index ImageUpdaters by repository: %w", err)
	}
	return nil
}

// WebhookTracker returns the webhook.Tracker of images.switchyard.dev
// ImageUpdaters: it lists those tracking a pushed image from the informer
// cache and adds them to r.Webhook. Call it after SetupWithManager.
func (r *Reconciler) WebhookTracker() webhook.Tracker {
	return tracker{reader: r.Client, queue: r.Webhook}
}

type tracker struct {
	reader client.Reader
	queue  *webhook.Queue
}

func (t tracker) Trigger(ctx context.Context, ev webhook.Event) (int, error) {
	key, err := ev.Key()
	if err != nil {
		return 0, nil // no image updater can track what is not an image
	}
	var list imagesv1.ImageUpdaterList
	if err := t.reader.List(ctx, &list, client.MatchingFields{repositoryIndex: key}); err != nil {
		return 0, fmt.Errorf("list ImageUpdaters tracking %s: %w", key, err)
	}
	n := 0
	for i := range list.Items {
		iu := &list.Items[i]
		if aliases := triggeredImages(iu, ev); len(aliases) > 0 {
			t.queue.Add(client.ObjectKeyFromObject(iu), aliases...)
			n++
		}
	}
	return n, nil
}
