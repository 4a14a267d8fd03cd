// Package view turns a Rollout and the ReplicaSets and pods it owns into
// what `get rollout` prints: the summary and the revision tree, with Argo
// Rollouts' plugin layout and icons. It is pure (no client, no clock): the
// caller passes the objects and the time, so golden files are stable.
package view

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/phase"
)

// Icons, as Argo's plugin draws them.
const (
	IconWaiting     = "◷"
	IconProgressing = "◌"
	IconWarning     = "⚠"
	IconUnknown     = "?"
	IconOK          = "✔"
	IconBad         = "✖"
	IconPaused      = "॥"
	IconNeutral     = "•"

	IconRollout    = "⟳"
	IconRevision   = "#"
	IconReplicaSet = "⧉"
	IconPod        = "□"
	IconAnalysis   = "α"
	IconJob        = "⊞"
	IconExperiment = "Σ"
)

// Roles a ReplicaSet (and its image) can play.
const (
	RoleStable  = "stable"
	RoleCanary  = "canary"
	RoleActive  = "active"
	RolePreview = "preview"
)

// Strategy names as printed.
const (
	StrategyCanary    = "Canary"
	StrategyBlueGreen = "BlueGreen"
)

// Rollout is everything `get rollout` shows about one Rollout.
type Rollout struct {
	Name      string
	Namespace string
	Created   time.Time
	Phase     v1alpha1.RolloutPhase
	Message   string
	Strategy  string
	// Step, SetWeight and ActualWeight are set for canaries only. Step is
	// empty until the controller has written a step index.
	Step         string
	SetWeight    string
	ActualWeight string

	Desired, Current, Updated, Ready, Available int32

	Images      []Image
	ReplicaSets []ReplicaSet
	// Experiments are the Rollout's Experiments (its experiment steps'),
	// by creation time.
	Experiments []Experiment
	// AnalysisRuns are the Rollout's runs, by revision (newest first),
	// then creation time.
	AnalysisRuns []AnalysisRun
}

// AnalysisRun is one AnalysisRun of a Rollout or an Experiment.
type AnalysisRun struct {
	Name     string
	Created  time.Time
	Revision int
	Status   string
	Icon     string
	// Successful, Failed, Inconclusive and Error count measurements,
	// summed over the run's metrics.
	Successful, Failed, Inconclusive, Error int32
	// Jobs are the Jobs of the run's measurements still kept.
	Jobs []Job
}

// Job is a Job a run's measurement created.
type Job struct {
	Name    string
	Created time.Time
	Status  string
	Icon    string
}

// Image is a container image running in the Rollout's ReplicaSets, with the
// roles of the ReplicaSets running it.
type Image struct {
	Name  string
	Roles []string
}

// ReplicaSet is one ReplicaSet of the Rollout.
type ReplicaSet struct {
	Name     string
	Created  time.Time
	Revision int
	Status   string
	Icon     string
	// Roles in display order: stable first, then canary, active or preview.
	Roles []string
	// ScaleDownDeadline is the scale-down-deadline annotation, when set and valid.
	ScaleDownDeadline *time.Time
	Replicas          int32
	Images            []string
	Pods              []Pod
}

// Pod is one pod of a ReplicaSet.
type Pod struct {
	Name     string
	Created  time.Time
	Status   string
	Icon     string
	Ready    string
	Restarts int32
}

// Related are the objects a Rollout's view is built from. They may
// include objects of other workloads: only those owned by the Rollout
// (ReplicaSets, AnalysisRuns, Experiments), by its Experiments
// (ReplicaSets, AnalysisRuns), by their ReplicaSets (pods) and by their
// runs (Jobs a measurement still keeps) are shown, as ownership is what
// ties them together.
type Related struct {
	ReplicaSets  []appsv1.ReplicaSet
	Pods         []corev1.Pod
	AnalysisRuns []v1alpha1.AnalysisRun
	Jobs         []batchv1.Job
	Experiments  []v1alpha1.Experiment
}

// NewRollout builds the view of ro from its ReplicaSets and pods alone.
func NewRollout(ro *v1alpha1.Rollout, rss []appsv1.ReplicaSet, pods []corev1.Pod) *Rollout {
	return NewRolloutFrom(ro, Related{ReplicaSets: rss, Pods: pods})
}

// NewRolloutFrom builds the view of ro and what it owns among rel.
func NewRolloutFrom(ro *v1alpha1.Rollout, rel Related) *Rollout {
	rss, pods, runs, jobs := rel.ReplicaSets, rel.Pods, rel.AnalysisRuns, rel.Jobs
	v := &Rollout{
		Name:      ro.Name,
		Namespace: ro.Namespace,
		Created:   ro.CreationTimestamp.Time,
		Desired:   ro.ReplicasOrDefault(),
		Current:   ro.Status.Replicas,
		Updated:   ro.Status.UpdatedReplicas,
		Ready:     ro.Status.ReadyReplicas,
		Available: ro.Status.AvailableReplicas,
	}
	v.Phase, v.Message = phase.ForClient(ro)

	owned := ownedReplicaSets(ro, rss)
	v.ReplicaSets = make([]ReplicaSet, 0, len(owned))
	for i := range owned {
		v.ReplicaSets = append(v.ReplicaSets, newReplicaSet(ro, owned[i], pods))
	}
	sort.SliceStable(v.ReplicaSets, func(i, j int) bool {
		a, b := v.ReplicaSets[i], v.ReplicaSets[j]
		if a.Revision != b.Revision {
			return a.Revision > b.Revision
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Name < b.Name
	})

	switch {
	case ro.Spec.Strategy.Canary != nil:
		v.Strategy = StrategyCanary
		canary := ro.Spec.Strategy.Canary
		if ro.Status.CurrentStepIndex != nil && len(canary.Steps) > 0 {
			v.Step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(canary.Steps))
		}
		set, actual := weights(ro, owned)
		v.SetWeight, v.ActualWeight = strconv.Itoa(int(set)), strconv.Itoa(int(actual))
	case ro.Spec.Strategy.BlueGreen != nil:
		v.Strategy = StrategyBlueGreen
	}
	v.Images = images(v.ReplicaSets)
	for i := range runs {
		if ownedBy(runs[i].OwnerReferences, ro.UID) {
			v.AnalysisRuns = append(v.AnalysisRuns, newAnalysisRun(&runs[i], jobs))
		}
	}
	sort.SliceStable(v.AnalysisRuns, func(i, j int) bool {
		a, b := v.AnalysisRuns[i], v.AnalysisRuns[j]
		if a.Revision != b.Revision {
			return a.Revision > b.Revision
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Name < b.Name
	})
	for i := range rel.Experiments {
		if ex := &rel.Experiments[i]; ownedBy(ex.OwnerReferences, ro.UID) {
			v.Experiments = append(v.Experiments, *NewExperiment(ex, rel))
		}
	}
	sort.SliceStable(v.Experiments, func(i, j int) bool {
		a, b := v.Experiments[i], v.Experiments[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Name < b.Name
	})
	return v
}

// newAnalysisRun reads a run as Argo's plugin shows it: its phase and its
// measurements counted by outcome, with the Jobs its measurements still
// keep.
func newAnalysisRun(run *v1alpha1.AnalysisRun, jobs []batchv1.Job) AnalysisRun {
	v := AnalysisRun{Name: run.Name, Created: run.CreationTimestamp.Time, Status: string(run.Status.Phase)}
	v.Revision, _ = strconv.Atoi(run.Annotations[v1alpha1.RevisionAnnotation])
	v.Icon = AnalysisIcon(run.Status.Phase)
	kept := map[string]bool{}
	for _, m := range run.Status.MetricResults {
		v.Successful += m.Successful
		v.Failed += m.Failed
		v.Inconclusive += m.Inconclusive
		v.Error += m.Error
		for _, ms := range m.Measurements {
			if name := ms.Metadata["job-name"]; name != "" {
				kept[name] = true
			}
		}
	}
	for i := range jobs {
		if kept[jobs[i].Name] && ownedBy(jobs[i].OwnerReferences, run.UID) {
			v.Jobs = append(v.Jobs, newJob(&jobs[i]))
		}
	}
	sort.SliceStable(v.Jobs, func(i, j int) bool {
		if !v.Jobs[i].Created.Equal(v.Jobs[j].Created) {
			return v.Jobs[i].Created.Before(v.Jobs[j].Created)
		}
		return v.Jobs[i].Name < v.Jobs[j].Name
	})
	return v
}

// AnalysisIcon is the icon of an analysis phase (a run's, an
// Experiment's, a measurement Job's), as Argo's plugin draws it; a phase
// not set yet has none.
func AnalysisIcon(p v1alpha1.AnalysisPhase) string {
	switch p {
	case v1alpha1.AnalysisPhaseSuccessful:
		return IconOK
	case v1alpha1.AnalysisPhaseFailed:
		return IconBad
	case v1alpha1.AnalysisPhaseError:
		return IconWarning
	case v1alpha1.AnalysisPhaseInconclusive:
		return IconUnknown
	case v1alpha1.AnalysisPhaseRunning:
		return IconProgressing
	case v1alpha1.AnalysisPhasePending:
		return IconWaiting
	}
	return " "
}

func newJob(j *batchv1.Job) Job {
	status := "Running"
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			status = "Successful"
		case batchv1.JobFailed:
			status = "Failed"
		}
	}
	return Job{Name: j.Name, Created: j.CreationTimestamp.Time, Status: status, Icon: AnalysisIcon(v1alpha1.AnalysisPhase(status))}
}

func ownedReplicaSets(ro *v1alpha1.Rollout, rss []appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for i := range rss {
		if ownedBy(rss[i].OwnerReferences, ro.UID) {
			out = append(out, &rss[i])
		}
	}
	return out
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, ref := range refs {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

func newReplicaSet(ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, pods []corev1.Pod) ReplicaSet {
	v := ReplicaSet{
		Name:     rs.Name,
		Created:  rs.CreationTimestamp.Time,
		Status:   replicaSetHealth(rs),
		Roles:    roles(ro, rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]),
		Replicas: rs.Status.Replicas,
	}
	v.Icon = replicaSetIcon(v.Status)
	v.Revision, _ = strconv.Atoi(rs.Annotations[v1alpha1.RevisionAnnotation])
	if d, err := time.Parse(time.RFC3339, rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]); err == nil {
		v.ScaleDownDeadline = &d
	}
	for _, c := range rs.Spec.Template.Spec.Containers {
		v.Images = append(v.Images, c.Image)
	}
	for i := range pods {
		if ownedBy(pods[i].OwnerReferences, rs.UID) {
			v.Pods = append(v.Pods, newPod(&pods[i]))
		}
	}
	sort.SliceStable(v.Pods, func(i, j int) bool {
		if !v.Pods[i].Created.Equal(v.Pods[j].Created) {
			return v.Pods[i].Created.Before(v.Pods[j].Created)
		}
		return v.Pods[i].Name < v.Pods[j].Name
	})
	return v
}

// roles says what a ReplicaSet with pod-template hash h is to ro, in Argo's
// display order: stable first, then one of canary, active, preview.
func roles(ro *v1alpha1.Rollout, h string) []string {
	if h == "" {
		return nil
	}
	st := &ro.Status
	var out []string
	if st.StableRS == h {
		out = append(out, RoleStable)
	}
	switch {
	case ro.Spec.Strategy.Canary != nil:
		if st.StableRS != h && st.CurrentPodHash == h {
			out = append(out, RoleCanary)
		}
	case ro.Spec.Strategy.BlueGreen != nil:
		if st.BlueGreen.ActiveSelector == h {
			out = append(out, RoleActive)
		} else if st.BlueGreen.PreviewSelector == h {
			out = append(out, RolePreview)
		}
	}
	return out
}

// weights returns the canary's set and actual weight. Switchyard's
// controller writes both in status.canary.replicaWeights; against a
// controller that does not (Argo Rollouts), the set weight follows the steps
// and the actual weight is computed the same way the controller does: the
// share of the Rollout's ready pods that run the current template.
func weights(ro *v1alpha1.Rollout, owned []*appsv1.ReplicaSet) (set, actual int32) {
	if w := ro.Status.Canary.ReplicaWeights; w != nil {
		return w.SetWeight, w.ActualWeight
	}
	set = stepSetWeight(ro)
	if w := ro.Status.Canary.Weights; w != nil {
		// A traffic router reports the split it applied.
		return set, w.Canary.Weight
	}
	var ready, current int32
	for _, rs := range owned {
		ready += rs.Status.ReadyReplicas
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == ro.Status.CurrentPodHash {
			current += rs.Status.ReadyReplicas
		}
	}
	if ready > 0 {
		actual = int32((int64(current)*100 + int64(ready)/2) / int64(ready))
	}
	return set, actual
}

// stepSetWeight is the weight of the last setWeight step at or before the
// current step: 0 when aborted, 100 when there are no steps left.
func stepSetWeight(ro *v1alpha1.Rollout) int32 {
	if ro.Status.Abort {
		return 0
	}
	steps := ro.Spec.Strategy.Canary.Steps
	index := int32(0)
	if ro.Status.CurrentStepIndex != nil {
		index = *ro.Status.CurrentStepIndex
	}
	if len(steps) == 0 || int(index) >= len(steps) {
		return 100
	}
	for i := index; i >= 0; i-- {
		if w := steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// images lists the images of ReplicaSets that still have pods, each with the
// union of its ReplicaSets' roles, sorted by name.
func images(rss []ReplicaSet) []Image {
	byName := map[string]map[string]bool{}
	for _, rs := range rss {
		if rs.Replicas == 0 {
			continue
		}
		for _, img := range rs.Images {
			if byName[img] == nil {
				byName[img] = map[string]bool{}
			}
			for _, r := range rs.Roles {
				byName[img][r] = true
			}
		}
	}
	out := make([]Image, 0, len(byName))
	for name, set := range byName {
		img := Image{Name: name}
		for r := range set {
			img.Roles = append(img.Roles, r)
		}
		sort.Strings(img.Roles)
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// replicaSetHealth follows Argo's reading of a ReplicaSet.
func replicaSetHealth(rs *appsv1.ReplicaSet) string {
	if rs.Generation > rs.Status.ObservedGeneration {
		return "Progressing"
	}
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			return string(appsv1.ReplicaSetReplicaFailure)
		}
	}
	if rs.Spec.Replicas != nil && rs.Status.AvailableReplicas < *rs.Spec.Replicas {
		return "Progressing"
	}
	if rs.Spec.Replicas != nil && *rs.Spec.Replicas == 0 {
		return "ScaledDown"
	}
	return "Healthy"
}

func replicaSetIcon(status string) string {
	switch status {
	case "Progressing":
		return IconProgressing
	case "Healthy":
		return IconOK
	case string(appsv1.ReplicaSetReplicaFailure):
		return IconBad
	case "ScaledDown":
		return IconNeutral
	}
	return " "
}

// PhaseIcon is the icon drawn before a Rollout phase.
func PhaseIcon(p v1alpha1.RolloutPhase) string {
	switch p {
	case v1alpha1.RolloutPhaseHealthy:
		return IconOK
	case v1alpha1.RolloutPhaseProgressing:
		return IconProgressing
	case v1alpha1.RolloutPhasePaused:
		return IconPaused
	case v1alpha1.RolloutPhaseDegraded:
		return IconBad
	}
	return IconUnknown
}

// PhaseLine is how `status` prints a phase: "Phase - message", or the phase
// alone when there is no message.
func PhaseLine(p v1alpha1.RolloutPhase, msg string) string {
	if msg == "" {
		return string(p)
	}
	return string(p) + " - " + msg
}

// newPod reads a pod's status the way kubectl get pods does.
func newPod(pod *corev1.Pod) Pod {
	status, ready, restarts := podStatus(pod)
	return Pod{
		Name:     pod.Name,
		Created:  pod.CreationTimestamp.Time,
		Status:   status,
		Icon:     podIcon(status),
		Ready:    ready,
		Restarts: restarts,
	}
}

func podStatus(pod *corev1.Pod) (status, ready string, restarts int32) {
	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	sidecar := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		sidecar[c.Name] = c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	}
	initializing := false
	for i, c := range pod.Status.InitContainerStatuses {
		restarts += c.RestartCount
		if c.State.Terminated != nil && c.State.Terminated.ExitCode == 0 {
			continue
		}
		if sidecar[c.Name] && c.Started != nil && *c.Started && c.Ready {
			continue
		}
		initializing = true
		switch {
		case c.State.Terminated != nil:
			reason = "Init:" + terminatedReason(c.State.Terminated)
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + c.State.Waiting.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		break
	}
	readyCount := 0
	if !initializing {
		restarts = 0
		running := false
		// The first container's state wins, as in kubectl: walk backwards.
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			c := pod.Status.ContainerStatuses[i]
			restarts += c.RestartCount
			switch {
			case c.State.Waiting != nil && c.State.Waiting.Reason != "":
				reason = c.State.Waiting.Reason
			case c.State.Terminated != nil:
				reason = terminatedReason(c.State.Terminated)
			case c.Ready && c.State.Running != nil:
				running = true
				readyCount++
			}
		}
		if reason == "Completed" && running {
			reason = "Running"
		}
	}
	if pod.DeletionTimestamp != nil {
		if pod.Status.Reason == "NodeLost" {
			reason = "Unknown"
		} else {
			reason = "Terminating"
		}
	}
	return reason, fmt.Sprintf("%d/%d", readyCount, len(pod.Spec.Containers)), restarts
}

func terminatedReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Signal:%d", t.Signal)
	default:
		return fmt.Sprintf("ExitCode:%d", t.ExitCode)
	}
}

func podIcon(status string) string {
	switch {
	case strings.HasPrefix(status, "Init:"):
		return IconProgressing
	case strings.HasPrefix(status, "Signal:"), strings.HasPrefix(status, "ExitCode:"):
		return IconBad
	case strings.HasSuffix(status, "Error"), strings.HasPrefix(status, "Err"):
		return IconWarning
	}
	switch status {
	case "Pending", "Terminating", "ContainerCreating":
		return IconProgressing
	case "Running", "Completed":
		return IconOK
	case "Failed", "InvalidImageName", "CrashLoopBackOff":
		return IconBad
	case "ImagePullBackOff", "RegistryUnavailable":
		return IconWarning
	case "Unknown":
		return IconUnknown
	}
	return " "
}
