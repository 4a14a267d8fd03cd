package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchyard-dev/switchyard/test/history"
	"github.com/switchyard-dev/switchyard/test/invariant"
)

// kill is one SIGKILL of a controller replica.
type kill struct {
	At      time.Time `json:"at"`
	Replica string    `json:"replica"`
	When    string    `json:"when"`
	// InFlight is how many updates were in flight.
	InFlight int `json:"updatesInFlight"`
}

// failover is one kill of the leader and the next leader.
type failover struct {
	Killed    string    `json:"killed"`
	At        time.Time `json:"at"`
	NewLeader string    `json:"newLeader"`
	// Seconds is from the kill until a replica reported it leads;
	// LeaseAcquiredSeconds until the Lease's acquireTime.
	Seconds              float64 `json:"seconds"`
	LeaseAcquiredSeconds float64 `json:"leaseAcquiredSeconds"`
}

// apiServerRestart is one kill and start of kube-apiserver.
type apiServerRestart struct {
	At           time.Time `json:"at"`
	DownSeconds  float64   `json:"downSeconds"`
	ReadySeconds float64   `json:"untilReadySeconds"`
	// RecoveredSeconds is until the cluster's own controllers answered
	// again (controlPlaneProbe); the next restart waits for it.
	RecoveredSeconds float64 `json:"untilControllersAnsweredSeconds"`
	InFlight         int     `json:"updatesInFlight"`
	Error            string  `json:"error,omitempty"`
}

// replicaResult is one controller replica over a run.
type replicaResult struct {
	User   string   `json:"user"`
	Starts int      `json:"starts"`
	Kills  int      `json:"kills"`
	Exits  []string `json:"unexpectedExits,omitempty"`
	Log    string   `json:"log"`
}

// runResult is one fault kind's run.
type runResult struct {
	Fault          string    `json:"fault"`
	Namespace      string    `json:"namespace"`
	Started        time.Time `json:"started"`
	Seconds        float64   `json:"seconds"`
	Error          string    `json:"error,omitempty"`
	Rollouts       []string  `json:"rollouts"`
	LeaderElection bool      `json:"leaderElection"`
	Summary        summary   `json:"summary"`

	Updates           []updateResult     `json:"updates"`
	Kills             []kill             `json:"kills,omitempty"`
	Failovers         []failover         `json:"failovers,omitempty"`
	APIServerRestarts []apiServerRestart `json:"apiServerRestarts,omitempty"`
	Replicas          []replicaResult    `json:"replicas"`
	// LeaderChanges counts the Lease changing hands (audit log).
	LeaderChanges int `json:"leaderChanges,omitempty"`
	// Writes are each replica's write requests (audit log).
	Writes map[string]int `json:"writesByIdentity"`
	// ClusterNotes, when a Rollout did not reach its intended state, say
	// what of the cluster (nodes, unscheduled pods) could hold it back.
	ClusterNotes []string `json:"clusterNotes,omitempty"`
	// AuditLog keeps the run's audit lines when a check failed.
	AuditLog string `json:"auditLog,omitempty"`
	// States are the committed states checked; Changes the changes
	// recorded; Gaps the spans a kind was not followed change by change.
	States  int `json:"statesChecked"`
	Changes int `json:"changesRecorded"`
	// OverCreated counts the pods kube-controller-manager's ReplicaSet
	// controller created beyond their ReplicaSet's spec.replicas: not the
	// Rollout controller's doing, so outside the pod bounds.
	OverCreated int                   `json:"podsOverCreatedByReplicaSetController"`
	Gaps        []history.Gap         `json:"gaps"`
	Violations  []invariant.Violation `json:"violations"`
}

// summary is a run's figures.
type summary struct {
	Updates                     int     `json:"updates"`
	Promotes                    int     `json:"promotes"`
	Kills                       int     `json:"kills"`
	KillsPerUpdate              float64 `json:"killsPerUpdate"`
	Failovers                   int     `json:"failovers"`
	LongestFailoverSeconds      float64 `json:"longestFailoverSeconds"`
	APIServerRestarts           int     `json:"apiServerRestarts"`
	LongestAPIServerOutage      float64 `json:"longestAPIServerOutageSeconds"`
	ControllerStarts            int     `json:"controllerStarts"`
	UnexpectedExits             int     `json:"unexpectedExits"`
	LongestReconvergence        float64 `json:"longestReconvergenceSeconds"`
	LongestReconvergenceRollout string  `json:"longestReconvergenceRollout"`
	MedianReconvergence         float64 `json:"medianReconvergenceSeconds"`
	LongestUpdate               float64 `json:"longestUpdateSeconds"`
	// UpdatesUnderFault counts the updates during which at least one
	// fault began; FaultsPerUpdate is the median number per update.
	UpdatesUnderFault int            `json:"updatesUnderFault"`
	FaultsPerUpdate   int            `json:"medianFaultsPerUpdate"`
	Violations        int            `json:"violations"`
	ByCheck           map[string]int `json:"violationsByCheck"`
}

// faultTimes are when each fault of the run began.
func (r *runResult) faultTimes() []time.Time {
	var out []time.Time
	for _, k := range r.Kills {
		out = append(out, k.At)
	}
	for _, f := range r.Failovers {
		out = append(out, f.At)
	}
	for _, a := range r.APIServerRestarts {
		out = append(out, a.At)
	}
	return out
}

func (r *runResult) summarize() {
	faults := r.faultTimes()
	var perUpdate []int
	for i := range r.Updates {
		u := &r.Updates[i]
		u.Faults = 0
		for _, t := range faults {
			if !t.Before(u.Started) && !t.After(u.Converged) {
				u.Faults++
			}
		}
		perUpdate = append(perUpdate, u.Faults)
	}
	s := summary{Updates: len(r.Updates), Kills: len(r.Kills), Failovers: len(r.Failovers), APIServerRestarts: len(r.APIServerRestarts), ByCheck: map[string]int{}}
	var reconv []float64
	for _, u := range r.Updates {
		s.Promotes += u.Promotes
		reconv = append(reconv, u.ReconvergeSeconds)
		if u.ReconvergeSeconds > s.LongestReconvergence {
			s.LongestReconvergence, s.LongestReconvergenceRollout = u.ReconvergeSeconds, u.Rollout
		}
		s.LongestUpdate = max(s.LongestUpdate, u.Seconds)
	}
	if len(reconv) > 0 {
		sort.Float64s(reconv)
		s.MedianReconvergence = reconv[len(reconv)/2]
		sort.Ints(perUpdate)
		s.FaultsPerUpdate = perUpdate[len(perUpdate)/2]
		for _, n := range perUpdate {
			if n > 0 {
				s.UpdatesUnderFault++
			}
		}
	}
	if s.Updates > 0 {
		s.KillsPerUpdate = float64(s.Kills) / float64(s.Updates)
	}
	for _, f := range r.Failovers {
		s.LongestFailoverSeconds = max(s.LongestFailoverSeconds, f.Seconds)
	}
	for _, a := range r.APIServerRestarts {
		s.LongestAPIServerOutage = max(s.LongestAPIServerOutage, a.ReadySeconds)
	}
	for _, rep := range r.Replicas {
		s.ControllerStarts += rep.Starts
		s.UnexpectedExits += len(rep.Exits)
	}
	s.Violations = len(r.Violations)
	for _, v := range r.Violations {
		s.ByCheck[v.Check]++
	}
	r.Summary = s
}

// results are a whole chaos run.
type results struct {
	Started    time.Time    `json:"started"`
	Seconds    float64      `json:"seconds"`
	Config     config       `json:"config"`
	Machine    machine      `json:"machine"`
	Cluster    string       `json:"cluster"`
	Runs       []*runResult `json:"runs"`
	Violations int          `json:"violations"`
	Error      string       `json:"error,omitempty"`

	// logsDir holds the controllers' (and, after a violation, the
	// cluster's) logs.
	logsDir string
}

type machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	LoadAvg   string `json:"loadAverageAtStart"`
}

func newResults(cfg config) *results {
	load, _ := os.ReadFile("/proc/loadavg")
	return &results{
		Started: time.Now(),
		Config:  cfg,
		Machine: machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " ")},
	}
}

func (r *results) add(run *runResult) {
	run.summarize()
	r.Runs = append(r.Runs, run)
	r.Violations += len(run.Violations)
}

func (r *results) write(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// print writes the tables: one line per fault kind, the checks per fault
// kind, then every violation with its evidence.
func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\nSwitchyard chaos run (seed %d, %d CPUs, load %s)\n%s\n\n", r.Config.Seed, r.Machine.CPUs, r.Machine.LoadAvg, r.Cluster)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\tupdates\tpromotes\tkills\tfailovers\tapiserver restarts\tupdates under fault\tfaults/update (median)\tcontroller starts\tunexpected exits\tlongest reconvergence\tmedian\tlongest update\tviolations\t")
	for _, run := range r.Runs {
		s := run.Summary
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%d/%d\t%d\t%d\t%d\t%.1fs (%s)\t%.1fs\t%.1fs\t%d\t\n", run.Fault, s.Updates, s.Promotes,
			applies(run.Fault == faultKill, fmt.Sprint(s.Kills)),
			applies(run.Fault == faultFailover, fmt.Sprintf("%d (longest %.1fs)", s.Failovers, s.LongestFailoverSeconds)),
			applies(run.Fault == faultAPIServer, fmt.Sprintf("%d (longest outage %.1fs)", s.APIServerRestarts, s.LongestAPIServerOutage)),
			s.UpdatesUnderFault, s.Updates, s.FaultsPerUpdate,
			s.ControllerStarts, s.UnexpectedExits, s.LongestReconvergence, s.LongestReconvergenceRollout, s.MedianReconvergence, s.LongestUpdate, s.Violations)
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "check\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%s\t", run.Fault)
	}
	fmt.Fprintln(tw)
	for _, check := range append(append([]string(nil), invariant.Checks...), notConverged, twoLeaders) {
		fmt.Fprintf(tw, "%s\t", check)
		for _, run := range r.Runs {
			if check == twoLeaders && !run.LeaderElection {
				fmt.Fprint(tw, "-\t")
				continue
			}
			fmt.Fprintf(tw, "%d\t", run.Summary.ByCheck[check])
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "states checked\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%d\t", run.States)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "pods the ReplicaSet controller made beyond spec (not counted)\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%d\t", run.OverCreated)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "watch gaps (relists)\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%d\t", len(run.Gaps))
	}
	fmt.Fprintln(tw)
	tw.Flush()

	for _, run := range r.Runs {
		if run.Error != "" {
			fmt.Fprintf(w, "\n%s stopped early: %s\n", run.Fault, run.Error)
		}
		for _, n := range run.ClusterNotes {
			fmt.Fprintf(w, "\n%s: %s", run.Fault, n)
		}
		for _, g := range run.Gaps {
			fmt.Fprintf(w, "\n%s: %s listed again at resourceVersion %d (last change seen %d, %s): %d objects changed unseen", run.Fault, g.Kind, g.ToRV, g.FromRV, g.Listed.Sub(g.LastSeen).Round(time.Millisecond), g.ChangedObjects)
		}
	}
	if r.Violations == 0 {
		fmt.Fprintln(w, "\nviolations: 0")
		return
	}
	fmt.Fprintf(w, "\nviolations: %d\n", r.Violations)
	for _, run := range r.Runs {
		for _, v := range run.Violations {
			fmt.Fprintf(w, "  %s: %s\n", run.Fault, v)
		}
	}
}

// applies is s for the fault kind it belongs to, "-" elsewhere.
func applies(ok bool, s string) string {
	if !ok {
		return "-"
	}
	return s
}
