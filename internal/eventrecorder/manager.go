package eventrecorder

import (
	"fmt"

	typedeventsv1 "k8s.io/client-go/kubernetes/typed/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// ForManager returns a recorder reporting as reportingController whose
// Broadcaster writes through mgr's client configuration and runs with
// mgr: it is the drop-in for mgr.GetEventRecorder(reportingController).
func ForManager(mgr manager.Manager, reportingController string) (*Recorder, error) {
	// The events.k8s.io client alone, not a clientset of every group.
	events, err := typedeventsv1.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("event client: %w", err)
	}
	b := New(Options{
		Client: events,
		Scheme: mgr.GetScheme(),
		Log:    mgr.GetLogger().WithName("events").WithValues("reportingController", reportingController),
	})
	if err := mgr.Add(b); err != nil {
		return nil, fmt.Errorf("add event recorder: %w", err)
	}
	return b.Recorder(reportingController), nil
}
