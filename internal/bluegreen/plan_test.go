package bluegreen

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := now.Add(d); return &t }

// seed is the blue-green seed in the middle of an update: stable "old" live
// behind the active Service, new revision "new".
func seed() Observed {
	return Observed{
		StableRecorded: true,
		Replicas:       1, PreviewReplicas: 1,
		New:            ReplicaSet{Hash: "new", Revision: 2},
		Stable:         &ReplicaSet{Hash: "old", Revision: 1, Replicas: 1, Available: 1},
		ActiveSelector: "old", PreviewSelector: "old", HasPreview: true,
		ScaleDownDelay: 30 * time.Second, AbortScaleDownDelay: 30 * time.Second,
		Now: now,
	}
}

// promotedPastDeadline: "new" promoted, active and available at replicas;
// "old", the previous revision, still at replicas past its scale-down
// deadline.
func promotedPastDeadline(o *Observed, replicas int32) {
	o.Replicas, o.PreviewReplicas = replicas, replicas
	o.New.Replicas, o.New.Available = replicas, replicas
	o.Others = []ReplicaSet{{Hash: "old", Revision: 1, Replicas: replicas, Available: replicas, ScaleDownAt: at(-time.Second)}}
	o.Stable = &ReplicaSet{Hash: "new", Revision: 2, Replicas: replicas, Available: replicas}
	o.ActiveSelector, o.PreviewSelector = "new", "new"
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Observed)
		want   Plan
	}{{
		name: "first deploy waits for the new pods before going live",
		mutate: func(o *Observed) {
			o.Stable, o.ActiveSelector, o.PreviewSelector = nil, "", ""
		},
		want: Plan{Scale: map[string]int32{"new": 1}, Waiting: WaitNewAvailable},
	}, {
		name: "first deploy goes live without a pause once available and ready endpoints",
		mutate: func(o *Observed) {
			o.Stable, o.ActiveSelector, o.PreviewSelector = nil, "", ""
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
		},
		want: Plan{Scale: map[string]int32{"new": 1}, ActiveSelector: "new", PreviewSelector: "new", Promoted: true},
	}, {
		name: "first deploy: available but not yet ready endpoints, no switch",
		mutate: func(o *Observed) {
			o.Stable, o.ActiveSelector, o.PreviewSelector = nil, "", ""
			o.New.Replicas, o.New.Available = 1, 1
		},
		want: Plan{Scale: map[string]int32{"new": 1}, Waiting: WaitNewEndpoints, RequeueAfter: endpointRecheckTime},
	}, {
		name: "initial deploy recorded as stable: the active Service waits for every pod, not the first",
		mutate: func(o *Observed) {
			o.Replicas, o.PreviewReplicas = 3, 3
			o.Stable = &ReplicaSet{Hash: "new", Revision: 1, Replicas: 3, Available: 1}
			o.New = *o.Stable
			o.ActiveSelector, o.PreviewSelector = "", ""
		},
		want: Plan{Scale: map[string]int32{"new": 3}, Waiting: WaitNewAvailable},
	}, {
		name: "stable on the new pods but the active Service not: switch only on ready endpoints",
		mutate: func(o *Observed) {
			o.Stable = &ReplicaSet{Hash: "new", Revision: 2, Replicas: 1, Available: 1}
			o.New = *o.Stable
			o.Others = []ReplicaSet{{Hash: "old", Revision: 1, Replicas: 1, Available: 1}}
		},
		want: Plan{Scale: map[string]int32{"new": 1}, Waiting: WaitNewEndpoints, RequeueAfter: endpointRecheckTime},
	}, {
		name: "active Service re-applied without the hash mid-update: back to stable, the pause holds",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.ActiveSelector, o.PreviewSelector = "", "new"
			o.PauseStart, o.ControllerPause = at(-time.Minute), true
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, ActiveSelector: "old", Waiting: WaitPromotion},
	}, {
		name: "abort arriving after the switch, before it was recorded: honoured, back to stable",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector, o.Abort = "new", "new", true
		},
		want: Plan{Scale: map[string]int32{"old": 1}, ActiveSelector: "old", PreviewSelector: "old",
			ScaleDownAt: map[string]time.Time{"new": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second, Waiting: WaitAbortScaleDown},
	}, {
		name:   "new revision scales up behind the old active and preview",
		mutate: func(o *Observed) {},
		want:   Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitNewAvailable},
	}, {
		name: "available new revision: preview switches, rollout pauses",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available = 1, 1
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, PreviewSelector: "new", AddPause: true, Waiting: WaitPromotion},
	}, {
		name: "paused stays paused",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available = 1, 1
			o.PreviewSelector, o.PauseStart, o.ControllerPause = "new", at(-time.Minute), true
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitPromotion},
	}, {
		name: "promote (pause conditions cleared) switches active once endpoints are ready",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.PreviewSelector, o.ControllerPause = "new", true
		},
		want: Plan{
			Scale: map[string]int32{"old": 1, "new": 1}, ActiveSelector: "new", Promoted: true, ClearPause: true,
			ScaleDownAt: map[string]time.Time{"old": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second,
		},
	}, {
		name: "promote waits for the new pods to be ready endpoints",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 0
			o.PreviewSelector, o.ControllerPause = "new", true
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitNewEndpoints, RequeueAfter: endpointRecheckTime},
	}, {
		name: "preview never points at a ReplicaSet without available pods",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available = 1, 0
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitNewAvailable},
	}, {
		name: "previewReplicaCount scales the preview small, promotion scales it up before the switch",
		mutate: func(o *Observed) {
			o.Replicas, o.PreviewReplicas = 4, 1
			o.Stable.Replicas, o.Stable.Available = 4, 4
			o.New.Replicas, o.New.Available = 1, 1
			o.PreviewSelector, o.ControllerPause = "new", true
		},
		want: Plan{Scale: map[string]int32{"old": 4, "new": 4}, Waiting: WaitNewAvailable},
	}, {
		name: "auto-promotion seconds: pause, then requeue for the rest of the delay",
		mutate: func(o *Observed) {
			o.AutoPromotionEnabled, o.AutoPromotionSeconds = true, 60
			o.New.Replicas, o.New.Available = 1, 1
			o.PreviewSelector, o.PauseStart, o.ControllerPause = "new", at(-20*time.Second), true
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitAutoPromotion, RequeueAfter: 40 * time.Second},
	}, {
		name: "auto-promotion seconds elapsed: promote",
		mutate: func(o *Observed) {
			o.AutoPromotionEnabled, o.AutoPromotionSeconds = true, 60
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.PreviewSelector, o.PauseStart, o.ControllerPause = "new", at(-61*time.Second), true
		},
		want: Plan{
			Scale: map[string]int32{"old": 1, "new": 1}, ActiveSelector: "new", Promoted: true, ClearPause: true,
			ScaleDownAt: map[string]time.Time{"old": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second,
		},
	}, {
		name: "promoteFull skips the pause",
		mutate: func(o *Observed) {
			o.PromoteFull = true
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.PreviewSelector = "new"
		},
		want: Plan{
			Scale: map[string]int32{"old": 1, "new": 1}, ActiveSelector: "new", Promoted: true, ClearPause: true,
			ScaleDownAt: map[string]time.Time{"old": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second,
		},
	}, {
		name: "spec.paused freezes the new ReplicaSet",
		mutate: func(o *Observed) {
			o.SpecPaused = true
		},
		want: Plan{Scale: map[string]int32{"old": 1}, Waiting: WaitManualPause},
	}, {
		name: "abort returns the preview to stable and schedules the new ReplicaSet's scale-down",
		mutate: func(o *Observed) {
			o.Abort = true
			o.New.Replicas, o.New.Available = 1, 1
			o.PreviewSelector, o.PauseStart, o.ControllerPause = "new", at(-time.Minute), true
		},
		want: Plan{
			Scale: map[string]int32{"old": 1}, ActiveSelector: "old", PreviewSelector: "old", ClearPause: true,
			ScaleDownAt: map[string]time.Time{"new": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second, Waiting: WaitAbortScaleDown,
		},
	}, {
		name: "abort after the delay scales the new ReplicaSet down",
		mutate: func(o *Observed) {
			o.Abort = true
			o.New.Replicas, o.New.Available, o.New.ScaleDownAt = 1, 1, at(-time.Second)
			o.PreviewSelector = "old"
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 0}, ActiveSelector: "old", PreviewSelector: "old"},
	}, {
		name: "abortScaleDownDelaySeconds 0 keeps the aborted pods",
		mutate: func(o *Observed) {
			o.Abort, o.AbortScaleDownDelay = true, 0
			o.New.Replicas, o.New.Available = 1, 1
		},
		want: Plan{Scale: map[string]int32{"old": 1}, ActiveSelector: "old", PreviewSelector: "old"},
	}, {
		name: "switch done but not recorded (controller restarted): finish the promotion",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector, o.ControllerPause = "new", "new", true
		},
		want: Plan{
			Scale: map[string]int32{"new": 1}, Promoted: true, ClearPause: true,
			ScaleDownAt: map[string]time.Time{"old": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second,
		},
	}, {
		name: "after promotion the old ReplicaSet waits for its deadline",
		mutate: func(o *Observed) {
			o.New.Replicas, o.New.Available = 1, 1
			o.Others = []ReplicaSet{{Hash: "old", Revision: 1, Replicas: 1, Available: 1, ScaleDownAt: at(10 * time.Second)}}
			o.Stable = &ReplicaSet{Hash: "new", Revision: 2, Replicas: 1, Available: 1}
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{Scale: map[string]int32{"new": 1}, RequeueAfter: 10 * time.Second},
	}, {
		name:   "after the deadline the old ReplicaSet goes to zero",
		mutate: func(o *Observed) { promotedPastDeadline(o, 1) },
		want:   Plan{Scale: map[string]int32{"new": 1, "old": 0}},
	}, {
		name: "after the deadline, the active Service's endpoints still on the old pods: they stay",
		mutate: func(o *Observed) {
			promotedPastDeadline(o, 3)
			o.ActiveEndpoints = map[string]int32{"old": 2}
		},
		want: Plan{Scale: map[string]int32{"new": 3, "old": 3}, Waiting: WaitActiveEndpoints, RequeueAfter: endpointRecheckTime},
	}, {
		name: "after the deadline, the active Service's endpoints moved to the new pods: the old go",
		mutate: func(o *Observed) {
			promotedPastDeadline(o, 3)
			o.ActiveEndpoints = map[string]int32{"old": 0, "new": 3}
		},
		want: Plan{Scale: map[string]int32{"new": 3, "old": 0}},
	}, {
		name: "abort after a switch: the new pods stay while the active Service's endpoints list them",
		mutate: func(o *Observed) {
			o.Abort = true
			o.New.Replicas, o.New.Available, o.New.ScaleDownAt = 1, 1, at(-time.Second)
			o.PreviewSelector = "old"
			o.ActiveEndpoints = map[string]int32{"new": 1}
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, ActiveSelector: "old", PreviewSelector: "old",
			Waiting: WaitActiveEndpoints, RequeueAfter: endpointRecheckTime},
	}, {
		name: "spec.replicas lowered on the live revision: its listed endpoints do not hold it",
		mutate: func(o *Observed) {
			o.Replicas, o.PreviewReplicas = 2, 2
			o.New = ReplicaSet{Hash: "new", Revision: 2, Replicas: 3, Available: 3}
			o.Stable = &ReplicaSet{Hash: "new", Revision: 2, Replicas: 3, Available: 3}
			o.ActiveSelector, o.PreviewSelector = "new", "new"
			o.ActiveEndpoints = map[string]int32{"new": 3}
		},
		want: Plan{Scale: map[string]int32{"new": 2}},
	}, {
		name: "scaleDownDelayRevisionLimit scales the oldest delayed ReplicaSets at once",
		mutate: func(o *Observed) {
			limit := int32(1)
			o.ScaleDownRevisionLimit = &limit
			o.New = ReplicaSet{Hash: "c", Revision: 3, Replicas: 1, Available: 1}
			o.Stable = &ReplicaSet{Hash: "c", Revision: 3, Replicas: 1, Available: 1}
			o.Others = []ReplicaSet{
				{Hash: "a", Revision: 1, Replicas: 1, Available: 1, ScaleDownAt: at(20 * time.Second)},
				{Hash: "b", Revision: 2, Replicas: 1, Available: 1, ScaleDownAt: at(25 * time.Second)},
			}
			o.ActiveSelector, o.PreviewSelector = "c", "c"
		},
		want: Plan{Scale: map[string]int32{"c": 1, "a": 0}, RequeueAfter: 25 * time.Second},
	}, {
		name: "a newer revision during a pause retires the previous preview, preview back to stable",
		mutate: func(o *Observed) {
			o.New = ReplicaSet{Hash: "newer", Revision: 3}
			o.Others = []ReplicaSet{{Hash: "new", Revision: 2, Replicas: 1, Available: 1}}
			o.PreviewSelector, o.PauseStart, o.ControllerPause = "new", at(-time.Minute), true
		},
		want: Plan{Scale: map[string]int32{"old": 1, "newer": 1, "new": 0}, PreviewSelector: "old", Waiting: WaitNewAvailable},
	}, {
		name: "never scales down the ReplicaSet the active Service selects",
		mutate: func(o *Observed) {
			o.Others = []ReplicaSet{{Hash: "odd", Revision: 0, Replicas: 1, Available: 1}}
			o.ActiveSelector = "odd"
			o.Stable = &ReplicaSet{Hash: "old", Revision: 1, Replicas: 1, Available: 1}
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitNewAvailable},
	}, {
		name: "pre-promotion analysis pending: preview on the new pods, no pause yet",
		mutate: func(o *Observed) {
			o.PrePromotionAnalysis = GatePending
			o.New.Replicas, o.New.Available = 1, 1
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, PreviewSelector: "new", Waiting: WaitPrePromotion},
	}, {
		name: "pre-promotion analysis pending holds the switch even when a person cleared pauses",
		mutate: func(o *Observed) {
			o.PrePromotionAnalysis = GatePending
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.PreviewSelector, o.ControllerPause = "new", true
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitPrePromotion},
	}, {
		name: "pre-promotion analysis passed: the pause (and its clock) starts now",
		mutate: func(o *Observed) {
			o.PrePromotionAnalysis = GatePassed
			o.AutoPromotionEnabled, o.AutoPromotionSeconds = true, 60
			o.New.Replicas, o.New.Available = 1, 1
			o.PreviewSelector = "new"
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, AddPause: true, Waiting: WaitAutoPromotion, RequeueAfter: time.Minute},
	}, {
		name: "pre-promotion analysis passed with auto-promotion: switch at once",
		mutate: func(o *Observed) {
			o.PrePromotionAnalysis = GatePassed
			o.AutoPromotionEnabled = true
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.PreviewSelector = "new"
		},
		want: Plan{
			Scale: map[string]int32{"old": 1, "new": 1}, ActiveSelector: "new", Promoted: true, ClearPause: true,
			ScaleDownAt: map[string]time.Time{"old": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second,
		},
	}, {
		name: "inconclusive analysis: nothing switches, even with pauses cleared",
		mutate: func(o *Observed) {
			o.InconclusivePause, o.ControllerPause = true, true
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.PreviewSelector = "new"
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, Waiting: WaitInconclusive},
	}, {
		name: "post-promotion analysis: the switch does not promote, the previous pods stay",
		mutate: func(o *Observed) {
			o.PostPromotionAnalysis = GatePending
			o.New.Replicas, o.New.Available, o.NewReadyEndpoints = 1, 1, 1
			o.PreviewSelector, o.ControllerPause = "new", true
		},
		want: Plan{Scale: map[string]int32{"old": 1, "new": 1}, ActiveSelector: "new", ClearPause: true, Waiting: WaitPostPromotion},
	}, {
		name: "post-promotion analysis running: still not promoted, previous pods kept",
		mutate: func(o *Observed) {
			o.PostPromotionAnalysis = GatePending
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{Scale: map[string]int32{"new": 1}, Waiting: WaitPostPromotion},
	}, {
		name: "post-promotion analysis with an explicit scaleDownDelaySeconds: the delay runs from the switch",
		mutate: func(o *Observed) {
			o.PostPromotionAnalysis, o.ScaleDownDelayExplicit = GatePending, true
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{Scale: map[string]int32{"new": 1}, Waiting: WaitPostPromotion,
			ScaleDownAt: map[string]time.Time{"old": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second},
	}, {
		name: "post-promotion analysis with an explicit delay that passed: previous pods go",
		mutate: func(o *Observed) {
			o.PostPromotionAnalysis, o.ScaleDownDelayExplicit = GatePending, true
			o.New.Replicas, o.New.Available = 1, 1
			o.Stable.ScaleDownAt = at(-time.Second)
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{Scale: map[string]int32{"new": 1, "old": 0}, Waiting: WaitPostPromotion},
	}, {
		name: "post-promotion analysis inconclusive: wait for a person, pause kept",
		mutate: func(o *Observed) {
			o.PostPromotionAnalysis, o.InconclusivePause, o.ControllerPause = GatePending, true, true
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{Scale: map[string]int32{"new": 1}, Waiting: WaitInconclusive},
	}, {
		name: "post-promotion analysis passed: promote, the previous pods get their delay",
		mutate: func(o *Observed) {
			o.PostPromotionAnalysis = GatePassed
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{
			Scale: map[string]int32{"new": 1}, Promoted: true, ClearPause: true,
			ScaleDownAt: map[string]time.Time{"old": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second,
		},
	}, {
		name: "post-promotion analysis failed (abort): active back to the stable pods",
		mutate: func(o *Observed) {
			o.PostPromotionAnalysis, o.Abort = GatePending, true
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{Scale: map[string]int32{"old": 1}, ActiveSelector: "old", PreviewSelector: "old",
			ScaleDownAt: map[string]time.Time{"new": now.Add(30 * time.Second)}, RequeueAfter: 30 * time.Second, Waiting: WaitAbortScaleDown},
	}, {
		name: "abort after the switch with the stable pods scaled down: they come back before the switch back",
		mutate: func(o *Observed) {
			o.Abort = true
			o.Stable.Replicas, o.Stable.Available = 0, 0
			o.New.Replicas, o.New.Available = 1, 1
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		},
		want: Plan{Scale: map[string]int32{"old": 1}, Waiting: WaitStableAvailable},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := seed()
			tt.mutate(&o)
			got := Decide(o)
			opts := cmpopts.EquateEmpty()
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetiring(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Observed)
		want   []string
	}{
		{"update in flight: nothing shrinks", func(o *Observed) {}, nil},
		{"previous revision past its deadline", func(o *Observed) {
			o.New.Replicas, o.New.Available = 1, 1
			o.Stable = &ReplicaSet{Hash: "new", Revision: 2, Replicas: 1, Available: 1}
			o.Others = []ReplicaSet{
				{Hash: "b", Revision: 1, Replicas: 1, ScaleDownAt: at(-time.Second)},
				{Hash: "a", Revision: 0, Replicas: 1, ScaleDownAt: at(-time.Second)},
				{Hash: "gone", Revision: 0},
			}
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		}, []string{"a", "b"}},
		{"aborted revision past its abort delay", func(o *Observed) {
			o.Abort = true
			o.New.Replicas, o.New.Available, o.New.ScaleDownAt = 1, 1, at(-time.Second)
		}, []string{"new"}},
		{"the active revision shrinking is not retiring", func(o *Observed) {
			o.New = ReplicaSet{Hash: "new", Revision: 2, Replicas: 3, Available: 3}
			o.Stable = &ReplicaSet{Hash: "new", Revision: 2, Replicas: 3, Available: 3}
			o.ActiveSelector, o.PreviewSelector = "new", "new"
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := seed()
			tt.mutate(&o)
			if diff := cmp.Diff(tt.want, Decide(o).Retiring(o), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Retiring() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalysisDue(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*Observed)
		pre, post bool
	}{
		{"new revision still scaling", func(o *Observed) {}, false, false},
		{"preview saturated but the preview Service not on it yet", func(o *Observed) { o.New.Replicas, o.New.Available = 1, 1 }, false, false},
		{"preview saturated and selected", func(o *Observed) {
			o.New.Replicas, o.New.Available, o.PreviewSelector = 1, 1, "new"
		}, true, false},
		{"no preview Service: saturation is enough", func(o *Observed) {
			o.HasPreview, o.PreviewSelector = false, ""
			o.New.Replicas, o.New.Available = 1, 1
		}, true, false},
		{"previewReplicaCount below replicas", func(o *Observed) {
			o.Replicas, o.PreviewReplicas = 3, 1
			o.New.Replicas, o.New.Available, o.PreviewSelector = 1, 1, "new"
		}, true, false},
		{"active Service without a hash (not yet live)", func(o *Observed) {
			o.New.Replicas, o.New.Available, o.PreviewSelector, o.ActiveSelector = 1, 1, "new", ""
		}, false, false},
		{"switched, all new pods available", func(o *Observed) {
			o.New.Replicas, o.New.Available, o.PreviewSelector, o.ActiveSelector = 1, 1, "new", "new"
		}, false, true},
		{"switched, new pods not all available", func(o *Observed) {
			o.Replicas = 2
			o.New.Replicas, o.New.Available, o.PreviewSelector, o.ActiveSelector = 2, 1, "new", "new"
		}, false, false},
		{"fully promoted", func(o *Observed) {
			o.New.Replicas, o.New.Available, o.PreviewSelector, o.ActiveSelector = 1, 1, "new", "new"
			o.Stable = &ReplicaSet{Hash: "new", Replicas: 1, Available: 1}
		}, false, false},
		{"first deploy", func(o *Observed) {
			o.Stable = nil
			o.New.Replicas, o.New.Available = 1, 1
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := seed()
			tt.mutate(&o)
			if got := PrePromotionDue(o); got != tt.pre {
				t.Errorf("PrePromotionDue = %v, want %v", got, tt.pre)
			}
			if got := PostPromotionDue(o); got != tt.post {
				t.Errorf("PostPromotionDue = %v, want %v", got, tt.post)
			}
		})
	}
}
