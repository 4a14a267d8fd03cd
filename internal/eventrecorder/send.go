package eventrecorder

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	restclient "k8s.io/client-go/rest"
)

// send performs w, trying again (after a jittered wait) while the failure
// is one a later attempt may not meet, at most maxTries times.
func (b *Broadcaster) send(ctx context.Context, w write) {
	for try := 1; ; try++ {
		retry := b.attempt(ctx, w)
		if !retry {
			return
		}
		if try >= maxTries {
			b.log.Error(nil, "Unable to write event (retry limit exceeded!)", "event", describe(w))
			return
		}
		t := time.NewTimer(wait.Jitter(b.retryDelay, 0.25))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// attempt makes one try at w and reports whether to try again. The
// outcomes follow client-go's recorder: a series is patched, and created
// when its Event is gone; a request that cannot be built or that the
// server rejects is abandoned; other failures (transport, unexpected
// answers) are retried.
func (b *Broadcaster) attempt(ctx context.Context, w write) bool {
	var err error
	isSeries := w.kind != create
	switch w.kind {
	case create:
		_, err = b.client.Events(w.event.Namespace).Create(ctx, w.event, metav1.CreateOptions{})
	case seriesStart:
		err = b.patchSeries(ctx, w.event.Namespace, w.event.Name, w.event.Series)
		if apierrors.IsNotFound(err) {
			w.event.ResourceVersion = ""
			_, err = b.client.Events(w.event.Namespace).Create(ctx, w.event, metav1.CreateOptions{})
		}
	case seriesCount:
		err = b.patchSeries(ctx, w.namespace, w.name, &w.series)
		if apierrors.IsNotFound(err) {
			// Only a name, count and time are kept of a series: its Event,
			// deleted meanwhile, cannot be written again.
			b.log.V(1).Info("Event series not updated: its Event is gone", "namespace", w.namespace, "name", w.name, "count", w.series.Count)
			return false
		}
	}
	if err == nil {
		return false
	}
	var construct *restclient.RequestConstructionError
	var status apierrors.APIStatus
	var unexpected *apierrors.UnexpectedObjectError
	switch {
	case ctx.Err() != nil:
		b.log.Error(err, "Unable to write event (the recorder stopped)", "event", describe(w))
		return false
	case errors.As(err, &construct):
		b.log.Error(err, "Unable to construct event (will not retry!)", "event", describe(w))
		return false
	case errors.As(err, &unexpected):
	case errors.As(err, &status):
		if apierrors.IsAlreadyExists(err) {
			// A series whose Event was created meanwhile (its first write
			// still in flight) is patched on the next try.
			if isSeries {
				return true
			}
			b.log.V(5).Info("Server rejected event (will not retry!)", "event", describe(w), "err", err)
			return false
		}
		b.log.Error(err, "Server rejected event (will not retry!)", "event", describe(w))
		return false
	}
	b.log.Error(err, "Unable to write event (may retry after sleeping)", "event", describe(w))
	return true
}

// patchSeries writes series onto the Event namespace/name with the
// strategic merge patch client-go sends: the series field alone.
func (b *Broadcaster) patchSeries(ctx context.Context, namespace, name string, series *eventsv1.EventSeries) error {
	patch, err := seriesPatch(series)
	if err != nil {
		return err
	}
	_, err = b.client.Events(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

func seriesPatch(series *eventsv1.EventSeries) ([]byte, error) {
	return json.Marshal(struct {
		Series *eventsv1.EventSeries `json:"series"`
	}{series})
}

// describe names w's Event in logs.
func describe(w write) string {
	if w.event != nil {
		return w.event.Namespace + "/" + w.event.Name
	}
	return w.namespace + "/" + w.name
}
