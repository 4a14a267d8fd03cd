// Package promote implements `kubectl argo rollouts promote`: resume a
// paused Rollout, or with --full skip every remaining step, pause and
// analysis.
package promote

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

const example = `  # Promote a paused rollout
  kubectl argo rollouts promote backend-canary

  # Fully promote a rollout to desired version, skipping analysis, pauses, and steps
  kubectl argo rollouts promote backend-canary --full

  # In a pipeline: fail unless the promote actually moved the rollout on
  kubectl argo rollouts promote backend-bluegreen --strict`

// Options of promote.
type Options struct {
	*cli.Factory
	// Full skips all remaining steps, pauses and analysis.
	Full bool
	// Strict fails when the promote changes nothing and reports what it
	// changed otherwise.
	Strict bool

	name     string
	rollouts *cli.Rollouts
}

// NewCmd returns the promote command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "promote ROLLOUT_NAME",
		Short: "Promote a rollout",
		Long: `Let a rollout go on. A paused rollout is resumed: a canary leaves its pause
step, a blue-green rollout switches its active Service to the new pods. A
canary that is not paused moves to its next step at once, even if the current
step (a setWeight still scaling, an analysis still running) has not finished.
--full skips every remaining step, pause and analysis.

As with Argo Rollouts' plugin, promote succeeds (exit 0) whether or not it
changed anything: promoting a blue-green rollout that is not paused, or a
canary without steps, sends nothing and still prints "promoted".

--strict is for pipelines that must not mistake a no-op for a release: it
sends the same requests, prints what changed (unpaused, pause cleared, step
skipped, full promotion requested), and exits 1 with "nothing to promote"
when the rollout was not changed.`,
		Example:           example,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
	cmd.Flags().BoolVar(&o.Full, "full", false, "Perform a full promotion, skipping analysis, pauses, and steps")
	cmd.Flags().BoolVar(&o.Strict, "strict", false, "Print what changed, and fail (exit 1) when the promote changes nothing")
	return cmd
}

// Complete reads the rollout name and builds the client.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.name, err = cli.OneName(args, "rollout"); err != nil {
		return err
	}
	o.rollouts, _, err = o.RolloutsInNamespace()
	return err
}

// Validate has nothing to check beyond Complete.
func (o *Options) Validate() error { return nil }

// Run reads the Rollout, decides the patches and sends them.
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	before, err := o.rollouts.Get(ctx, o.name)
	if err != nil {
		return err
	}
	p := Plan(before, o.Full)
	if o.Strict && p.Spec == nil && p.Status == nil {
		return nothingToPromote(before, o.Full)
	}
	after := before
	// Status first, as Argo's plugin does: a status-subresource 404 means
	// a CRD without the subresource, and then the unified patch replaces
	// the spec patch.
	if p.Status != nil {
		if after, err = o.rollouts.PatchStatus(ctx, o.name, p.Status, p.Unified); err != nil {
			return fmt.Errorf("patch status of rollout %s: %w", o.name, err)
		}
	}
	if p.Spec != nil {
		if after, err = o.rollouts.Patch(ctx, o.name, types.MergePatchType, p.Spec); err != nil {
			return fmt.Errorf("patch rollout %s: %w", o.name, err)
		}
	}
	verb := "promoted"
	if o.Full {
		verb = "fully promoted"
	}
	if !o.Strict {
		fmt.Fprintf(o.Out, "rollout '%s' %s\n", o.name, verb)
		return nil
	}
	changes := Changes(before, after)
	if len(changes) == 0 {
		return nothingToPromote(before, o.Full)
	}
	fmt.Fprintf(o.Out, "rollout '%s' %s: %s\n", o.name, verb, strings.Join(changes, "; "))
	return nil
}

// Patches are the merge patches one promote sends. Nil means "not sent".
type Patches struct {
	// Spec goes to the main resource.
	Spec []byte
	// Status goes to the status subresource.
	Status []byte
	// Unified carries spec and status together; it is sent to the main
	// resource in place of Status when the CRD has no status subresource.
	Unified []byte
}

const (
	unpause              = `{"spec":{"paused":false}}`
	clearPause           = `{"status":{"pauseConditions":null}}`
	unpauseAndClearPause = `{"spec":{"paused":false},"status":{"pauseConditions":null}}`
	promoteFull          = `{"status":{"promoteFull":true}}`
)

// Plan decides the patches for promoting ro, by the rules of Argo Rollouts'
// plugin:
//
//   - spec.paused is cleared if set;
//   - a canary held by an inconclusive step analysis gets its pause
//     conditions and controllerPause cleared and moves to the next step;
//   - otherwise pause conditions, if any, are cleared;
//   - otherwise a canary with steps moves to the next step, finished or
//     not (this is how a step running an analysis or experiment, or a
//     setWeight still scaling, is skipped); at the last step the index is
//     written unchanged;
//   - with full, status.promoteFull is set unless the rollout is already
//     fully promoted (currentPodHash == stableRS).
//
// A rollout with none of these (a blue-green or a canary without steps
// that is not paused) gets no patch at all; the command still succeeds
// unless --strict is given.
func Plan(ro *v1alpha1.Rollout, full bool) Patches {
	var p Patches
	if ro.Spec.Paused {
		p.Spec = []byte(unpause)
	}
	if full {
		if ro.Status.CurrentPodHash != ro.Status.StableRS {
			p.Status = []byte(promoteFull)
			p.Unified = unified(p.Spec, p.Status)
		}
		return p
	}
	p.Unified = []byte(unpauseAndClearPause)
	next, hasSteps := nextStep(ro)
	switch {
	case inconclusive(ro) && len(ro.Status.PauseConditions) > 0 && ro.Status.ControllerPause:
		// Without steps there is no step to leave, and nothing is sent
		// for the status.
		if hasSteps {
			p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":%d}}`, next)
		}
	case len(ro.Status.PauseConditions) > 0:
		p.Status = []byte(clearPause)
	case hasSteps:
		p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null,"currentStepIndex":%d}}`, next)
		p.Unified = fmt.Appendf(nil, `{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":%d}}`, next)
	}
	if p.Status == nil {
		// The unified patch only ever replaces a status patch.
		p.Unified = nil
	}
	return p
}

// nextStep is the canary step index after the current one, capped at the
// number of steps (which means "all steps done"). ok is false for a
// blue-green rollout and a canary without steps.
func nextStep(ro *v1alpha1.Rollout) (next int32, ok bool) {
	c := ro.Spec.Strategy.Canary
	if c == nil || len(c.Steps) == 0 {
		return 0, false
	}
	i := currentStep(ro)
	if int(i) < len(c.Steps) {
		i++
	}
	return i, true
}

// currentStep is status.currentStepIndex; unset counts as step 0.
func currentStep(ro *v1alpha1.Rollout) int32 {
	if ro.Status.CurrentStepIndex != nil {
		return *ro.Status.CurrentStepIndex
	}
	return 0
}

// analysisInconclusive is the AnalysisRun phase of an analysis that could
// not decide.
const analysisInconclusive v1alpha1.AnalysisPhase = "Inconclusive"

// inconclusive reports a canary whose current step's analysis ended
// Inconclusive (the controller then pauses it with InconclusiveAnalysisRun).
func inconclusive(ro *v1alpha1.Rollout) bool {
	ar := ro.Status.Canary.CurrentStepAnalysisRunStatus
	return ro.Spec.Strategy.Canary != nil && ar != nil && ar.Status == analysisInconclusive
}

// unified merges a spec and a status patch into one object patch.
func unified(spec, status []byte) []byte {
	if spec == nil {
		return status
	}
	// Both are {"<field>":{...}} objects: splice them.
	return append(append(spec[:len(spec)-1:len(spec)-1], ','), status[1:]...)
}

// nothingToPromote is --strict's error for a promote that changed nothing.
func nothingToPromote(ro *v1alpha1.Rollout, full bool) error {
	switch {
	case full:
		return fmt.Errorf("rollout '%s' is already fully promoted: nothing to promote", ro.Name)
	case ro.Spec.Strategy.Canary != nil && len(ro.Spec.Strategy.Canary.Steps) > 0 && int(currentStep(ro)) >= len(ro.Spec.Strategy.Canary.Steps):
		return fmt.Errorf("rollout '%s' has completed all its steps: nothing to promote", ro.Name)
	default:
		return fmt.Errorf("rollout '%s' is not paused: nothing to promote", ro.Name)
	}
}

// Changes describes, for people, what a promote changed between before and
// after (the Rollout as the server returned it). Empty means nothing.
func Changes(before, after *v1alpha1.Rollout) []string {
	var out []string
	if before.Spec.Paused && !after.Spec.Paused {
		out = append(out, "unpaused (spec.paused was true)")
	}
	if len(before.Status.PauseConditions) > 0 && len(after.Status.PauseConditions) == 0 {
		reasons := make([]string, 0, len(before.Status.PauseConditions))
		for _, c := range before.Status.PauseConditions {
			reasons = append(reasons, string(c.Reason))
		}
		out = append(out, "cleared pause "+strings.Join(reasons, ", "))
	}
	if before.Status.ControllerPause && !after.Status.ControllerPause {
		out = append(out, "cleared controllerPause")
	}
	from, to := currentStep(before), currentStep(after)
	if c := after.Spec.Strategy.Canary; c != nil && to != from {
		msg := fmt.Sprintf("currentStepIndex %d -> %d of %d", from, to, len(c.Steps))
		if int(from) < len(c.Steps) && len(before.Status.PauseConditions) == 0 {
			// Nothing held the rollout at this step: it was still running.
			msg += fmt.Sprintf(", skipping step %d (%s) before it finished", from, describeStep(c.Steps[from]))
		}
		out = append(out, msg)
	}
	if !before.Status.PromoteFull && after.Status.PromoteFull {
		out = append(out, "requested full promotion")
	}
	return out
}

// describeStep names a canary step by its kind.
func describeStep(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight %d", *s.SetWeight)
	case s.Pause != nil:
		return "pause"
	case s.Analysis != nil:
		return "analysis"
	case s.Experiment != nil:
		return "experiment"
	case s.SetCanaryScale != nil:
		return "setCanaryScale"
	case s.SetHeaderRoute != nil:
		return "setHeaderRoute"
	case s.SetMirrorRoute != nil:
		return "setMirrorRoute"
	case s.Plugin != nil:
		return "plugin " + s.Plugin.Name
	default:
		return "empty step"
	}
}
