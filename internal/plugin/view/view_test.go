package view

import (
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestPodStatus(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	waiting := func(r string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: r}}
	}
	for _, tc := range []struct {
		name                string
		pod                 corev1.Pod
		status, ready, icon string
		restarts            int32
	}{
		{
			name:   "running and ready",
			pod:    pod(corev1.PodRunning, nil, corev1.ContainerStatus{Ready: true, State: running}),
			status: "Running", ready: "1/1", icon: IconOK,
		},
		{
			name:   "image pull back-off",
			pod:    pod(corev1.PodPending, nil, corev1.ContainerStatus{State: waiting("ImagePullBackOff")}),
			status: "ImagePullBackOff", ready: "0/1", icon: IconWarning,
		},
		{
			name:   "crash loop with restarts",
			pod:    pod(corev1.PodRunning, nil, corev1.ContainerStatus{State: waiting("CrashLoopBackOff"), RestartCount: 4}),
			status: "CrashLoopBackOff", ready: "0/1", icon: IconBad, restarts: 4,
		},
		{
			name: "init container still running",
			pod: pod(corev1.PodPending, []corev1.ContainerStatus{{State: running}},
				corev1.ContainerStatus{State: waiting("PodInitializing")}),
			status: "Init:0/1", ready: "0/1", icon: IconProgressing,
		},
		{
			name: "init container failed",
			pod: pod(corev1.PodPending, []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}},
				corev1.ContainerStatus{State: waiting("PodInitializing")}),
			status: "Init:ExitCode:3", ready: "0/1", icon: IconProgressing,
		},
		{
			name: "terminating",
			pod: func() corev1.Pod {
				p := pod(corev1.PodRunning, nil, corev1.ContainerStatus{Ready: true, State: running})
				p.DeletionTimestamp = ptr.To(metav1.Now())
				return p
			}(),
			status: "Terminating", ready: "1/1", icon: IconProgressing,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newPod(&tc.pod)
			if got.Status != tc.status || got.Ready != tc.ready || got.Icon != tc.icon || got.Restarts != tc.restarts {
				t.Errorf("got status=%q ready=%q icon=%q restarts=%d, want %q %q %q %d",
					got.Status, got.Ready, got.Icon, got.Restarts, tc.status, tc.ready, tc.icon, tc.restarts)
			}
		})
	}
}

func pod(phase corev1.PodPhase, initStatuses []corev1.ContainerStatus, st corev1.ContainerStatus) corev1.Pod {
	p := corev1.Pod{
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{st}},
	}
	for range initStatuses {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init"})
	}
	p.Status.InitContainerStatuses = initStatuses
	return p
}

// TestColourKeepsAlignment checks that colour codes, which take no room on
// screen, do not shift the columns: stripped of them, the coloured output
// is the plain output.
func TestColourKeepsAlignment(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := &Rollout{
		Name: "demo", Namespace: "ns", Created: now.Add(-time.Hour), Phase: v1alpha1.RolloutPhasePaused, Message: "CanaryPauseStep",
		Strategy: StrategyCanary, Step: "1/2", SetWeight: "25", ActualWeight: "25",
		Images: []Image{{Name: "img:1", Roles: []string{RoleStable}}, {Name: "img:2", Roles: []string{RoleCanary}}},
		ReplicaSets: []ReplicaSet{
			{Name: "demo-b", Revision: 2, Status: "Healthy", Icon: IconOK, Roles: []string{RoleCanary}, Created: now.Add(-time.Minute),
				Pods: []Pod{{Name: "demo-b-1", Status: "Running", Icon: IconOK, Ready: "1/1", Created: now.Add(-time.Minute)}}},
			{Name: "demo-a", Revision: 1, Status: "Healthy", Icon: IconOK, Roles: []string{RoleStable}, Created: now.Add(-time.Hour),
				Pods: []Pod{{Name: "demo-a-1", Status: "ImagePullBackOff", Icon: IconWarning, Ready: "0/1", Created: now.Add(-time.Hour)}}},
		},
	}
	plain := Printer{NoColor: true, Now: now}.Render(r)
	coloured := Printer{Now: now}.Render(r)
	if coloured == plain {
		t.Fatal("coloured output has no colour codes")
	}
	if got := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(coloured, ""); got != plain {
		t.Errorf("coloured output, stripped, differs from plain:\n%s\n---\n%s", got, plain)
	}
	if !strings.Contains(plain, "   └──⧉ demo-a       ReplicaSet  ✔ Healthy           60m  stable\n") {
		t.Errorf("unexpected tree:\n%s", plain)
	}
}

func TestStepSetWeight(t *testing.T) {
	steps := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](20)}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: ptr.To[int32](60)}}
	for _, tc := range []struct {
		index *int32
		abort bool
		want  int32
	}{
		{nil, false, 20},
		{ptr.To[int32](1), false, 20},
		{ptr.To[int32](2), false, 60},
		{ptr.To[int32](3), false, 100},
		{ptr.To[int32](1), true, 0},
	} {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: steps}
		ro.Status.CurrentStepIndex, ro.Status.Abort = tc.index, tc.abort
		if got := stepSetWeight(ro); got != tc.want {
			t.Errorf("index %v abort %v: got %d, want %d", ptr.Deref(tc.index, -1), tc.abort, got, tc.want)
		}
	}
}
