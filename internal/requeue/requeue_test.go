package requeue

import (
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

func TestSooner(t *testing.T) {
	in := func(d time.Duration) ctrl.Result { return ctrl.Result{RequeueAfter: d} }
	for _, tc := range []struct {
		name       string
		a, b, want ctrl.Result
	}{
		{"neither", ctrl.Result{}, ctrl.Result{}, ctrl.Result{}},
		{"only a", in(time.Second), ctrl.Result{}, in(time.Second)},
		{"only b", ctrl.Result{}, in(time.Second), in(time.Second)},
		{"the sooner", in(time.Minute), in(time.Second), in(time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sooner(tc.a, tc.b); got != tc.want {
				t.Errorf("Sooner = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAfterAndAt(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		got  ctrl.Result
		want time.Duration
	}{
		{"after a second", After(time.Second), time.Second},
		{"after nothing: a millisecond, not never", After(0), time.Millisecond},
		{"after the past: a millisecond", After(-time.Minute), time.Millisecond},
		{"at a later time", At(now.Add(time.Minute), now), time.Minute},
		{"at a past time: a millisecond", At(now.Add(-time.Minute), now), time.Millisecond},
		{"at no time: never", At(time.Time{}, now), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.RequeueAfter != tc.want {
				t.Errorf("RequeueAfter = %v, want %v", tc.got.RequeueAfter, tc.want)
			}
		})
	}
}
