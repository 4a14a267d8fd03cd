package v1alpha1_test

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestRolloutDefaults(t *testing.T) {
	var unset v1alpha1.Rollout
	set := v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{
		Replicas:                ptr.To[int32](0),
		RevisionHistoryLimit:    ptr.To[int32](2),
		ProgressDeadlineSeconds: ptr.To[int32](60),
		Analysis: &v1alpha1.AnalysisRunStrategy{
			SuccessfulRunHistoryLimit:   ptr.To[int32](1),
			UnsuccessfulRunHistoryLimit: ptr.To[int32](0),
		},
	}}
	tests := []struct {
		name      string
		got, want int32
	}{
		{"replicas default", unset.ReplicasOrDefault(), 1},
		{"replicas explicit 0", set.ReplicasOrDefault(), 0},
		{"revisionHistoryLimit default", unset.RevisionHistoryLimitOrDefault(), 10},
		{"revisionHistoryLimit", set.RevisionHistoryLimitOrDefault(), 2},
		{"progressDeadlineSeconds default", unset.ProgressDeadlineSecondsOrDefault(), 600},
		{"progressDeadlineSeconds", set.ProgressDeadlineSecondsOrDefault(), 60},
		{"successful history default", unset.SuccessfulRunHistoryLimitOrDefault(), 5},
		{"successful history", set.SuccessfulRunHistoryLimitOrDefault(), 1},
		{"unsuccessful history default", unset.UnsuccessfulRunHistoryLimitOrDefault(), 5},
		{"unsuccessful history explicit 0", set.UnsuccessfulRunHistoryLimitOrDefault(), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestStrategyDefaults(t *testing.T) {
	var bgNil *v1alpha1.BlueGreenStrategy
	bg := &v1alpha1.BlueGreenStrategy{
		AutoPromotionEnabled:       ptr.To(false),
		ScaleDownDelaySeconds:      ptr.To[int32](0),
		AbortScaleDownDelaySeconds: ptr.To[int32](0),
		PreviewReplicaCount:        ptr.To[int32](1),
	}
	var cNil *v1alpha1.CanaryStrategy
	c := &v1alpha1.CanaryStrategy{
		ScaleDownDelaySeconds:      ptr.To[int32](5),
		AbortScaleDownDelaySeconds: ptr.To[int32](0),
		MinPodsPerReplicaSet:       ptr.To[int32](3),
	}
	int32s := []struct {
		name      string
		got, want int32
	}{
		{"bg scaleDownDelaySeconds default", bgNil.ScaleDownDelaySecondsOrDefault(), 30},
		{"bg scaleDownDelaySeconds 0", bg.ScaleDownDelaySecondsOrDefault(), 0},
		{"bg abortScaleDownDelaySeconds default", bgNil.AbortScaleDownDelaySecondsOrDefault(), 30},
		{"bg abortScaleDownDelaySeconds 0", bg.AbortScaleDownDelaySecondsOrDefault(), 0},
		{"bg previewReplicaCount default", bgNil.PreviewReplicaCountOrDefault(4), 4},
		{"bg previewReplicaCount", bg.PreviewReplicaCountOrDefault(4), 1},
		{"canary scaleDownDelaySeconds default", cNil.ScaleDownDelaySecondsOrDefault(), 30},
		{"canary scaleDownDelaySeconds", c.ScaleDownDelaySecondsOrDefault(), 5},
		{"canary abortScaleDownDelaySeconds default", cNil.AbortScaleDownDelaySecondsOrDefault(), 30},
		{"canary abortScaleDownDelaySeconds 0", c.AbortScaleDownDelaySecondsOrDefault(), 0},
		{"canary minPodsPerReplicaSet default", cNil.MinPodsPerReplicaSetOrDefault(), 1},
		{"canary minPodsPerReplicaSet", c.MinPodsPerReplicaSetOrDefault(), 3},
	}
	for _, tt := range int32s {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if !bgNil.AutoPromotionEnabledOrDefault() || bg.AutoPromotionEnabledOrDefault() {
		t.Error("autoPromotionEnabled: default must be true and an explicit false kept")
	}

	pct25 := intstr.FromString("25%")
	one := intstr.FromInt32(1)
	intstrs := []struct {
		name      string
		got, want intstr.IntOrString
	}{
		{"canary maxSurge default", cNil.MaxSurgeOrDefault(), pct25},
		{"canary maxUnavailable default", cNil.MaxUnavailableOrDefault(), pct25},
		{"canary maxSurge", (&v1alpha1.CanaryStrategy{MaxSurge: &one}).MaxSurgeOrDefault(), one},
		{"bg maxUnavailable default", bgNil.MaxUnavailableOrDefault(), pct25},
		{"rollout maxUnavailable from blueGreen", (&v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{
			BlueGreen: &v1alpha1.BlueGreenStrategy{MaxUnavailable: &one}}}}).MaxUnavailableOrDefault(), one},
		{"rollout maxSurge without strategy", (&v1alpha1.Rollout{}).MaxSurgeOrDefault(), pct25},
	}
	for _, tt := range intstrs {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got.String(), tt.want.String())
		}
	}
}

func TestParsePauseDuration(t *testing.T) {
	tests := []struct {
		in      intstr.IntOrString
		want    time.Duration
		wantErr bool
	}{
		{in: intstr.FromInt32(10), want: 10 * time.Second},
		{in: intstr.FromInt32(0), want: 0},
		{in: intstr.FromString("10"), want: 10 * time.Second},
		{in: intstr.FromString("30s"), want: 30 * time.Second},
		{in: intstr.FromString("5m"), want: 5 * time.Minute},
		{in: intstr.FromString("1h"), want: time.Hour},
		{in: intstr.FromString("1h30m"), want: 90 * time.Minute},
		{in: intstr.FromInt32(-1), wantErr: true},
		{in: intstr.FromString("-5s"), wantErr: true},
		{in: intstr.FromString(""), wantErr: true},
		{in: intstr.FromString("5 minutes"), wantErr: true},
		{in: intstr.FromString("1d"), wantErr: true},
	}
	for _, tt := range tests {
		got, err := v1alpha1.ParsePauseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePauseDuration(%q) = %v, %v; want %v, error %v", tt.in.String(), got, err, tt.want, tt.wantErr)
		}
	}

	indefinite := v1alpha1.RolloutPause{}
	if !indefinite.IsIndefinite() || indefinite.DurationOrZero() != 0 {
		t.Error("pause without duration must be indefinite")
	}
	d := intstr.FromString("2m")
	timed := v1alpha1.RolloutPause{Duration: &d}
	if timed.IsIndefinite() || timed.DurationOrZero() != 2*time.Minute {
		t.Errorf("pause 2m: indefinite=%v duration=%v", timed.IsIndefinite(), timed.DurationOrZero())
	}
}

func TestAddToScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Rollout", "RolloutList"} {
		if !s.Recognizes(v1alpha1.GroupVersion.WithKind(kind)) {
			t.Errorf("scheme does not know %s", kind)
		}
	}
	obj, err := s.New(v1alpha1.GroupVersion.WithKind("Rollout"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := obj.(*v1alpha1.Rollout); !ok {
		t.Errorf("scheme makes %T for Rollout", obj)
	}
}
