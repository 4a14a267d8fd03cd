package view

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// IconExperiment and IconAnalysisRun are drawn before Experiments and
// AnalysisRuns in trees, as Argo's plugin draws them.
const (
	IconExperiment  = "Σ"
	IconAnalysisRun = "α"
)

// Experiment is everything `get experiment` shows about one Experiment.
type Experiment struct {
	Name      string
	Namespace string
	Created   time.Time
	Phase     v1alpha1.AnalysisPhase
	Message   string
	// Images run by ReplicaSets with pods, each tagged Σ:<template>.
	Images      []Image
	ReplicaSets []ReplicaSet
	Runs        []ExperimentRun
}

// ExperimentRun is one AnalysisRun of an Experiment.
type ExperimentRun struct {
	Name    string
	Created time.Time
	Phase   v1alpha1.AnalysisPhase
	// Successful, Failed, Inconclusive and Error count measurements,
	// summed over the run's metrics.
	Successful, Failed, Inconclusive, Error int32
}

// NewExperiment builds the view of ex from the ReplicaSets, pods and runs
// given; only those the Experiment owns (and pods its ReplicaSets own)
// are kept.
func NewExperiment(ex *v1alpha1.Experiment, rss []appsv1.ReplicaSet, pods []corev1.Pod, runs []v1alpha1.AnalysisRun) *Experiment {
	v := &Experiment{
		Name: ex.Name, Namespace: ex.Namespace, Created: ex.CreationTimestamp.Time,
		Phase: ex.Status.Phase, Message: ex.Status.Message,
	}
	noRollout := &v1alpha1.Rollout{}
	byImage := map[string]map[string]bool{}
	for i := range rss {
		rs := &rss[i]
		if !ownedBy(rs.OwnerReferences, ex.UID) {
			continue
		}
		v.ReplicaSets = append(v.ReplicaSets, newReplicaSet(noRollout, rs, pods))
		if rs.Status.Replicas == 0 {
			continue
		}
		for _, c := range rs.Spec.Template.Spec.Containers {
			if byImage[c.Image] == nil {
				byImage[c.Image] = map[string]bool{}
			}
			if t := rs.Annotations[v1alpha1.ExperimentTemplateNameAnnotationKey]; t != "" {
				byImage[c.Image][IconExperiment+":"+t] = true
			}
		}
	}
	sort.SliceStable(v.ReplicaSets, func(i, j int) bool {
		a, b := v.ReplicaSets[i], v.ReplicaSets[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Name < b.Name
	})
	for name, tags := range byImage {
		img := Image{Name: name}
		for t := range tags {
			img.Roles = append(img.Roles, t)
		}
		sort.Strings(img.Roles)
		v.Images = append(v.Images, img)
	}
	sort.Slice(v.Images, func(i, j int) bool { return v.Images[i].Name < v.Images[j].Name })
	for i := range runs {
		run := &runs[i]
		if !ownedBy(run.OwnerReferences, ex.UID) {
			continue
		}
		r := ExperimentRun{Name: run.Name, Created: run.CreationTimestamp.Time, Phase: run.Status.Phase}
		for _, m := range run.Status.MetricResults {
			r.Successful += m.Successful
			r.Failed += m.Failed
			r.Inconclusive += m.Inconclusive
			r.Error += m.Error
		}
		v.Runs = append(v.Runs, r)
	}
	sort.SliceStable(v.Runs, func(i, j int) bool {
		if !v.Runs[i].Created.Equal(v.Runs[j].Created) {
			return v.Runs[i].Created.Before(v.Runs[j].Created)
		}
		return v.Runs[i].Name < v.Runs[j].Name
	})
	return v
}

// AnalysisPhaseIcon is the icon of an Experiment's or run's phase.
func AnalysisPhaseIcon(p v1alpha1.AnalysisPhase) string {
	switch p {
	case v1alpha1.AnalysisPhaseSuccessful:
		return IconOK
	case v1alpha1.AnalysisPhaseInconclusive:
		return IconUnknown
	case v1alpha1.AnalysisPhaseFailed:
		return IconBad
	case v1alpha1.AnalysisPhaseError:
		return IconWarning
	case v1alpha1.AnalysisPhaseRunning:
		return IconProgressing
	case v1alpha1.AnalysisPhasePending:
		return IconWaiting
	}
	return " "
}

// nameColourKey colours the names of Pending and Running Experiments and
// runs, as Argo's plugin does.
func nameColourKey(p v1alpha1.AnalysisPhase) string {
	if p == v1alpha1.AnalysisPhasePending || p == v1alpha1.AnalysisPhaseRunning {
		return IconProgressing
	}
	return ""
}

// PrintExperiment writes the summary and the tree of e.
func (p Printer) PrintExperiment(w io.Writer, e *Experiment) error {
	var b strings.Builder
	icon := AnalysisPhaseIcon(e.Phase)
	fmt.Fprintf(&b, labelFormat, "Name:", e.Name)
	fmt.Fprintf(&b, labelFormat, "Namespace:", e.Namespace)
	fmt.Fprintf(&b, labelFormat, "Status:", p.colour(icon, icon)+" "+string(e.Phase))
	if e.Message != "" {
		fmt.Fprintf(&b, labelFormat, "Message:", e.Message)
	}
	for i, img := range e.Images {
		label := ""
		if i == 0 {
			label = "Images:"
		}
		fmt.Fprintf(&b, labelFormat, label, p.image(img))
	}
	b.WriteString("\n")

	rows := [][]string{{"NAME", "KIND", "STATUS", "AGE", "INFO"}}
	rows = append(rows, []string{IconExperiment + " " + p.colour(nameColourKey(e.Phase), e.Name), "Experiment", p.colour(icon, icon) + " " + string(e.Phase), p.age(e.Created), ""})
	children := len(e.ReplicaSets) + len(e.Runs)
	for i, rs := range e.ReplicaSets {
		rsPrefix, rsSub := branch(i == children-1, "")
		rows = append(rows, p.replicaSetRow(rs, rsPrefix))
		for k, pod := range rs.Pods {
			podPrefix, _ := branch(k == len(rs.Pods)-1, rsSub)
			info := "ready:" + pod.Ready
			if pod.Restarts > 0 {
				info += fmt.Sprintf(",restarts:%d", pod.Restarts)
			}
			rows = append(rows, []string{podPrefix + IconPod + " " + pod.Name, "Pod", p.colour(pod.Icon, pod.Icon) + " " + pod.Status, p.age(pod.Created), info})
		}
	}
	for j, run := range e.Runs {
		prefix, _ := branch(len(e.ReplicaSets)+j == children-1, "")
		runIcon := AnalysisPhaseIcon(run.Phase)
		var info []string
		for _, c := range []struct {
			icon string
			n    int32
		}{{IconOK, run.Successful}, {IconBad, run.Failed}, {IconUnknown, run.Inconclusive}, {IconWarning, run.Error}} {
			if c.n > 0 {
				info = append(info, fmt.Sprintf("%s %d", p.colour(c.icon, c.icon), c.n))
			}
		}
		rows = append(rows, []string{prefix + IconAnalysisRun + " " + p.colour(nameColourKey(run.Phase), run.Name), "AnalysisRun",
			p.colour(runIcon, runIcon) + " " + string(run.Phase), p.age(run.Created), strings.Join(info, ",")})
	}
	b.WriteString(table(rows))
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderExperiment returns what PrintExperiment writes.
func (p Printer) RenderExperiment(e *Experiment) string {
	var b strings.Builder
	_ = p.PrintExperiment(&b, e)
	return b.String()
}
