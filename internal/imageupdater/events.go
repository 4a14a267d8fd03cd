package imageupdater

// Event reasons of the image updater. Failures use the condition reason
// (AuthFailed, TagNotFound, ...) as the event reason, so events and
// conditions can be matched.
const (
	// EventImageChanged: the registry reports a new tag or digest.
	EventImageChanged = "ImageChanged"
	// EventCommitted: a commit with new images was pushed.
	EventCommitted = "Committed"
	// EventPatched: an Application or workload was patched.
	EventPatched = "Patched"
	// EventRecovered: an image that was failing succeeded again.
	EventRecovered = "Recovered"
)

// Event actions (the events.k8s.io "action" field).
const (
	actionPoll      = "Poll"
	actionWriteBack = "WriteBack"
	actionValidate  = "Validate"
)
