package imageupdater

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
)

// Backoff after failures: backoffBase, doubling per consecutive failure, up
// to the reconciler's MaxBackoff.
const (
	backoffBase       = 5 * time.Second
	DefaultMaxBackoff = 10 * time.Minute
	// minRequeue keeps a clock or rounding oddity from becoming a hot loop.
	minRequeue = time.Second
)

// The status functions below are pure: they take what happened and return
// or edit status, so they are table-tested without a client.

// retryDelay is how long after its last check an image is due again: the
// interval when healthy, an exponential backoff after failures.
func retryDelay(st *imagesv1.ImageStatus, interval, maxBackoff time.Duration) time.Duration {
	if st == nil || st.ConsecutiveFailures <= 0 {
		return interval
	}
	shift := min(st.ConsecutiveFailures-1, 20) // 5s << 20 is far past any cap
	return min(backoffBase<<shift, maxBackoff)
}

// due reports whether an image is to be polled now. A changed spec makes
// every image due.
func due(st *imagesv1.ImageStatus, now time.Time, interval, maxBackoff time.Duration, specChanged bool) bool {
	if specChanged || st == nil || st.LastCheckedAt == nil {
		return true
	}
	return !now.Before(st.LastCheckedAt.Add(retryDelay(st, interval, maxBackoff)))
}

// requeueAfter is the time until the first image is due again.
func requeueAfter(statuses []imagesv1.ImageStatus, now time.Time, interval, maxBackoff time.Duration) time.Duration {
	next := interval
	for i := range statuses {
		st := &statuses[i]
		if st.LastCheckedAt == nil {
			return minRequeue
		}
		next = min(next, st.LastCheckedAt.Add(retryDelay(st, interval, maxBackoff)).Sub(now))
	}
	return max(next, minRequeue)
}

// outcome is the result of one step for one image; the zero value is
// success.
type outcome struct {
	reason, message string
}

func (o outcome) failed() bool { return o.reason != "" }

// recordPoll writes a poll's result into st and reports whether the tag or
// digest changed.
func recordPoll(st *imagesv1.ImageStatus, now metav1.Time, res registry.Result, o outcome) bool {
	st.LastCheckedAt = &now
	if o.failed() {
		recordFailure(st, o)
		return false
	}
	if st.Tag == res.Tag && st.Digest == res.Digest {
		return false
	}
	st.Tag, st.Digest = res.Tag, res.Digest
	st.ChangedAt = &now
	return true
}

// recordWriteBack writes a write-back's result into st. A record for an
// image that was already in place replaces the last one only when the last
// one names another image, so LastWriteBack keeps the time of the real
// change.
func recordWriteBack(st *imagesv1.ImageStatus, rec imagesv1.WriteBackRecord, o outcome) {
	if o.failed() {
		recordFailure(st, o)
		return
	}
	st.ConsecutiveFailures, st.Reason, st.Message = 0, "", ""
	last := st.LastWriteBack
	if rec.Changed || last == nil || last.Image != rec.Image || last.Method != rec.Method || last.Object != rec.Object {
		st.LastWriteBack = &rec
	}
}

func recordFailure(st *imagesv1.ImageStatus, o outcome) {
	st.ConsecutiveFailures++
	st.Reason, st.Message = o.reason, o.message
}

// syncImageStatuses returns statuses in spec order: existing entries kept,
// new images added empty, removed images dropped.
func syncImageStatuses(specs []imagesv1.ImageSpec, current []imagesv1.ImageStatus) []imagesv1.ImageStatus {
	byName := make(map[string]imagesv1.ImageStatus, len(current))
	for _, st := range current {
		byName[st.Name] = st
	}
	out := make([]imagesv1.ImageStatus, len(specs))
	for i, s := range specs {
		st, ok := byName[s.Name]
		if !ok {
			st = imagesv1.ImageStatus{Name: s.Name}
		}
		out[i] = st
	}
	return out
}

// readyCondition summarises the images: True when every image's last poll
// and write-back succeeded; otherwise False with the first failing image's
// reason and every failure in the message.
func readyCondition(statuses []imagesv1.ImageStatus, generation int64) metav1.Condition {
	c := metav1.Condition{Type: imagesv1.ConditionReady, ObservedGeneration: generation}
	var (
		failures []string
		pending  []string
	)
	for _, st := range statuses {
		switch {
		case st.Reason != "":
			if c.Reason == "" {
				c.Reason = st.Reason
			}
			failures = append(failures, fmt.Sprintf("%s: %s", st.Name, st.Message))
		case st.LastCheckedAt == nil:
			pending = append(pending, st.Name)
		}
	}
	switch {
	case len(failures) > 0:
		c.Status = metav1.ConditionFalse
		c.Message = strings.Join(failures, "; ")
	case len(pending) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, imagesv1.ReasonPending
		c.Message = "not polled yet: " + strings.Join(pending, ", ")
	default:
		c.Status, c.Reason = metav1.ConditionTrue, imagesv1.ReasonSucceeded
		c.Message = fmt.Sprintf("%d %s polled and written back", len(statuses), plural(len(statuses), "image", "images"))
	}
	return c
}

// setConditions applies Ready and clears Stalled (a reconcile that got
// this far had a valid spec).
func setConditions(status *imagesv1.ImageUpdaterStatus, ready metav1.Condition) {
	meta.SetStatusCondition(&status.Conditions, ready)
	meta.RemoveStatusCondition(&status.Conditions, imagesv1.ConditionStalled)
}

// setStalled marks the spec as invalid.
func setStalled(status *imagesv1.ImageUpdaterStatus, generation int64, reason, message string) {
	for _, t := range []string{imagesv1.ConditionStalled, imagesv1.ConditionReady} {
		s := metav1.ConditionTrue
		if t == imagesv1.ConditionReady {
			s = metav1.ConditionFalse
		}
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type: t, Status: s, Reason: reason, Message: message, ObservedGeneration: generation,
		})
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
