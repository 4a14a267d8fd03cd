package rollout

// Event reasons, one per transition users watch for, with the reference's
// names and messages so notification triggers (on-<kebab reason>) and
// alerting rules keep matching. The condition transitions' events
// (RolloutPaused, RolloutResumed, RolloutAborted, RolloutNotCompleted) come
// from internal/conditions.
const (
	EventUpdated       = "RolloutUpdated"
	EventNewReplicaSet = "NewReplicaSetCreated"
	EventScalingRS     = "ScalingReplicaSet"
	EventSwitchService = "SwitchService"
	EventCompleted     = "RolloutCompleted"
	EventInvalidSpec   = "InvalidSpec"
	EventStepCompleted = "RolloutStepCompleted"
	EventSkipSteps     = "SkipSteps"
	EventRestarted     = "RolloutRestarted"
	EventAbortRefused  = "RolloutAbortRefused"
	EventStableMissing = "StableReplicaSetMissing"
)
