package main

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// warmUp drives one blue-green and one canary Rollout through a release
// (created, image changed, promoted) and deletes them. The controller's
// memory is read once more then: what a first release costs once (code
// first run, type caches first filled, the runtime's own structures first
// grown) is in that figure, so what the fleet's cycle leaves on top of it
// can be told apart.
func (b *bench) warmUp(ctx context.Context) error {
	b.openWindow(phaseWarmUp)
	const bg, cn = "warm-up-bg", "warm-up-canary"
	if err := b.createServices(ctx, []string{bg}, roleLat); err != nil {
		return err
	}
	if err := b.create(ctx, blueGreen(b.ns, bg, roleLat, int32(b.cfg.ScaleDownDelay))); err != nil {
		return err
	}
	if err := b.create(ctx, canary(b.ns, cn, int32(b.cfg.CanaryReplicas))); err != nil {
		return err
	}
	for _, release := range []struct {
		name  string
		patch client.Patch
	}{{bg, promotePatch}, {cn, promoteFullPatch}} {
		ro, err := b.update(ctx, release.name, image(2))
		if err != nil {
			return err
		}
		healthy, err := b.watchHealthyAt(ctx, release.name, ro.Status.CurrentPodHash)
		if err != nil {
			return err
		}
		if err := b.settleBeforePromote(ctx); err != nil {
			_, _ = healthy.wait(ctx, 0, "", nil)
			return err
		}
		if err := b.cl.Status().Patch(ctx, rolloutRef(b.ns, release.name), release.patch); err != nil {
			_, _ = healthy.wait(ctx, 0, "", nil)
			return fmt.Errorf("promote %s: %w", release.name, err)
		}
		if _, err := healthy.wait(ctx, b.cfg.PhaseTimeout, release.name+" Healthy after promote", describeRollout); err != nil {
			return err
		}
	}
	if _, err := b.deleteAll(ctx); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	b.idle(idleWarm)
	return nil
}
