package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// fleet drives N blue-green Rollouts through one release: created at once
// until all Healthy, all images changed until all Paused, all promoted until
// all Healthy, then the old ReplicaSets' scale-down after the delay.
func (b *bench) fleet(ctx context.Context) error {
	n := b.cfg.N
	ros := names("bg", n)
	b.openWindow("fleet: Services created")
	if err := b.createServices(ctx, ros, roleFleet); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}

	var cpu *cpuProfiler
	if b.cfg.Pprof && b.ctrl.pprofURL != "" {
		cpu = startCPUProfile(ctx, b.ctrl.pprofURL, b.cfg.Out, b.stamp)
	}
	rel := release{
		names: ros, role: roleFleet,
		window: b.openWindow,
		add:    b.addPhase,
		settle: b.settle,
		healthy: func() {
			b.idle(fmt.Sprintf("idle, %d Rollouts Healthy", n))
		},
		promoted: func(t timing) { b.fleetPromote = [2]time.Time{t.start, t.done.Add(time.Second)} },
	}
	if len(b.res.Floor) > 0 {
		// Beside the floor's, for the difference.
		rel.apiProfile, rel.apiProfilePath = "apiserver-fleet", &b.res.Profiles.APIServerFleet
		rel.apiProfileByPhase = &b.res.Profiles.APIServerFleetByPhase
	}
	spans, err := b.release(ctx, rel)
	if err != nil {
		return err
	}
	b.idle(fmt.Sprintf("idle, %d Rollouts, after the cycle", n))

	if cpu != nil {
		b.captureHeap(ctx, "heap", &b.res.Profiles.Heap)
		out := filepath.Join(b.cfg.Out, b.stamp+"-cpu.pprof")
		byPhase, err := cpu.stop(ctx, out, spans...)
		if err != nil {
			logf("CPU profile: %v", err)
		} else {
			b.res.Profiles.CPU = out
		}
		b.res.Profiles.CPUByPhase = byPhase
	}
	return nil
}

// release is one fleet's release, by the controller under test or by the
// fleet's floor: the Rollouts (their Services exist), how each phase's
// window opens, where its timing goes, and how to wait for quiet.
type release struct {
	names []string
	role  string
	// instanceID labels the Rollouts for one controller only.
	instanceID string
	// phase names a phase of this release (the controller's by default).
	phase    func(string) string
	window   func(name string)
	add      func(name string, t timing)
	settle   func(context.Context) error
	healthy  func()
	promoted func(timing)
	// apiProfile, when set (with -pprof), names kube-apiserver's CPU
	// profile over the release, saved as <stamp>-<apiProfile>.pprof into
	// *apiProfilePath, and cut to each phase into *apiProfileByPhase.
	apiProfile        string
	apiProfilePath    *string
	apiProfileByPhase *map[string]string
}

func (r release) name(phase string) string {
	if r.phase == nil {
		return phase
	}
	return r.phase(phase)
}

// release runs the four phases of a fleet's release and returns when each
// ran, by the phase's name without the release's prefix.
func (b *bench) release(ctx context.Context, r release) (spans []phaseSpan, err error) {
	add := r.add
	r.add = func(name string, t timing) {
		add(name, t)
		spans = append(spans, phaseSpan{phase: r.unprefixed(name), start: t.start, end: t.done})
	}
	if r.apiProfile != "" && b.cfg.Pprof {
		p := startAPIServerProfile(ctx, b.kube, b.cfg.Out, b.stamp+"-"+r.apiProfile)
		defer func() {
			out := filepath.Join(b.cfg.Out, b.stamp+"-"+r.apiProfile+".pprof")
			byPhase, err := p.stop(ctx, out, spans...)
			if err != nil {
				logf("%s: %v", r.apiProfile, err)
			} else {
				*r.apiProfilePath = out
			}
			*r.apiProfileByPhase = byPhase
		}()
	}
	// The phases' spans are appended while the release runs: the deferred
	// profile cut reads them after.
	err = b.runRelease(ctx, r)
	return spans, err
}

// unprefixed is the phase whose name (with this release's prefix) is name.
func (r release) unprefixed(name string) string {
	for _, p := range []string{phaseCreate, phaseImage, phasePromote, phaseScaleDown} {
		if r.name(p) == name {
			return p
		}
	}
	return name
}

func (b *bench) runRelease(ctx context.Context, r release) error {
	n := len(r.names)
	ros := r.names

	// 1. Created at once → all Healthy.
	r.window(r.name(phaseCreate))
	t, _, err := b.runStep(ctx, step{
		name: r.name(phaseCreate), proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: func(o client.Object) bool { return phaseOf(o.(*v1alpha1.Rollout)) == v1alpha1.RolloutPhaseHealthy },
		write: func(ctx context.Context, i int) error {
			ro := blueGreen(b.ns, ros[i], r.role, int32(b.cfg.ScaleDownDelay))
			if r.instanceID != "" {
				ro.Labels[v1alpha1.InstanceIDLabelKey] = r.instanceID
			}
			return b.cl.Create(ctx, ro)
		},
	})
	if err != nil {
		return err
	}
	r.add(r.name(phaseCreate), t)
	if err := r.settle(ctx); err != nil {
		return err
	}
	if r.healthy != nil {
		r.healthy()
	}

	// 2. Every image changed at once → all Paused at the blue-green pause.
	r.window(r.name(phaseImage))
	img := image(2)
	t, res, err := b.runStep(ctx, step{
		name: r.name(phaseImage), proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: pausedOn(img),
		write: func(ctx context.Context, i int) error {
			return b.cl.Patch(ctx, rolloutRef(b.ns, ros[i]), imagePatch(img))
		},
	})
	if err != nil {
		return err
	}
	r.add(r.name(phaseImage), t)
	newHash := map[string]string{}
	var oldRS []string
	for _, name := range ros {
		ro := res.Last[name].(*v1alpha1.Rollout)
		newHash[name] = ro.Status.CurrentPodHash
		oldRS = append(oldRS, name+"-"+ro.Status.StableRS)
	}
	if err := r.settle(ctx); err != nil {
		return err
	}

	// 3. Every Rollout promoted at once → all Healthy on the new revision;
	// 4. then the old ReplicaSets scaled down after scaleDownDelaySeconds.
	scaledDown, err := b.watchFor(ctx, &appsv1.ReplicaSet{}, oldRS, func(o client.Object) bool {
		rs := o.(*appsv1.ReplicaSet)
		return ptr.Deref(rs.Spec.Replicas, 1) == 0 && rs.Status.Replicas == 0
	})
	if err != nil {
		return err
	}
	r.window(r.name(phasePromote))
	t, _, err = b.runStep(ctx, step{
		name: r.name(phasePromote), proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: func(o client.Object) bool {
			ro := o.(*v1alpha1.Rollout)
			st := &ro.Status
			return phaseOf(ro) == v1alpha1.RolloutPhaseHealthy && st.CurrentPodHash == newHash[ro.Name] &&
				st.StableRS == st.CurrentPodHash && st.BlueGreen.ActiveSelector == st.CurrentPodHash
		},
		write: func(ctx context.Context, i int) error {
			return b.cl.Status().Patch(ctx, rolloutRef(b.ns, ros[i]), promotePatch)
		},
	})
	if err != nil {
		_, _ = scaledDown.wait(ctx, 0, "", nil)
		return err
	}
	r.add(r.name(phasePromote), t)
	if r.promoted != nil {
		r.promoted(t)
	}
	// The promote window takes the events a controller sends just after
	// its last status write, but ends before the first scale-down is due.
	grace := min(time.Until(t.done.Add(500*time.Millisecond)), time.Until(t.start.Add(time.Duration(b.cfg.ScaleDownDelay)*time.Second-250*time.Millisecond)))
	if err := sleepCtx(ctx, grace); err != nil {
		return err
	}
	r.window(r.name(phaseScaleDown))
	sres, err := scaledDown.wait(ctx, b.cfg.PhaseTimeout, r.name(phaseScaleDown), describeReplicaSet)
	if err != nil {
		return err
	}
	sd := timing{
		Seconds:   sres.Done.Sub(t.start).Seconds(),
		PerObject: distOf(sres.since(t.start)),
		start:     t.start, done: sres.Done,
	}
	logf("%s: %d ReplicaSets at 0 %.2fs after the first promote (per ReplicaSet p50 %.0fms p95 %.0fms)",
		r.name(phaseScaleDown), n, sd.Seconds, sd.PerObject.P50, sd.PerObject.P95)
	r.add(r.name(phaseScaleDown), sd)
	return r.settle(ctx)
}

// deleteFleet deletes every Rollout and Service of the run and waits until
// the Rollouts and their ReplicaSets are gone; the controller's memory is
// then read once more, for growth over the cycle.
func (b *bench) deleteFleet(ctx context.Context) error {
	b.openWindow(phaseDelete)
	start := time.Now()
	deleted, err := b.deleteAll(ctx)
	if err != nil {
		return err
	}
	logf("%s: %d Rollouts and their ReplicaSets gone in %.1fs", phaseDelete, deleted, time.Since(start).Seconds())
	if err := b.settle(ctx); err != nil {
		return err
	}
	b.idle(idleAfterDelete)
	if b.cfg.Pprof {
		b.captureHeap(ctx, "heap-after-delete", &b.res.Profiles.HeapAfterDelete)
	}
	if b.cfg.IdleWait > 0 {
		logf("waiting %s before reading the idle memory once more", b.cfg.IdleWait)
		if err := sleepCtx(ctx, b.cfg.IdleWait); err != nil {
			return err
		}
		b.idle(fmt.Sprintf("idle, %s after deleting every Rollout", b.cfg.IdleWait))
		if b.cfg.Pprof {
			b.captureHeap(ctx, "heap-idle-wait", &b.res.Profiles.HeapAfterDelete)
		}
	}
	return nil
}

// captureHeap saves the controller's heap profile (what it holds now, and
// everything it allocated since it started) as <stamp>-<name>.pprof and
// records its path in *path; a controller without pprof has none.
func (b *bench) captureHeap(ctx context.Context, name string, path *string) {
	if b.ctrl == nil || b.ctrl.pprofURL == "" {
		return
	}
	out := filepath.Join(b.cfg.Out, b.stamp+"-"+name+".pprof")
	if err := fetch(ctx, b.ctrl.pprofURL+"/debug/pprof/heap", out, time.Minute); err != nil {
		logf("heap profile %s: %v", name, err)
		return
	}
	*path = out
}

func rolloutRef(ns, name string) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// sleepCtx waits d (a fixed window boundary, not a poll).
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// createServices creates the active and preview Services of each named
// blue-green Rollout.
func (b *bench) createServices(ctx context.Context, rollouts []string, role string) error {
	err := parallel(ctx, 2*len(rollouts), b.cfg.Workers, func(ctx context.Context, i int) error {
		name := rollouts[i/2]
		svc := activeService(name)
		if i%2 == 1 {
			svc = previewService(name)
		}
		return b.cl.Create(ctx, service(b.ns, svc, name, role))
	})
	if err != nil {
		return fmt.Errorf("create Services: %w", err)
	}
	return nil
}

// deleteAll deletes every Rollout and Service of the namespace and waits
// until the Rollouts and their ReplicaSets are gone; it returns how many
// Rollouts it deleted.
func (b *bench) deleteAll(ctx context.Context) (int, error) {
	inNS := client.InNamespace(b.ns)
	var ros v1alpha1.RolloutList
	if err := b.cache.List(ctx, &ros, inNS); err != nil {
		return 0, err
	}
	var names []string
	for _, ro := range ros.Items {
		names = append(names, ro.Name)
	}
	gone, err := b.watchGone(ctx, &v1alpha1.Rollout{}, names)
	if err != nil {
		return 0, err
	}
	bg := client.PropagationPolicy(metav1.DeletePropagationBackground)
	// One by one: a collection delete of thousands can outlive the API
	// server's request timeout.
	if err := parallel(ctx, len(ros.Items), b.cfg.Workers, func(ctx context.Context, i int) error {
		return client.IgnoreNotFound(b.cl.Delete(ctx, &ros.Items[i], bg))
	}); err != nil {
		return 0, fmt.Errorf("delete Rollouts: %w", err)
	}
	var svcs corev1.ServiceList
	if err := b.cache.List(ctx, &svcs, inNS); err != nil {
		return 0, err
	}
	if err := parallel(ctx, len(svcs.Items), b.cfg.Workers, func(ctx context.Context, i int) error {
		return client.IgnoreNotFound(b.cl.Delete(ctx, &svcs.Items[i]))
	}); err != nil {
		return 0, fmt.Errorf("delete Services: %w", err)
	}
	if _, err := gone.wait(ctx, b.cfg.PhaseTimeout, "Rollouts deleted", describeRollout); err != nil {
		return 0, err
	}
	err = b.waitUntil(ctx, &appsv1.ReplicaSet{}, b.cfg.PhaseTimeout, "ReplicaSets garbage-collected", func(ctx context.Context) (bool, error) {
		var list appsv1.ReplicaSetList
		if err := b.cache.List(ctx, &list, inNS); err != nil {
			return false, err
		}
		return len(list.Items) == 0, nil
	})
	if err != nil {
		return 0, err
	}
	return len(names), nil
}
