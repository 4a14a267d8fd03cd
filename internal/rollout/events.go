package rollout

// Event reasons, one per transition users watch for. Argo Rollouts' names are
// kept where it has one, so alerting rules keep matching.
const (
	EventNewReplicaSet    = "NewReplicaSetCreated"
	EventScalingRS        = "ScalingReplicaSet"
	EventSwitchService    = "SwitchService"
	EventPaused           = "RolloutPaused"
	EventResumed          = "RolloutResumed"
	EventPromoted         = "RolloutPromoted"
	EventCompleted        = "RolloutCompleted"
	EventAborted          = "RolloutAborted"
	EventRetried          = "RolloutRetry"
	EventInvalidSpec      = "InvalidSpec"
	EventDeadlineExceeded = "ProgressDeadlineExceeded"
	EventStepCompleted    = "RolloutStepCompleted"
	EventScaleDownDelay   = "ScaleDownDelaySet"
)
