// Package eventrecorder records events.k8s.io/v1 Events like client-go's
// events broadcaster (k8s.io/client-go/tools/events) does on the wire, but
// keeps far less per recent Event and starts no goroutine per Event.
//
// What an Event looks like, and how repeats turn into an EventSeries, is
// client-go's: an Event isomorphic to one sent in the last six minutes (same
// type, action, reason, reporting controller and instance, regarding and
// related objects) becomes a series of the first (count 2, written at
// once); later repeats only count; a series seen last more than six
// minutes ago gets its final count written and is forgotten; an ongoing
// series gets its count written every thirty minutes.
//
// Where client-go keeps a deep copy of every Event it sent (about 1.5 KiB
// each) to build the series, a Broadcaster keeps a 128-bit hash of the
// isomorphic fields, the Event's name and namespace, its count and two
// times. Writes go through one FIFO served by a few workers, paced by the
// REST client's rate limiter: recording never blocks the caller and a burst
// is never dropped.
package eventrecorder

import (
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record/util"
	"k8s.io/client-go/tools/reference"
	"k8s.io/klog/v2"
)

// Recorder records Events as one reporting controller. It implements
// client-go's events.EventRecorder and events.AnnotatedEventRecorder.
type Recorder struct {
	b                   *Broadcaster
	reportingController string
	reportingInstance   string
}

var (
	_ events.EventRecorder          = (*Recorder)(nil)
	_ events.AnnotatedEventRecorder = (*Recorder)(nil)
)

// Recorder returns a recorder whose Events name reportingController, and
// reportingController-<hostname> as their reporting instance (as
// client-go's recorder does).
func (b *Broadcaster) Recorder(reportingController string) *Recorder {
	host := b.hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	return &Recorder{b: b, reportingController: reportingController, reportingInstance: reportingController + "-" + host}
}

// Eventf records an Event about regarding (and related, which may be nil).
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.AnnotatedEventf(regarding, related, nil, eventtype, reason, action, note, args...)
}

// AnnotatedEventf is Eventf with annotations on the Event.
func (r *Recorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any) {
	ev, ok := r.makeEvent(regarding, related, annotations, eventtype, reason, action, fmt.Sprintf(note, args...))
	if ok {
		r.b.record(ev)
	}
}

// makeEvent builds the Event client-go's recorder would build; false when
// it would record none (no reference to regarding, or an unknown type).
func (r *Recorder) makeEvent(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, message string) (*eventsv1.Event, bool) {
	log := r.b.log
	refRegarding, err := reference.GetReference(r.b.scheme, regarding)
	if err != nil {
		log.Error(err, "Could not construct reference, will not report event", "object", regarding, "eventType", eventtype, "reason", reason, "message", message)
		return nil, false
	}
	var refRelated *corev1.ObjectReference
	if related != nil {
		refRelated, err = reference.GetReference(r.b.scheme, related)
		if err != nil {
			log.V(9).Info("Could not construct reference", "object", related, "err", err)
		}
	}
	if !util.ValidateEventType(eventtype) {
		log.Error(nil, "Unsupported event type", "eventType", eventtype)
		return nil, false
	}
	now := r.b.clock.Now()
	// An Event lives in its regarding object's namespace; one about a
	// cluster-scoped object lives in "default".
	namespace := refRegarding.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:        util.GenerateEventName(refRegarding.Name, now.UnixNano()),
			Namespace:   namespace,
			Annotations: annotations,
		},
		EventTime:           metav1.MicroTime{Time: now},
		ReportingController: r.reportingController,
		ReportingInstance:   r.reportingInstance,
		Action:              action,
		Reason:              reason,
		Regarding:           *refRegarding,
		Related:             refRelated,
		Note:                message,
		Type:                eventtype,
	}, true
}

// logEvent logs an Event at V(1), as controller-runtime's recorder does.
func logEvent(log klog.Logger, ev *eventsv1.Event) {
	log.V(1).Info("Event occurred", "object", klog.KRef(ev.Regarding.Namespace, ev.Regarding.Name), "kind", ev.Regarding.Kind,
		"apiVersion", ev.Regarding.APIVersion, "type", ev.Type, "reason", ev.Reason, "action", ev.Action, "note", ev.Note)
}
