package main

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// repeatCycle drives the fleet through its release once more (-cycles),
// timed only as a whole, and reads the controller's idle memory after the
// fleet is deleted, and again after -idle-wait. Growth that repeats with
// every cycle is a leak; growth that does not is what the first cycle
// raised once (the runtime's high-water mark, code first run).
func (b *bench) repeatCycle(ctx context.Context, k int) error {
	n := b.cfg.N
	ros := names("bg", n)
	b.openWindow(fmt.Sprintf("cycle %d", k))
	if err := b.createServices(ctx, ros, roleFleet); err != nil {
		return fmt.Errorf("cycle %d: %w", k, err)
	}
	steps := []step{{
		name: fmt.Sprintf("cycle %d: %s", k, phaseCreate), proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: healthyOn(image(1)),
		write: func(ctx context.Context, i int) error {
			return b.cl.Create(ctx, blueGreen(b.ns, ros[i], roleFleet, int32(b.cfg.ScaleDownDelay)))
		},
	}, {
		name: fmt.Sprintf("cycle %d: %s", k, phaseImage), proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: pausedOn(image(2)),
		write: func(ctx context.Context, i int) error {
			return b.cl.Patch(ctx, rolloutRef(b.ns, ros[i]), imagePatch(image(2)))
		},
	}, {
		name: fmt.Sprintf("cycle %d: %s", k, phasePromote), proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: healthyOn(image(2)),
		write: func(ctx context.Context, i int) error {
			return b.cl.Status().Patch(ctx, rolloutRef(b.ns, ros[i]), promotePatch)
		},
	}}
	for _, s := range steps {
		if _, _, err := b.runStep(ctx, s); err != nil {
			return err
		}
	}
	// Every old revision scaled to 0 (after scaleDownDelaySeconds): only
	// the new ReplicaSet of each Rollout keeps replicas.
	if err := b.waitUntil(ctx, &appsv1.ReplicaSet{}, b.cfg.PhaseTimeout, fmt.Sprintf("cycle %d: %s", k, phaseScaleDown), func(ctx context.Context) (bool, error) {
		var list appsv1.ReplicaSetList
		if err := b.cache.List(ctx, &list, client.InNamespace(b.ns)); err != nil {
			return false, err
		}
		scaled := 0
		for _, rs := range list.Items {
			if ptr.Deref(rs.Spec.Replicas, 1) > 0 || rs.Status.Replicas > 0 {
				scaled++
			}
		}
		return scaled == n, nil
	}); err != nil {
		return err
	}
	if _, err := b.deleteAll(ctx); err != nil {
		return fmt.Errorf("cycle %d: %w", k, err)
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	b.idle(fmt.Sprintf("idle, after cycle %d's deletion", k))
	if b.cfg.IdleWait > 0 {
		logf("waiting %s before reading the idle memory once more", b.cfg.IdleWait)
		if err := sleepCtx(ctx, b.cfg.IdleWait); err != nil {
			return err
		}
		b.idle(fmt.Sprintf("idle, %s after cycle %d's deletion", b.cfg.IdleWait, k))
	}
	return nil
}
