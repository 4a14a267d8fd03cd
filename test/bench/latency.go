package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// latencyRun is one strategy's repeated updates: the client-observed
// latencies here; the API server's view is added from the audit log.
type latencyRun struct {
	Updates int `json:"updates"`
	// Watch is promote write sent → the change seen by the bench's watch.
	Watch dist `json:"promoteToChangeSeenMs"`
	// Audit (blue-green) is promote write completed → the controller's
	// write to the active Service completed, from the audit log; Write is
	// that Service write alone, received to completed.
	Audit *dist `json:"promoteToServiceWriteMs,omitempty"`
	Write *dist `json:"serviceWriteMs,omitempty"`
	// Floor and FloorWrite are the same for the floor's reactor (floor.go):
	// what any controller's switch costs on this cluster. CtrlFloor and
	// CtrlFloorWrite are the controller floor's (floor.go): what a
	// controller on controller-runtime doing nothing but the writes takes.
	Floor          *dist `json:"floorPromoteToServiceWriteMs,omitempty"`
	FloorWrite     *dist `json:"floorServiceWriteMs,omitempty"`
	CtrlFloor      *dist `json:"controllerFloorPromoteToServiceWriteMs,omitempty"`
	CtrlFloorWrite *dist `json:"controllerFloorServiceWriteMs,omitempty"`
	// OverCtrlFloor is Audit less CtrlFloor, promote by promote.
	OverCtrlFloor *dist `json:"overControllerFloorMs,omitempty"`
	// Reaction (canary) is new ReplicaSet fully available → stable
	// ReplicaSet at zero: the controller's share of a full promote.
	Reaction *dist `json:"availableToStableZeroMs,omitempty"`
	// Way (blue-green, -exec-trace) is the promotes' way through the
	// controller, from its execution trace (tracewalk.go).
	Way        *promoteWay `json:"promoteWay,omitempty"`
	CPUSeconds float64     `json:"controllerCPUSecondsPerUpdate"`
	Requests   float64     `json:"requestsPerUpdate"`
	from, to   time.Time
	watch      []time.Duration
	reaction   []time.Duration
}

// The Rollouts updated for promote latency.
const (
	blueGreenName = "lat-bg"
	canaryName    = "lat-canary"
)

// latency measures promote latency over repeated updates of one Rollout of
// each strategy, one update at a time, with the fleet idle in the cache.
func (b *bench) latency(ctx context.Context) error {
	// The two Rollouts are created outside the measured windows.
	b.openWindow("promote latency: set-up")
	if err := b.createServices(ctx, []string{blueGreenName}, roleLat); err != nil {
		return err
	}
	if err := b.create(ctx, blueGreen(b.ns, blueGreenName, roleLat, int32(b.cfg.ScaleDownDelay))); err != nil {
		return err
	}
	if err := b.create(ctx, canary(b.ns, canaryName, int32(b.cfg.CanaryReplicas))); err != nil {
		return err
	}
	f, err := b.startFloor(ctx)
	if err != nil {
		return err
	}
	cf, err := b.startCtrlFloor(ctx)
	if err != nil {
		return errors.Join(err, f.close(ctx))
	}
	if err := b.settle(ctx); err != nil {
		return errors.Join(err, f.close(ctx), cf.close(ctx))
	}
	if err := errors.Join(b.latencyBlueGreen(ctx, f, cf), f.close(ctx), cf.close(ctx)); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	return b.latencyCanary(ctx)
}

// latencyBlueGreen times the controller's promotes, each after one of
// each floor's: the reactor's Rollout is then paused alike, and the
// controller and the controller floor are quiet.
func (b *bench) latencyBlueGreen(ctx context.Context, f *floor, cf *ctrlFloor) error {
	const name = blueGreenName
	b.openWindow(phaseLatencyBG)
	trace := b.startExecTrace(ctx)
	var cpu *cpuProfiler
	if b.cfg.Pprof && b.ctrl.pprofURL != "" {
		// The promotes' passes, which the fleet's profile drowns.
		cpu = startCPUProfile(ctx, b.ctrl.pprofURL, b.cfg.Out, b.stamp+"-latency-blue-green")
	}
	run := &latencyRun{Updates: b.cfg.Updates, from: time.Now()}
	for i := range b.cfg.Updates {
		ro, err := b.update(ctx, name, image(100+i))
		if err != nil {
			return err
		}
		if err := cf.release(ctx, image(100+i)); err != nil {
			return err
		}
		if err := f.pauseLike(ctx, ro); err != nil {
			return err
		}
		if err := f.promote(ctx); err != nil {
			return err
		}
		hash := ro.Status.CurrentPodHash
		switched, err := b.watchFor(ctx, &corev1.Service{}, []string{activeService(name)}, func(o client.Object) bool {
			return o.(*corev1.Service).Spec.Selector[hashLabel] == hash
		})
		if err != nil {
			return err
		}
		healthy, err := b.watchHealthyAt(ctx, name, hash)
		if err != nil {
			return err
		}
		if err := b.settleBeforePromote(ctx); err != nil {
			return err
		}
		start := time.Now()
		if err := b.cl.Status().Patch(ctx, rolloutRef(b.ns, name), promotePatch); err != nil {
			return fmt.Errorf("promote: %w", err)
		}
		res, err := switched.wait(ctx, b.cfg.PhaseTimeout, "active Service switched", nil)
		if err != nil {
			return err
		}
		run.watch = append(run.watch, res.Done.Sub(start))
		if _, err := healthy.wait(ctx, b.cfg.PhaseTimeout, "Healthy after promote", describeRollout); err != nil {
			return err
		}
	}
	run.to = time.Now()
	if cpu != nil {
		out := filepath.Join(b.cfg.Out, b.stamp+"-cpu-latency-blue-green.pprof")
		if _, err := cpu.stop(ctx, out); err != nil {
			logf("CPU profile of %s: %v", phaseLatencyBG, err)
		} else {
			b.res.Profiles.LatencyBlueGreenCPU = out
		}
	}
	way, err := trace.walk(ctx)
	if err != nil {
		return err
	}
	run.Way = way
	run.Watch = distOf(run.watch)
	logf("%s: %d updates, promote → active Service seen p50 %.1fms p95 %.1fms", phaseLatencyBG, run.Updates, run.Watch.P50, run.Watch.P95)
	b.res.Latency.BlueGreen = run
	return nil
}

func (b *bench) latencyCanary(ctx context.Context) error {
	const name = canaryName
	replicas := int32(b.cfg.CanaryReplicas)
	b.openWindow(phaseLatencyCanary)
	run := &latencyRun{Updates: b.cfg.Updates, from: time.Now()}
	for i := range b.cfg.Updates {
		ro, err := b.update(ctx, name, image(200+i))
		if err != nil {
			return err
		}
		hash, stable := ro.Status.CurrentPodHash, ro.Status.StableRS
		zero, err := b.watchFor(ctx, &appsv1.ReplicaSet{}, []string{name + "-" + stable}, func(o client.Object) bool {
			return ptr.Deref(o.(*appsv1.ReplicaSet).Spec.Replicas, 1) == 0
		})
		if err != nil {
			return err
		}
		available, err := b.watchFor(ctx, &appsv1.ReplicaSet{}, []string{name + "-" + hash}, func(o client.Object) bool {
			rs := o.(*appsv1.ReplicaSet)
			return ptr.Deref(rs.Spec.Replicas, 1) == replicas && rs.Status.AvailableReplicas >= replicas
		})
		if err != nil {
			return err
		}
		healthy, err := b.watchHealthyAt(ctx, name, hash)
		if err != nil {
			return err
		}
		if err := b.settleBeforePromote(ctx); err != nil {
			return err
		}
		start := time.Now()
		if err := b.cl.Status().Patch(ctx, rolloutRef(b.ns, name), promoteFullPatch); err != nil {
			return fmt.Errorf("promote --full: %w", err)
		}
		z, err := zero.wait(ctx, b.cfg.PhaseTimeout, "stable ReplicaSet at 0", describeReplicaSet)
		if err != nil {
			return err
		}
		a, err := available.wait(ctx, b.cfg.PhaseTimeout, "new ReplicaSet available", describeReplicaSet)
		if err != nil {
			return err
		}
		run.watch = append(run.watch, z.Done.Sub(start))
		run.reaction = append(run.reaction, max(0, z.Done.Sub(a.Done)))
		if _, err := healthy.wait(ctx, b.cfg.PhaseTimeout, "Healthy after promote --full", describeRollout); err != nil {
			return err
		}
	}
	run.to = time.Now()
	run.Watch = distOf(run.watch)
	r := distOf(run.reaction)
	run.Reaction = &r
	logf("%s: %d updates, promote --full → stable ReplicaSet at 0 p50 %.0fms p95 %.0fms (after the new pods were available: p50 %.1fms p95 %.1fms)",
		phaseLatencyCanary, run.Updates, run.Watch.P50, run.Watch.P95, r.P50, r.P95)
	b.res.Latency.Canary = run
	return nil
}

// create creates a Rollout and waits until it is Healthy.
func (b *bench) create(ctx context.Context, ro *v1alpha1.Rollout) error {
	w, err := b.watchFor(ctx, &v1alpha1.Rollout{}, []string{ro.Name}, func(o client.Object) bool {
		return phaseOf(o.(*v1alpha1.Rollout)) == v1alpha1.RolloutPhaseHealthy
	})
	if err != nil {
		return err
	}
	if err := b.cl.Create(ctx, ro); err != nil {
		_, _ = w.wait(ctx, 0, "", nil)
		return fmt.Errorf("create rollout %s: %w", ro.Name, err)
	}
	_, err = w.wait(ctx, b.cfg.PhaseTimeout, "rollout "+ro.Name+" Healthy", describeRollout)
	return err
}

// update changes a Rollout's image and waits until it is Paused on the new
// revision; it returns the Rollout as then seen.
func (b *bench) update(ctx context.Context, name, img string) (*v1alpha1.Rollout, error) {
	w, err := b.watchFor(ctx, &v1alpha1.Rollout{}, []string{name}, pausedOn(img))
	if err != nil {
		return nil, err
	}
	if err := b.cl.Patch(ctx, rolloutRef(b.ns, name), imagePatch(img)); err != nil {
		_, _ = w.wait(ctx, 0, "", nil)
		return nil, fmt.Errorf("set image of %s: %w", name, err)
	}
	res, err := w.wait(ctx, b.cfg.PhaseTimeout, "rollout "+name+" Paused on "+img, describeRollout)
	if err != nil {
		return nil, err
	}
	return res.Last[name].(*v1alpha1.Rollout), nil
}

// watchHealthyAt waits for the Rollout to be Healthy with hash as its stable
// revision: the end of one promotion.
func (b *bench) watchHealthyAt(ctx context.Context, name, hash string) (*waiter, error) {
	return b.watchFor(ctx, &v1alpha1.Rollout{}, []string{name}, func(o client.Object) bool {
		ro := o.(*v1alpha1.Rollout)
		return phaseOf(ro) == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == hash
	})
}

// settleBeforePromote waits, with -settle-before-promote, until the
// controller is quiet before a promote of one Rollout (the warm-up's and
// the latency phase's). Argo Rollouts v1.9 loses a promote
// sent while its pass that paused the Rollout is still running (it writes
// its own older copy of the Rollout over the newer one in its informer's
// cache, and waits for the next resync), so measuring it needs the wait.
func (b *bench) settleBeforePromote(ctx context.Context) error {
	if !b.cfg.SettleBeforePromote {
		return nil
	}
	return b.settle(ctx)
}
