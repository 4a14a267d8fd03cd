package rolloutanalysis

import (
	"sort"
	"time"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// OwnedRun is one run the Rollout controls, as the history rules see it.
type OwnedRun struct {
	Name  string
	Phase v1alpha1.AnalysisPhase
	// Hash is the rollouts-pod-template-hash label ("" without one).
	Hash        string
	Created     time.Time
	Terminating bool
}

// History is what the history rules read.
type History struct {
	Runs []OwnedRun
	// Current are the runs the Rollout's status names: they are left alone.
	Current map[string]bool
	// Revisions are the pod-template hashes that still have a ReplicaSet
	// (one not being deleted).
	Revisions map[string]bool
	// SuccessfulLimit and UnsuccessfulLimit are spec.analysis's
	// successfulRunHistoryLimit and unsuccessfulRunHistoryLimit.
	SuccessfulLimit, UnsuccessfulLimit int32
}

// Cleanup is what to do with the runs that are not current.
type Cleanup struct {
	// Terminate are runs still measuring.
	Terminate []string
	// Delete are runs of a revision that is gone, and finished runs beyond
	// the history limits.
	Delete []string
}

// Prune applies the reference's rules to the runs that are not current:
// a run with no revision label, or whose revision has no ReplicaSet, is
// deleted; one still measuring is terminated (and not counted); finished
// ones are kept newest first, up to successfulRunHistoryLimit Successful
// ones and unsuccessfulRunHistoryLimit Failed, Error or Inconclusive ones.
func Prune(h History) Cleanup {
	var c Cleanup
	var finished []OwnedRun
	for _, run := range h.Runs {
		switch {
		case h.Current[run.Name]:
		case run.Hash == "" || !h.Revisions[run.Hash]:
			c.Delete = append(c.Delete, run.Name)
		case !run.Phase.Completed():
			if !run.Terminating {
				c.Terminate = append(c.Terminate, run.Name)
			}
		default:
			finished = append(finished, run)
		}
	}
	sort.SliceStable(finished, func(i, j int) bool {
		if !finished[i].Created.Equal(finished[j].Created) {
			return finished[i].Created.After(finished[j].Created)
		}
		return finished[i].Name > finished[j].Name
	})
	var successful, unsuccessful int32
	for _, run := range finished {
		if run.Phase == v1alpha1.AnalysisPhaseSuccessful {
			successful++
			if successful > h.SuccessfulLimit {
				c.Delete = append(c.Delete, run.Name)
			}
			continue
		}
		unsuccessful++
		if unsuccessful > h.UnsuccessfulLimit {
			c.Delete = append(c.Delete, run.Name)
		}
	}
	return c
}
