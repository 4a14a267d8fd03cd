package get_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/get"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// now is the fixed time of every golden file: ages are measured from it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	ns         = "shop"
	image1     = "registry.example.com/backend:1.0"
	image2     = "registry.example.com/backend:1.1"
	hash1      = "5f7d8c9b6c"
	hash2      = "7c6b9d4f58"
	generation = 3
)

// TestGetRolloutGolden renders `get rollout --no-color` for a blue-green
// and a canary Rollout in each phase. The objects live in fake clients:
// this test is about formatting only; the commands' behaviour against an
// API server is tested in internal/plugin/cmdtest.
func TestGetRolloutGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rollout *v1alpha1.Rollout
		objects []runtime.Object
	}{
		blueGreenHealthy(),
		blueGreenProgressing(),
		blueGreenPaused(),
		blueGreenDegraded(),
		canaryHealthy(),
		canaryProgressing(),
		canaryPaused(),
		canaryDegraded(),
		canaryAnalysis(),
		canaryTrafficRouted(),
		canaryExperiment(),
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := render(t, tc.rollout, tc.objects)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

func render(t *testing.T, ro *v1alpha1.Rollout, objects []runtime.Object) string {
	t.Helper()
	data, err := json.Marshal(ro)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	// AnalysisRuns are read through the dynamic client, the rest through
	// the typed one.
	dynamicObjects := []runtime.Object{u}
	var kubeObjects []runtime.Object
	for _, o := range objects {
		switch o.(type) {
		case *v1alpha1.AnalysisRun, *v1alpha1.Experiment:
		default:
			kubeObjects = append(kubeObjects, o)
			continue
		}
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		dynamicObjects = append(dynamicObjects, &unstructured.Unstructured{Object: raw})
	}
	var out, errOut bytes.Buffer
	f := cli.NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	f.ConfigFlags.Namespace = ptr.To(ns)
	f.Clock = clocktesting.NewFakeClock(now)
	f.DynamicClient = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{get.AnalysisRunGVR: "AnalysisRunList", cli.ExperimentGVR: "ExperimentList"}, dynamicObjects...)
	f.KubeClient = kubefake.NewClientset(kubeObjects...)

	cmd := get.NewRolloutCmd(f)
	cmd.SetArgs([]string{ro.Name, "--no-color"})
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("get rollout: %v\n%s", err, errOut.String())
	}
	return out.String()
}

// --- object builders -----------------------------------------------------

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func template(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "backend"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "backend", Image: image}}},
	}
}

func rollout(name string, replicas int32) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID(name + "-uid"),
			Generation: generation, CreationTimestamp: ago(48 * time.Hour),
		},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend"}},
			Template: template(image2),
		},
		Status: v1alpha1.RolloutStatus{ObservedGeneration: v1alpha1.ObservedGenerationString(generation)},
	}
}

func blueGreen() *v1alpha1.Rollout {
	ro := rollout("backend-bluegreen", 2)
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{
		ActiveService: "backend-active", PreviewService: "backend-preview", AutoPromotionEnabled: ptr.To(false),
	}
	return ro
}

func canary() *v1alpha1.Rollout {
	ro := rollout("backend-canary", 4)
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{
		MaxSurge:       ptr.To(intstr.FromString("25%")),
		MaxUnavailable: ptr.To(intstr.FromInt32(0)),
		Steps:          []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](25)}, {Pause: &v1alpha1.RolloutPause{}}},
	}
	return ro
}

func counts(ro *v1alpha1.Rollout, current, updated, ready, available int32) {
	ro.Status.Replicas, ro.Status.UpdatedReplicas = current, updated
	ro.Status.ReadyReplicas, ro.Status.AvailableReplicas = ready, available
	ro.Status.HPAReplicas = current
}

// replicaSet returns a ReplicaSet of ro at revision rev with the given
// spec.replicas, ready and available counts, and its pods: the first ready
// ones Running, the rest in waiting state reason.
func replicaSet(ro *v1alpha1.Rollout, rev int, hash, image string, age time.Duration, replicas, ready int32, waiting string) []runtime.Object {
	name := ro.Name + "-" + hash
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID(name + "-uid"),
			CreationTimestamp: ago(age), Generation: 2,
			Labels:      map[string]string{"app": "backend", v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: strconv.Itoa(rev)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Name: ro.Name, UID: ro.UID, Controller: ptr.To(true),
			}},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend", v1alpha1.DefaultRolloutUniqueLabelKey: hash}},
			Template: template(image),
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: ready, ObservedGeneration: 2,
		},
	}
	objs := []runtime.Object{rs}
	suffixes := []string{"2xk9p", "8fqzt", "c4m7w", "hv6rd", "q9l2n"}
	for i := int32(0); i < replicas; i++ {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: name + "-" + suffixes[i], Namespace: ns,
				CreationTimestamp: ago(age),
				Labels:            rs.Labels,
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name, UID: rs.UID, Controller: ptr.To(true),
				}},
			},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "backend", Image: image}}},
		}
		st := corev1.ContainerStatus{Name: "backend", Image: image}
		if i < ready {
			pod.Status.Phase = corev1.PodRunning
			st.Ready = true
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: ago(age)}
		} else {
			pod.Status.Phase = corev1.PodPending
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
		}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{st}
		objs = append(objs, pod)
	}
	return objs
}

func concat(parts ...[]runtime.Object) []runtime.Object {
	var out []runtime.Object
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

type scenario = struct {
	name    string
	rollout *v1alpha1.Rollout
	objects []runtime.Object
}

// Healthy, just promoted: the old ReplicaSet waits out its scale-down delay.
func blueGreenHealthy() scenario {
	ro := blueGreen()
	ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash2, hash2
	ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = hash2, hash2
	counts(ro, 4, 2, 4, 4)
	old := replicaSet(ro, 1, hash1, image1, 48*time.Hour, 2, 2, "")
	old[0].(*appsv1.ReplicaSet).Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = now.Add(25 * time.Second).Format(time.RFC3339)
	return scenario{"bluegreen-healthy", ro, concat(replicaSet(ro, 2, hash2, image2, 10*time.Minute, 2, 2, ""), old)}
}

// Progressing: the preview ReplicaSet is coming up.
func blueGreenProgressing() scenario {
	ro := blueGreen()
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "updated replicas are still becoming available"
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = hash1, hash2
	counts(ro, 4, 2, 3, 3)
	return scenario{"bluegreen-progressing", ro, concat(
		replicaSet(ro, 2, hash2, image2, 40*time.Second, 2, 1, "ContainerCreating"),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 2, 2, ""),
	)}
}

// Paused: the preview is up, waiting for a promote.
func blueGreenPaused() scenario {
	ro := blueGreen()
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "BlueGreenPause"
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause, StartTime: ago(time.Minute)}}
	ro.Status.ControllerPause = true
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = hash1, hash2
	counts(ro, 4, 2, 4, 4)
	return scenario{"bluegreen-paused", ro, concat(
		replicaSet(ro, 2, hash2, image2, 3*time.Minute, 2, 2, ""),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 2, 2, ""),
	)}
}

// Degraded: the new image cannot be pulled and the deadline passed.
func blueGreenDegraded() scenario {
	ro := blueGreen()
	msg := `ReplicaSet "backend-bluegreen-` + hash2 + `" has timed out progressing.`
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseDegraded, "ProgressDeadlineExceeded: "+msg
	ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.TimedOutReason, Message: msg}}
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = hash1, hash2
	counts(ro, 4, 2, 2, 2)
	return scenario{"bluegreen-degraded", ro, concat(
		replicaSet(ro, 2, hash2, image2, 15*time.Minute, 2, 0, "ImagePullBackOff"),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 2, 2, ""),
	)}
}

// Healthy: all steps done, the old ReplicaSet scaled to zero.
func canaryHealthy() scenario {
	ro := canary()
	ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash2, hash2
	ro.Status.CurrentStepIndex = ptr.To[int32](2)
	ro.Status.Canary.ReplicaWeights = &v1alpha1.ReplicaWeights{SetWeight: 100, ActualWeight: 100}
	counts(ro, 4, 4, 4, 4)
	return scenario{"canary-healthy", ro, concat(
		replicaSet(ro, 2, hash2, image2, 20*time.Minute, 4, 4, ""),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 0, 0, ""),
	)}
}

// Progressing: the first canary pod is starting; weights from the
// controller's replicaWeights (set 25, actual 0).
func canaryProgressing() scenario {
	ro := canary()
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.CurrentStepIndex = ptr.To[int32](0)
	ro.Status.Canary.ReplicaWeights = &v1alpha1.ReplicaWeights{SetWeight: 25, ActualWeight: 0}
	counts(ro, 5, 1, 4, 4)
	return scenario{"canary-progressing", ro, concat(
		replicaSet(ro, 2, hash2, image2, 20*time.Second, 1, 0, "ContainerCreating"),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 4, 4, ""),
	)}
}

// Paused at the pause step. No replicaWeights (as written by Argo
// Rollouts): the weights are computed from the steps and ready pods.
func canaryPaused() scenario {
	ro := canary()
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "CanaryPauseStep"
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: ago(2 * time.Minute)}}
	ro.Status.ControllerPause = true
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.CurrentStepIndex = ptr.To[int32](1)
	counts(ro, 4, 1, 4, 4)
	return scenario{"canary-paused", ro, concat(
		replicaSet(ro, 2, hash2, image2, 3*time.Minute, 1, 1, ""),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 3, 3, ""),
	)}
}

// A traffic-routed canary paused at 5% on one canary pod next to four
// stable ones: the weights are the router's (status.canary.weights), not
// the pods' share (20%).
func canaryTrafficRouted() scenario {
	ro := canary()
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "backend-canary", "backend-stable"
	c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "backend"}}
	c.Steps = []v1alpha1.CanaryStep{
		{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](1)}},
		{SetWeight: ptr.To[int32](5)},
		{Pause: &v1alpha1.RolloutPause{}},
	}
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "CanaryPauseStep"
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: ago(time.Minute)}}
	ro.Status.ControllerPause = true
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.CurrentStepIndex = ptr.To[int32](2)
	ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{
		Canary: v1alpha1.WeightDestination{Weight: 5, PodTemplateHash: hash2, ServiceName: "backend-canary"},
		Stable: v1alpha1.WeightDestination{Weight: 95, PodTemplateHash: hash1, ServiceName: "backend-stable"},
	}
	counts(ro, 5, 1, 5, 5)
	return scenario{"canary-traffic-routed", ro, concat(
		replicaSet(ro, 2, hash2, image2, 2*time.Minute, 1, 1, ""),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 4, 4, ""),
	)}
}

// Degraded: aborted; the canary is back to zero and the stable one had a
// pod restart.
func canaryDegraded() scenario {
	ro := canary()
	msg := "Rollout aborted update to revision 2"
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseDegraded, "RolloutAborted: "+msg
	ro.Status.Abort = true
	ro.Status.AbortedAt = ptr.To(ago(time.Minute))
	ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.RolloutAbortedReason, Message: msg}}
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.CurrentStepIndex = ptr.To[int32](0)
	counts(ro, 4, 0, 4, 4)
	stable := replicaSet(ro, 1, hash1, image1, 48*time.Hour, 4, 4, "")
	stable[2].(*corev1.Pod).Status.ContainerStatuses[0].RestartCount = 2
	return scenario{"canary-degraded", ro, concat(
		replicaSet(ro, 2, hash2, image2, 6*time.Minute, 0, 0, ""),
		stable,
	)}
}

// analysisRun is a run of ro at revision rev, its measurements counted
// (successful, failed, inconclusive, error) in one metric.
func analysisRun(ro *v1alpha1.Rollout, name string, rev int, age time.Duration, phase v1alpha1.AnalysisPhase, counts ...int32) *v1alpha1.AnalysisRun {
	run := &v1alpha1.AnalysisRun{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AnalysisRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID(name + "-uid"), CreationTimestamp: ago(age),
			Labels:      map[string]string{"app": "backend"},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: strconv.Itoa(rev)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Name: ro.Name, UID: ro.UID, Controller: ptr.To(true),
			}},
		},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: "error-rate", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://metrics/"}}}}},
		Status: v1alpha1.AnalysisRunStatus{Phase: phase, MetricResults: []v1alpha1.MetricResult{{
			Name: "error-rate", Phase: phase,
			Successful: counts[0], Failed: counts[1], Inconclusive: counts[2], Error: counts[3],
		}}},
	}
	return run
}

// Paused by an inconclusive step analysis, with a background analysis
// running; the previous revision passed a Job-measured step analysis.
func canaryAnalysis() scenario {
	ro := canary()
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](25)},
		{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "error-rate"}}}},
		{Pause: &v1alpha1.RolloutPause{}},
	}
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "InconclusiveAnalysisRun"
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis, StartTime: ago(time.Minute)}}
	ro.Status.ControllerPause = true
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.CurrentStepIndex = ptr.To[int32](1)
	ro.Status.Canary.ReplicaWeights = &v1alpha1.ReplicaWeights{SetWeight: 25, ActualWeight: 25}
	counts(ro, 4, 1, 4, 4)

	background := analysisRun(ro, ro.Name+"-"+hash2+"-2", 2, 3*time.Minute, v1alpha1.AnalysisPhaseRunning, 3, 1, 0, 0)
	step := analysisRun(ro, ro.Name+"-"+hash2+"-2-1", 2, 2*time.Minute, v1alpha1.AnalysisPhaseInconclusive, 0, 0, 1, 0)
	previous := analysisRun(ro, ro.Name+"-"+hash1+"-1-1", 1, 47*time.Hour, v1alpha1.AnalysisPhaseSuccessful, 1, 0, 0, 1)
	jobName := string(previous.UID) + ".error-rate.2"
	previous.Spec.Metrics[0].Provider = v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{}}
	previous.Status.MetricResults[0].Measurements = []v1alpha1.Measurement{
		{Phase: v1alpha1.AnalysisPhaseError, Message: "job could not be created"},
		{Phase: v1alpha1.AnalysisPhaseSuccessful, Metadata: map[string]string{"job-name": jobName, "job-namespace": ns}},
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: jobName, Namespace: ns, CreationTimestamp: ago(47 * time.Hour),
			Labels: map[string]string{"analysisrun.argoproj.io/uid": string(previous.UID)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "AnalysisRun", Name: previous.Name, UID: previous.UID, Controller: ptr.To(true),
			}},
		},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}},
	}
	// Another Rollout's run, with the same labels: not shown.
	other := analysisRun(ro, "backend-other-1", 2, time.Minute, v1alpha1.AnalysisPhaseFailed, 0, 1, 0, 0)
	other.OwnerReferences[0].UID = "someone-else"
	return scenario{"canary-analysis", ro, concat(
		replicaSet(ro, 2, hash2, image2, 3*time.Minute, 1, 1, ""),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 3, 3, ""),
		[]runtime.Object{background, step, previous, job, other},
	)}
}

// At an experiment step: the step's Experiment runs a baseline of the
// stable pods and a canary of the new ones, its analysis measuring; the
// previous revision's Experiment has ended. Both show under their
// revisions, between the ReplicaSets and the Rollout's own runs.
func canaryExperiment() scenario {
	ro := canary()
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](25)},
		{Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{
			{Name: "baseline", SpecRef: v1alpha1.StableSpecRef}, {Name: "canary", SpecRef: v1alpha1.CanarySpecRef},
		}}},
	}
	ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash1, hash2
	ro.Status.CurrentStepIndex = ptr.To[int32](1)
	ro.Status.Canary.CurrentExperiment = ro.Name + "-" + hash2 + "-2-1"
	ro.Status.Canary.ReplicaWeights = &v1alpha1.ReplicaWeights{SetWeight: 25, ActualWeight: 25}
	counts(ro, 4, 1, 4, 4)

	experiment := func(name string, rev int, age time.Duration, phase v1alpha1.AnalysisPhase, templates map[string]string) []runtime.Object {
		ex := &v1alpha1.Experiment{
			TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Experiment"},
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns, UID: types.UID(name + "-uid"), CreationTimestamp: ago(age),
				Annotations: map[string]string{v1alpha1.RevisionAnnotation: strconv.Itoa(rev)},
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Name: ro.Name, UID: ro.UID, Controller: ptr.To(true),
				}},
			},
			Status: v1alpha1.ExperimentStatus{Phase: phase},
		}
		exRef := metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Experiment", Name: name, UID: ex.UID, Controller: ptr.To(true)}
		objs := []runtime.Object{ex}
		replicas := int32(1)
		if phase.Completed() {
			replicas = 0
		}
		for _, t := range []string{"baseline", "canary"} {
			parts := replicaSet(ro, 0, templates[t], map[string]string{"baseline": image1, "canary": image2}[t], age, replicas, replicas, "")
			rs := parts[0].(*appsv1.ReplicaSet)
			rs.Name, rs.UID = name+"-"+t, types.UID(name+"-"+t+"-uid")
			rs.OwnerReferences = []metav1.OwnerReference{exRef}
			rs.Annotations = map[string]string{v1alpha1.ExperimentNameAnnotationKey: name, v1alpha1.ExperimentTemplateNameAnnotationKey: t}
			for _, p := range parts[1:] {
				pod := p.(*corev1.Pod)
				pod.Name = rs.Name + pod.Name[len(pod.Name)-6:]
				pod.OwnerReferences[0].Name, pod.OwnerReferences[0].UID = rs.Name, rs.UID
			}
			objs = append(objs, parts...)
		}
		run := analysisRun(ro, name+"-compare", rev, age-time.Minute, phase, 2, 0, 0, 0)
		run.Labels, run.Annotations = nil, nil
		run.OwnerReferences = []metav1.OwnerReference{exRef}
		return append(objs, run)
	}
	return scenario{"canary-experiment", ro, concat(
		replicaSet(ro, 2, hash2, image2, 3*time.Minute, 1, 1, ""),
		replicaSet(ro, 1, hash1, image1, 48*time.Hour, 3, 3, ""),
		experiment(ro.Name+"-"+hash2+"-2-1", 2, 2*time.Minute, v1alpha1.AnalysisPhaseRunning, map[string]string{"baseline": "6d9c7b5f4a", "canary": "8b7f6c5d9e"}),
		experiment(ro.Name+"-"+hash1+"-1-1", 1, 47*time.Hour, v1alpha1.AnalysisPhaseSuccessful, map[string]string{"baseline": "4c8d7e6f5b", "canary": "9a8b7c6d5e"}),
		[]runtime.Object{analysisRun(ro, ro.Name+"-"+hash2+"-2", 2, 3*time.Minute, v1alpha1.AnalysisPhaseRunning, 3, 0, 0, 0)},
	)}
}
