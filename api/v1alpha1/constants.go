package v1alpha1

// Condition types. The values are part of the API: Argo CD's health check and
// the kubectl plugin match on them.
const (
	RolloutInvalidSpec    RolloutConditionType = "InvalidSpec"
	RolloutAvailable      RolloutConditionType = "Available"
	RolloutProgressing    RolloutConditionType = "Progressing"
	RolloutReplicaFailure RolloutConditionType = "ReplicaFailure"
	RolloutPaused         RolloutConditionType = "Paused"
	RolloutCompleted      RolloutConditionType = "Completed"
	RolloutHealthy        RolloutConditionType = "Healthy"
	// RolloutTrafficRoutingCondition is Switchyard's own: False while a
	// traffic router cannot be written, naming the object (clients ignore
	// condition types they do not know).
	RolloutTrafficRoutingCondition RolloutConditionType = "TrafficRouting"
)

// Condition reasons, with Argo's spelling. Clients key on some of them (phase
// Degraded for RolloutAborted and ProgressDeadlineExceeded), so the strings
// must not change.
const (
	// Progressing reasons.
	NewReplicaSetReason          = "NewReplicaSetCreated"
	FoundNewRSReason             = "FoundNewReplicaSet"
	NewRSAvailableReason         = "NewReplicaSetAvailable"
	ReplicaSetUpdatedReason      = "ReplicaSetUpdated"
	ReplicaSetNotAvailableReason = "ReplicaSetNotAvailable"
	RolloutUpdatedReason         = "RolloutUpdated"
	TimedOutReason               = "ProgressDeadlineExceeded"
	PausedRolloutReason          = "RolloutPaused"
	ResumedRolloutReason         = "RolloutResumed"
	RolloutAbortedReason         = "RolloutAborted"
	RolloutRetryReason           = "RolloutRetry"

	// FailedRSCreateReason is Progressing=False's reason when the API server
	// refuses the new ReplicaSet.
	FailedRSCreateReason = "ReplicaSetCreateError"

	// InvalidSpec reason.
	InvalidSpecReason = "InvalidSpec"

	// TrafficRoutingErrorReason is the TrafficRouting condition's reason
	// (and the event's) when a router write fails.
	TrafficRoutingErrorReason = "TrafficRoutingError"

	// AvailableReason is literally Argo's string, used for Available=True.
	AvailableReason = "AvailableReason"
	// NotAvailableReason is for Available=False. Argo reuses AvailableReason
	// there (only the message differs), so this is the same string and
	// clients matching Argo's value keep working.
	NotAvailableReason = AvailableReason

	// Completed reasons.
	RolloutCompletedReason    = "RolloutCompleted"
	RolloutNotCompletedReason = "RolloutNotCompleted"

	// RolloutHealthyReason is used for Healthy=True and Healthy=False alike,
	// as in Argo; the message tells them apart.
	RolloutHealthyReason = "RolloutHealthy"
)

// Pause reasons recorded in status.pauseConditions.
const (
	PauseReasonCanaryPauseStep        PauseReason = "CanaryPauseStep"
	PauseReasonBlueGreenPause         PauseReason = "BlueGreenPause"
	PauseReasonInconclusiveAnalysis   PauseReason = "InconclusiveAnalysisRun"
	PauseReasonInconclusiveExperiment PauseReason = "InconclusiveExperiment"
)

// Phases reported in status.phase.
const (
	RolloutPhaseHealthy     RolloutPhase = "Healthy"
	RolloutPhaseProgressing RolloutPhase = "Progressing"
	RolloutPhasePaused      RolloutPhase = "Paused"
	RolloutPhaseDegraded    RolloutPhase = "Degraded"
)

// Ping-pong Service roles.
const (
	PPPing PingPongType = "ping"
	PPPong PingPongType = "pong"
)

// workloadRef.scaleDown values.
const (
	ScaleDownNever         = "never"
	ScaleDownOnSuccess     = "onsuccess"
	ScaleDownProgressively = "progressively"
)

// Label and annotation keys shared with Argo Rollouts. ReplicaSets, pods and
// Services labelled by either controller must be recognised by the other,
// so these are fixed strings.
const (
	// DefaultRolloutUniqueLabelKey carries the pod-template hash on
	// ReplicaSets, their selectors and pods, and on Service selectors.
	DefaultRolloutUniqueLabelKey = "rollouts-pod-template-hash"
	// ManagedByRolloutsKey is set on Services whose selector the controller edits.
	ManagedByRolloutsKey = "argo-rollouts.argoproj.io/managed-by-rollouts"
	// DefaultReplicaSetScaleDownDeadlineAnnotationKey holds the RFC3339 time
	// after which an old ReplicaSet may be scaled to zero.
	DefaultReplicaSetScaleDownDeadlineAnnotationKey = "scale-down-deadline"
	// DefaultReplicaSetRestartAnnotationKey marks a ReplicaSet restarted by spec.restartAt.
	DefaultReplicaSetRestartAnnotationKey = "argo-rollouts.argoproj.io/restarted-after"
	// LabelKeyControllerInstanceID segregates objects between controller instances.
	LabelKeyControllerInstanceID = "argo-rollouts.argoproj.io/controller-instance-id"

	// RevisionAnnotation is the rollout revision a ReplicaSet (and the Rollout) is at.
	RevisionAnnotation = "rollout.argoproj.io/revision"
	// RevisionHistoryAnnotation lists earlier revisions a ReplicaSet served.
	RevisionHistoryAnnotation = "rollout.argoproj.io/revision-history"
	// DesiredReplicasAnnotation is spec.replicas of the Rollout when the RS was last synced.
	DesiredReplicasAnnotation = "rollout.argoproj.io/desired-replicas"
	// WorkloadGenerationAnnotation is the generation of a referenced workload.
	WorkloadGenerationAnnotation = "rollout.argoproj.io/workload-generation"
	// EphemeralMetadataAnnotation on a ReplicaSet records the ephemeral
	// labels and annotations (JSON) the controller injected into its pod
	// template, so only those are removed when its role changes.
	EphemeralMetadataAnnotation = "rollout.argoproj.io/ephemeral-metadata"
	// ExperimentNameAnnotationKey marks a ReplicaSet an Experiment created.
	ExperimentNameAnnotationKey = "experiment.argoproj.io/name"
)
