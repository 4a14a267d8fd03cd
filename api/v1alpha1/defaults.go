package v1alpha1

import (
	"strconv"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults Argo Rollouts applies to unset fields. They are applied when read
// (the helpers below), never written back to the object, so a Rollout
// round-trips through Switchyard unchanged.
const (
	DefaultReplicas                            int32 = 1
	DefaultRevisionHistoryLimit                int32 = 10
	DefaultProgressDeadlineSeconds             int32 = 600
	DefaultScaleDownDelaySeconds               int32 = 30
	DefaultAbortScaleDownDelaySeconds          int32 = 30
	DefaultMinPodsPerReplicaSet                int32 = 1
	DefaultAnalysisRunSuccessfulHistoryLimit   int32 = 5
	DefaultAnalysisRunUnsuccessfulHistoryLimit int32 = 5
	DefaultAutoPromotionEnabled                      = true
	DefaultMaxSurge                                  = "25%"
	DefaultMaxUnavailable                            = "25%"
)

// ReplicasOrDefault returns spec.replicas, or 1 when unset.
func (r *Rollout) ReplicasOrDefault() int32 {
	return int32OrDefault(r.Spec.Replicas, DefaultReplicas)
}

// RevisionHistoryLimitOrDefault returns spec.revisionHistoryLimit, or 10.
func (r *Rollout) RevisionHistoryLimitOrDefault() int32 {
	return int32OrDefault(r.Spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit)
}

// ProgressDeadlineSecondsOrDefault returns spec.progressDeadlineSeconds, or 600.
func (r *Rollout) ProgressDeadlineSecondsOrDefault() int32 {
	return int32OrDefault(r.Spec.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
}

// SuccessfulRunHistoryLimitOrDefault returns spec.analysis.successfulRunHistoryLimit, or 5.
func (r *Rollout) SuccessfulRunHistoryLimitOrDefault() int32 {
	if r.Spec.Analysis == nil {
		return DefaultAnalysisRunSuccessfulHistoryLimit
	}
	return int32OrDefault(r.Spec.Analysis.SuccessfulRunHistoryLimit, DefaultAnalysisRunSuccessfulHistoryLimit)
}

// UnsuccessfulRunHistoryLimitOrDefault returns spec.analysis.unsuccessfulRunHistoryLimit, or 5.
func (r *Rollout) UnsuccessfulRunHistoryLimitOrDefault() int32 {
	if r.Spec.Analysis == nil {
		return DefaultAnalysisRunUnsuccessfulHistoryLimit
	}
	return int32OrDefault(r.Spec.Analysis.UnsuccessfulRunHistoryLimit, DefaultAnalysisRunUnsuccessfulHistoryLimit)
}

// MaxSurgeOrDefault returns the canary maxSurge, or 25%. Blue-green has no
// surge setting, so it also gets the default.
func (r *Rollout) MaxSurgeOrDefault() intstr.IntOrString {
	return r.Spec.Strategy.Canary.MaxSurgeOrDefault()
}

// MaxUnavailableOrDefault returns the maxUnavailable of whichever strategy is
// set, or 25%. Blue-green uses it only when restarting pods (spec.restartAt).
func (r *Rollout) MaxUnavailableOrDefault() intstr.IntOrString {
	if bg := r.Spec.Strategy.BlueGreen; bg != nil {
		return bg.MaxUnavailableOrDefault()
	}
	return r.Spec.Strategy.Canary.MaxUnavailableOrDefault()
}

// ObservedGenerationString formats a generation the way status.observedGeneration
// stores it (a decimal string, as in Argo).
func ObservedGenerationString(generation int64) string {
	return strconv.FormatInt(generation, 10)
}

// AutoPromotionEnabledOrDefault returns autoPromotionEnabled, or true. Safe on nil.
func (bg *BlueGreenStrategy) AutoPromotionEnabledOrDefault() bool {
	if bg == nil || bg.AutoPromotionEnabled == nil {
		return DefaultAutoPromotionEnabled
	}
	return *bg.AutoPromotionEnabled
}

// ScaleDownDelaySecondsOrDefault returns scaleDownDelaySeconds, or 30. Safe on nil.
func (bg *BlueGreenStrategy) ScaleDownDelaySecondsOrDefault() int32 {
	if bg == nil {
		return DefaultScaleDownDelaySeconds
	}
	return int32OrDefault(bg.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)
}

// AbortScaleDownDelaySecondsOrDefault returns abortScaleDownDelaySeconds, or
// 30. A result of 0 means the preview ReplicaSet is never scaled down after
// an abort. Safe on nil.
func (bg *BlueGreenStrategy) AbortScaleDownDelaySecondsOrDefault() int32 {
	if bg == nil {
		return DefaultAbortScaleDownDelaySeconds
	}
	return int32OrDefault(bg.AbortScaleDownDelaySeconds, DefaultAbortScaleDownDelaySeconds)
}

// PreviewReplicaCountOrDefault returns previewReplicaCount, or replicas when
// unset (the preview stack is then full size). Safe on nil.
func (bg *BlueGreenStrategy) PreviewReplicaCountOrDefault(replicas int32) int32 {
	if bg == nil {
		return replicas
	}
	return int32OrDefault(bg.PreviewReplicaCount, replicas)
}

// MaxUnavailableOrDefault returns maxUnavailable, or 25%. Safe on nil.
func (bg *BlueGreenStrategy) MaxUnavailableOrDefault() intstr.IntOrString {
	if bg == nil || bg.MaxUnavailable == nil {
		return intstr.FromString(DefaultMaxUnavailable)
	}
	return *bg.MaxUnavailable
}

// MaxSurgeOrDefault returns maxSurge, or 25%. Safe on nil.
func (c *CanaryStrategy) MaxSurgeOrDefault() intstr.IntOrString {
	if c == nil || c.MaxSurge == nil {
		return intstr.FromString(DefaultMaxSurge)
	}
	return *c.MaxSurge
}

// MaxUnavailableOrDefault returns maxUnavailable, or 25%. Safe on nil.
func (c *CanaryStrategy) MaxUnavailableOrDefault() intstr.IntOrString {
	if c == nil || c.MaxUnavailable == nil {
		return intstr.FromString(DefaultMaxUnavailable)
	}
	return *c.MaxUnavailable
}

// ScaleDownDelaySecondsOrDefault returns scaleDownDelaySeconds, or 30. It is
// only meaningful with trafficRouting; a basic canary has no delay. Safe on nil.
func (c *CanaryStrategy) ScaleDownDelaySecondsOrDefault() int32 {
	if c == nil {
		return DefaultScaleDownDelaySeconds
	}
	return int32OrDefault(c.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)
}

// AbortScaleDownDelaySecondsOrDefault returns abortScaleDownDelaySeconds, or
// 30 (0 = never). Only meaningful with trafficRouting. Safe on nil.
func (c *CanaryStrategy) AbortScaleDownDelaySecondsOrDefault() int32 {
	if c == nil {
		return DefaultAbortScaleDownDelaySeconds
	}
	return int32OrDefault(c.AbortScaleDownDelaySeconds, DefaultAbortScaleDownDelaySeconds)
}

// MinPodsPerReplicaSetOrDefault returns minPodsPerReplicaSet, or 1. Safe on nil.
func (c *CanaryStrategy) MinPodsPerReplicaSetOrDefault() int32 {
	if c == nil {
		return DefaultMinPodsPerReplicaSet
	}
	return int32OrDefault(c.MinPodsPerReplicaSet, DefaultMinPodsPerReplicaSet)
}

// GetCondition returns the condition of the given type, or nil. The pointer
// aliases the slice element so callers can update it in place.
func (s *RolloutStatus) GetCondition(t RolloutConditionType) *RolloutCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

func int32OrDefault(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
