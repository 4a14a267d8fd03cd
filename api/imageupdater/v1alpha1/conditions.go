package v1alpha1

// Condition types of an ImageUpdater.
const (
	// ConditionReady is True when every image was polled and written back at
	// its last attempt.
	ConditionReady = "Ready"
	// ConditionStalled is True when the spec cannot work until it changes;
	// the controller does not retry until then.
	ConditionStalled = "Stalled"
)

// Condition reasons. They are API: clients and alerts switch on them, and
// status.images[].reason uses the same values.
const (
	// ReasonSucceeded: every image was polled and written back.
	ReasonSucceeded = "Succeeded"
	// ReasonSuspended: spec.suspend is set.
	ReasonSuspended = "Suspended"
	// ReasonInvalidSpec: the spec cannot work (bad regexp, constraint,
	// template, cross-namespace reference).
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonCredentialsNotFound: a referenced Secret or ConfigMap is missing
	// or lacks the expected keys.
	ReasonCredentialsNotFound = "CredentialsNotFound"
	// ReasonAuthFailed: the registry or git server refused the credentials.
	ReasonAuthFailed = "AuthFailed"
	// ReasonAmbientCredentialsNotAllowed: the registry needs the image
	// updater's own credentials (its cloud identity), which ImageUpdaters in
	// this namespace may not use (--ambient-credentials-namespaces).
	ReasonAmbientCredentialsNotAllowed = "AmbientCredentialsNotAllowed"
	// ReasonTagNotFound: the tag (or the repository) does not exist.
	ReasonTagNotFound = "TagNotFound"
	// ReasonNoMatchingTag: no tag passed the filters and the constraint.
	ReasonNoMatchingTag = "NoMatchingTag"
	// ReasonPlatformNotFound: the chosen image lacks a requested platform.
	ReasonPlatformNotFound = "PlatformNotFound"
	// ReasonRegistryUnreachable: the registry could not be reached or its
	// TLS certificate was not trusted.
	ReasonRegistryUnreachable = "RegistryUnreachable"
	// ReasonRegistryError: the registry answered with an unexpected error.
	ReasonRegistryError = "RegistryError"
	// ReasonGitUnreachable: the git server could not be reached.
	ReasonGitUnreachable = "GitUnreachable"
	// ReasonPushRejected: the git server kept rejecting the push (concurrent
	// pushes beyond the retry budget, protected branch, hook).
	ReasonPushRejected = "PushRejected"
	// ReasonWriteBackFailed: writing back failed for another reason
	// (missing kustomization, target object missing, API error).
	ReasonWriteBackFailed = "WriteBackFailed"
	// ReasonPending: the image has not been polled yet.
	ReasonPending = "Pending"
)
