package notifications

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// Recorder records events through Recorder and hands each one to the
// Notifier, which announces those of Rollouts that subscribe to their
// trigger. Recording stays as fast as before: the Notifier only queues.
type Recorder struct {
	events.EventRecorder
	Notifier *Notifier
}

// Eventf records the event, then queues its notification.
func (r Recorder) Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
	r.Notifier.Enqueue(regarding, eventtype, reason, fmt.Sprintf(note, args...))
}
