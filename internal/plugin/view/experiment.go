package view

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Experiment is everything `get experiment` shows about one Experiment,
// and what `get rollout` shows of an experiment step's.
type Experiment struct {
	Name      string
	Namespace string
	Created   time.Time
	// Revision is the Rollout revision that created it (0 for a
	// standalone Experiment).
	Revision int
	Phase    v1alpha1.AnalysisPhase
	Message  string
	// Images run by ReplicaSets with pods, each tagged Σ:<template>.
	Images      []Image
	ReplicaSets []ReplicaSet
	Runs        []AnalysisRun
}

// NewExperiment builds the view of ex from the objects related to it;
// only the ReplicaSets and runs the Experiment owns (and the pods and
// Jobs those own) are kept.
func NewExperiment(ex *v1alpha1.Experiment, rel Related) *Experiment {
	v := &Experiment{
		Name: ex.Name, Namespace: ex.Namespace, Created: ex.CreationTimestamp.Time,
		Phase: ex.Status.Phase, Message: ex.Status.Message,
	}
	v.Revision, _ = strconv.Atoi(ex.Annotations[v1alpha1.RevisionAnnotation])
	noRollout := &v1alpha1.Rollout{}
	byImage := map[string]map[string]bool{}
	for i := range rel.ReplicaSets {
		rs := &rel.ReplicaSets[i]
		if !ownedBy(rs.OwnerReferences, ex.UID) {
			continue
		}
		v.ReplicaSets = append(v.ReplicaSets, newReplicaSet(noRollout, rs, rel.Pods))
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
	for i := range rel.AnalysisRuns {
		if run := &rel.AnalysisRuns[i]; ownedBy(run.OwnerReferences, ex.UID) {
			v.Runs = append(v.Runs, newAnalysisRun(run, rel.Jobs))
		}
	}
	sort.SliceStable(v.Runs, func(i, j int) bool {
		if !v.Runs[i].Created.Equal(v.Runs[j].Created) {
			return v.Runs[i].Created.Before(v.Runs[j].Created)
		}
		return v.Runs[i].Name < v.Runs[j].Name
	})
	return v
}

// PrintExperiment writes the summary and the tree of e.
func (p Printer) PrintExperiment(w io.Writer, e *Experiment) error {
	var b strings.Builder
	icon := AnalysisIcon(e.Phase)
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
	rows = append(rows, p.experimentRows(*e, "", "")...)
	b.WriteString(table(rows))
	_, err := io.WriteString(w, b.String())
	return err
}

// experimentRows are an Experiment's row (prefixed with self) and, below
// it (prefixed with sub), its ReplicaSets with their pods, then its runs.
func (p Printer) experimentRows(e Experiment, self, sub string) [][]string {
	icon := AnalysisIcon(e.Phase)
	rows := [][]string{{self + IconExperiment + " " + p.colour(icon, e.Name), "Experiment", p.colour(icon, icon) + " " + string(e.Phase), p.age(e.Created), ""}}
	children := len(e.ReplicaSets) + len(e.Runs)
	for i, rs := range e.ReplicaSets {
		rsPrefix, rsSub := branch(i == children-1, sub)
		rows = append(rows, p.replicaSetRows(rs, rsPrefix, rsSub)...)
	}
	for j, run := range e.Runs {
		runPrefix, runSub := branch(len(e.ReplicaSets)+j == children-1, sub)
		rows = append(rows, p.analysisRunRows(run, runPrefix, runSub)...)
	}
	return rows
}

// RenderExperiment returns what PrintExperiment writes.
func (p Printer) RenderExperiment(e *Experiment) string {
	var b strings.Builder
	_ = p.PrintExperiment(&b, e)
	return b.String()
}
