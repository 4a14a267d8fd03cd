package view

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/duration"
)

// ANSI colours, as Argo's plugin uses them.
const (
	fgRed    = 31
	fgGreen  = 32
	fgYellow = 33
	fgHiBlue = 94
)

var colours = map[string]int{
	IconWaiting:     fgYellow,
	IconProgressing: fgHiBlue,
	IconWarning:     fgRed,
	IconUnknown:     fgYellow,
	IconOK:          fgGreen,
	IconBad:         fgRed,
	RoleCanary:      fgYellow,
	RoleStable:      fgGreen,
	RoleActive:      fgGreen,
	RolePreview:     fgHiBlue,
}

// Printer renders a Rollout view.
type Printer struct {
	// NoColor leaves out ANSI colour codes.
	NoColor bool
	// Now is the time ages and scale-down delays are measured against.
	Now time.Time
}

// labelFormat pads summary labels to one column, as Argo's plugin does.
const labelFormat = "%-17s%v\n"

// Print writes the summary and the revision tree of r.
func (p Printer) Print(w io.Writer, r *Rollout) error {
	var b strings.Builder
	fmt.Fprintf(&b, labelFormat, "Name:", r.Name)
	fmt.Fprintf(&b, labelFormat, "Namespace:", r.Namespace)
	fmt.Fprintf(&b, labelFormat, "Status:", p.colour(PhaseIcon(r.Phase), PhaseIcon(r.Phase))+" "+string(r.Phase))
	if r.Message != "" {
		fmt.Fprintf(&b, labelFormat, "Message:", r.Message)
	}
	fmt.Fprintf(&b, labelFormat, "Strategy:", r.Strategy)
	if r.Strategy == StrategyCanary {
		fmt.Fprintf(&b, labelFormat, "  Step:", r.Step)
		fmt.Fprintf(&b, labelFormat, "  SetWeight:", r.SetWeight)
		fmt.Fprintf(&b, labelFormat, "  ActualWeight:", r.ActualWeight)
	}
	for i, img := range r.Images {
		label := ""
		if i == 0 {
			label = "Images:"
		}
		fmt.Fprintf(&b, labelFormat, label, p.image(img))
	}
	b.WriteString("Replicas:\n")
	fmt.Fprintf(&b, labelFormat, "  Desired:", r.Desired)
	fmt.Fprintf(&b, labelFormat, "  Current:", r.Current)
	fmt.Fprintf(&b, labelFormat, "  Updated:", r.Updated)
	fmt.Fprintf(&b, labelFormat, "  Ready:", r.Ready)
	fmt.Fprintf(&b, labelFormat, "  Available:", r.Available)
	b.WriteString("\n")
	b.WriteString(p.tree(r))
	_, err := io.WriteString(w, b.String())
	return err
}

// Render returns what Print writes.
func (p Printer) Render(r *Rollout) string {
	var b strings.Builder
	_ = p.Print(&b, r)
	return b.String()
}

func (p Printer) image(img Image) string {
	if len(img.Roles) == 0 {
		return img.Name
	}
	tags := make([]string, len(img.Roles))
	for i, r := range img.Roles {
		tags[i] = p.colour(r, r)
	}
	return fmt.Sprintf("%s (%s)", img.Name, strings.Join(tags, ", "))
}

func (p Printer) tree(r *Rollout) string {
	rows := [][]string{{"NAME", "KIND", "STATUS", "AGE", "INFO"}}
	icon := PhaseIcon(r.Phase)
	rows = append(rows, []string{IconRollout + " " + r.Name, "Rollout", p.colour(icon, icon) + " " + string(r.Phase), p.age(r.Created), ""})

	revisions := revisionsOf(r)
	for i, rev := range revisions {
		prefix, sub := branch(i == len(revisions)-1, "")
		rows = append(rows, []string{fmt.Sprintf("%s%s revision:%d", prefix, IconRevision, rev), "", "", "", ""})
		// A revision's ReplicaSets, then its Experiments, then its runs.
		var inRev []ReplicaSet
		for _, rs := range r.ReplicaSets {
			if rs.Revision == rev {
				inRev = append(inRev, rs)
			}
		}
		var exps []Experiment
		for _, e := range r.Experiments {
			if e.Revision == rev {
				exps = append(exps, e)
			}
		}
		var runs []AnalysisRun
		for _, run := range r.AnalysisRuns {
			if run.Revision == rev {
				runs = append(runs, run)
			}
		}
		children, n := len(inRev)+len(exps)+len(runs), 0
		next := func() (string, string) {
			n++
			return branch(n == children, sub)
		}
		for _, rs := range inRev {
			self, below := next()
			rows = append(rows, p.replicaSetRows(rs, self, below)...)
		}
		for _, e := range exps {
			self, below := next()
			rows = append(rows, p.experimentRows(e, self, below)...)
		}
		for _, run := range runs {
			self, below := next()
			rows = append(rows, p.analysisRunRows(run, self, below)...)
		}
	}
	return table(rows)
}

// replicaSetRows are a ReplicaSet's row (prefixed with self) and its pods'
// (prefixed with sub).
func (p Printer) replicaSetRows(rs ReplicaSet, self, sub string) [][]string {
	rows := [][]string{p.replicaSetRow(rs, self)}
	for k, pod := range rs.Pods {
		podPrefix, _ := branch(k == len(rs.Pods)-1, sub)
		info := "ready:" + pod.Ready
		if pod.Restarts > 0 {
			info += fmt.Sprintf(",restarts:%d", pod.Restarts)
		}
		rows = append(rows, []string{podPrefix + IconPod + " " + pod.Name, "Pod", p.colour(pod.Icon, pod.Icon) + " " + pod.Status, p.age(pod.Created), info})
	}
	return rows
}

// analysisRunRows are a run's row (prefixed with self), showing its
// measurements counted by outcome (only the outcomes it has), as Argo's
// plugin does, and the Jobs of its measurements (prefixed with sub). Runs
// of a Rollout and of an Experiment are drawn alike.
func (p Printer) analysisRunRows(run AnalysisRun, self, sub string) [][]string {
	var info []string
	for _, c := range []struct {
		icon string
		n    int32
	}{{IconOK, run.Successful}, {IconBad, run.Failed}, {IconUnknown, run.Inconclusive}, {IconWarning, run.Error}} {
		if c.n > 0 {
			info = append(info, fmt.Sprintf("%s %d", p.colour(c.icon, c.icon), c.n))
		}
	}
	rows := [][]string{{self + IconAnalysis + " " + p.colour(run.Icon, run.Name), "AnalysisRun", p.colour(run.Icon, run.Icon) + " " + run.Status, p.age(run.Created), strings.Join(info, ",")}}
	for k, job := range run.Jobs {
		jobPrefix, _ := branch(k == len(run.Jobs)-1, sub)
		rows = append(rows, []string{jobPrefix + IconJob + " " + p.colour(job.Icon, job.Name), "Job", p.colour(job.Icon, job.Icon) + " " + job.Status, p.age(job.Created), ""})
	}
	return rows
}

func (p Printer) replicaSetRow(rs ReplicaSet, prefix string) []string {
	var info []string
	for _, role := range rs.Roles {
		info = append(info, p.colour(role, role))
	}
	name := rs.Name
	if n := len(rs.Roles); n > 0 {
		// The name takes the colour of its most specific role.
		name = p.colour(rs.Roles[n-1], name)
	}
	if rs.ScaleDownDeadline != nil {
		info = append(info, "delay:"+p.delay(*rs.ScaleDownDeadline))
	}
	return []string{prefix + IconReplicaSet + " " + name, "ReplicaSet", p.colour(rs.Icon, rs.Icon) + " " + rs.Status, p.age(rs.Created), strings.Join(info, ",")}
}

func (p Printer) age(t time.Time) string {
	return duration.HumanDuration(p.Now.Sub(t))
}

func (p Printer) delay(deadline time.Time) string {
	if deadline.Before(p.Now) {
		return "passed"
	}
	return duration.HumanDuration(deadline.Sub(p.Now))
}

// colour wraps s in the ANSI colour that key (an icon or a role) has.
func (p Printer) colour(key, s string) string {
	c, ok := colours[key]
	if p.NoColor || !ok {
		return s
	}
	return fmt.Sprintf("\x1b[%dm%s\x1b[0m", c, s)
}

// revisionsOf lists the revisions of the Rollout's ReplicaSets,
// Experiments and runs, newest first.
func revisionsOf(r *Rollout) []int {
	var out []int
	seen := map[int]bool{}
	add := func(rev int) {
		if !seen[rev] {
			seen[rev] = true
			out = append(out, rev)
		}
	}
	for _, rs := range r.ReplicaSets {
		add(rs.Revision)
	}
	for _, e := range r.Experiments {
		add(e.Revision)
	}
	for _, run := range r.AnalysisRuns {
		add(run.Revision)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

// branch returns the tree prefix of an element and the prefix its children
// continue with.
func branch(last bool, parent string) (self, children string) {
	if last {
		return parent + "└──", parent + "   "
	}
	return parent + "├──", parent + "│  "
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// width is the number of terminal cells s takes, ignoring colour codes.
func width(s string) int {
	return utf8.RuneCountInString(ansi.ReplaceAllString(s, ""))
}

// table aligns every column but the last, two spaces apart, like a
// tabwriter that understands colour codes. Trailing spaces are dropped.
func table(rows [][]string) string {
	var widths []int
	for _, row := range rows {
		for i := 0; i < len(row)-1; i++ {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], width(row[i]))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		var line strings.Builder
		for i, cell := range row {
			line.WriteString(cell)
			if i < len(row)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-width(cell)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteString("\n")
	}
	return b.String()
}
