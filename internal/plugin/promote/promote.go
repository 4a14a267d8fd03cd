// Package promote implements `kubectl argo rollouts promote`: resume a
// paused Rollout, or with --full skip every remaining step, pause and
// analysis.
package promote

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

const example = `  # Promote a paused rollout
  kubectl argo rollouts promote backend-canary

  # Fully promote a rollout to desired version, skipping analysis, pauses, and steps
  kubectl argo rollouts promote backend-canary --full`

// Options of promote.
type Options struct {
	*cli.Factory
	// Full skips all remaining steps, pauses and analysis.
	Full bool

	name     string
	rollouts *cli.Rollouts
}

// NewCmd returns the promote command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "promote ROLLOUT_NAME",
		Short: "Promote a rollout",
		Long: `Let a paused rollout go on: a canary moves past its current step, a blue-green
rollout switches its active Service to the new pods. --full skips every
remaining step and pause at once.

Promoting a blue-green rollout that is not paused is an error ("nothing to promote"),
so a pipeline cannot mistake a no-op for a release.`,
		Example:           example,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
	cmd.Flags().BoolVar(&o.Full, "full", false, "Perform a full promotion, skipping analysis, pauses, and steps")
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
	ro, err := o.rollouts.Get(ctx, o.name)
	if err != nil {
		return err
	}
	p, err := Plan(ro, o.Full)
	if err != nil {
		return err
	}
	// Status first, as Argo's plugin does: a status-subresource 404 means
	// a CRD without the subresource, and then the unified patch replaces
	// the spec patch.
	if p.Status != nil {
		if _, err := o.rollouts.PatchStatus(ctx, o.name, p.Status, p.Unified); err != nil {
			return fmt.Errorf("patch status of rollout %s: %w", o.name, err)
		}
	}
	if p.Spec != nil {
		if _, err := o.rollouts.Patch(ctx, o.name, types.MergePatchType, p.Spec); err != nil {
			return fmt.Errorf("patch rollout %s: %w", o.name, err)
		}
	}
	if o.Full {
		fmt.Fprintf(o.Out, "rollout '%s' fully promoted\n", o.name)
	} else {
		fmt.Fprintf(o.Out, "rollout '%s' promoted\n", o.name)
	}
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

// Plan decides the patches for promoting ro, by Argo Rollouts' rules:
//
//   - spec.paused is cleared if set;
//   - a canary held by an inconclusive step analysis gets its pause
//     conditions and controllerPause cleared and moves to the next step;
//   - otherwise pause conditions, if any, are cleared;
//   - otherwise a canary with steps moves to the next step (this is how a
//     step running an analysis or experiment is skipped);
//   - with full, status.promoteFull is set unless the rollout is already
//     fully promoted (currentPodHash == stableRS).
//
// When nothing would be sent, promoting is an error: Argo's plugin prints
// "promoted" and does nothing, which hides a mistaken promote in a pipeline.
func Plan(ro *v1alpha1.Rollout, full bool) (Patches, error) {
	var p Patches
	if ro.Spec.Paused {
		p.Spec = []byte(unpause)
	}
	if full {
		if ro.Status.CurrentPodHash != ro.Status.StableRS {
			p.Status = []byte(promoteFull)
			p.Unified = unified(p.Spec, p.Status)
		}
		// A fully promoted rollout is what --full asks for: success, as in
		// Argo's plugin.
		return p, nil
	}
	p.Unified = []byte(unpauseAndClearPause)
	canary := ro.Spec.Strategy.Canary
	next, hasSteps := nextStep(ro)
	switch {
	case inconclusive(ro) && len(ro.Status.PauseConditions) > 0 && ro.Status.ControllerPause && hasSteps:
		p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":%d}}`, next)
	case len(ro.Status.PauseConditions) > 0:
		p.Status = []byte(clearPause)
	case canary != nil && hasSteps:
		p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null,"currentStepIndex":%d}}`, next)
		p.Unified = fmt.Appendf(nil, `{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":%d}}`, next)
	}
	if p.Spec == nil && p.Status == nil {
		return Patches{}, fmt.Errorf("rollout '%s' is not paused: nothing to promote", ro.Name)
	}
	return p, nil
}

// nextStep is the canary step index after the current one, capped at the
// number of steps (which means "all steps done"). ok is false without steps.
func nextStep(ro *v1alpha1.Rollout) (next int32, ok bool) {
	c := ro.Spec.Strategy.Canary
	if c == nil || len(c.Steps) == 0 {
		return 0, false
	}
	i := int32(0)
	if ro.Status.CurrentStepIndex != nil {
		i = *ro.Status.CurrentStepIndex
	}
	if int(i) < len(c.Steps) {
		i++
	}
	return i, true
}

func inconclusive(ro *v1alpha1.Rollout) bool {
	ar := ro.Status.Canary.CurrentStepAnalysisRunStatus
	return ro.Spec.Strategy.Canary != nil && ar != nil && ar.Status == "Inconclusive"
}

// unified merges a spec and a status patch into one object patch.
func unified(spec, status []byte) []byte {
	if spec == nil {
		return status
	}
	// Both are {"<field>":{...}} objects: splice them.
	return append(append(spec[:len(spec)-1:len(spec)-1], ','), status[1:]...)
}
