package main

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// step is one timed change: writes to count objects, all sent at once (by
// Workers concurrent writers), then a wait until every named object
// satisfies check (or is gone).
type step struct {
	name  string
	proto client.Object
	names []string
	check func(client.Object) bool
	gone  bool
	desc  func(client.Object) string
	count int
	write func(ctx context.Context, i int) error
}

// timing is when a step's objects were done, from its first write.
type timing struct {
	Seconds      float64 `json:"seconds"`
	IssueSeconds float64 `json:"issueSeconds"`
	PerObject    dist    `json:"perObjectMs"`
	// CPU is where the machine's CPU went from the first write to the
	// last object done.
	CPU   *cpuSplit `json:"cpu,omitempty"`
	start time.Time
	done  time.Time
}

func (b *bench) runStep(ctx context.Context, s step) (timing, waitResult, error) {
	var w *waiter
	var err error
	if s.gone {
		w, err = b.watchGone(ctx, s.proto, s.names)
	} else {
		w, err = b.watchFor(ctx, s.proto, s.names, s.check)
	}
	if err != nil {
		return timing{}, waitResult{}, err
	}
	start := time.Now()
	if err := parallel(ctx, s.count, b.cfg.Workers, s.write); err != nil {
		_, _ = w.wait(ctx, 0, s.name, nil)
		return timing{}, waitResult{}, fmt.Errorf("%s: %w", s.name, err)
	}
	issued := time.Since(start)
	res, err := w.wait(ctx, b.cfg.PhaseTimeout, s.name, s.desc)
	if err != nil {
		return timing{}, res, err
	}
	t := timing{
		Seconds:      res.Done.Sub(start).Seconds(),
		IssueSeconds: issued.Seconds(),
		PerObject:    distOf(res.since(start)),
		start:        start,
		done:         res.Done,
	}
	logf("%s: %d objects in %.2fs (writes sent in %.2fs; per object p50 %.0fms p95 %.0fms)",
		s.name, len(s.names), t.Seconds, t.IssueSeconds, t.PerObject.P50, t.PerObject.P95)
	return t, res, nil
}

// parallel runs fn(0..n-1) with at most workers at once.
func parallel(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, workers))
	for i := range n {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}

// rigResult is one limit of the cluster itself, no controller involved.
type rigResult struct {
	Name string `json:"name"`
	What string `json:"what"`
	timing
}

// rig measures what the cluster itself allows, with the objects of the
// built-in controllers, before the controller under test is started:
//   - ReplicaSets of one replica created at once until every pod is Ready
//     (the floor for "created until Healthy" and "image changed until
//     Paused": each needs one new Ready pod per Rollout);
//   - the same ReplicaSets scaled to zero until their pods are gone (the
//     floor of the old revision's scale-down);
//   - Services' selectors patched at once until every change is seen by a
//     watch (the floor of "promoted until Healthy": a Service write each);
//   - Deployments created, then image-bumped, until rolled out: what
//     Kubernetes' own Deployment controller achieves on this machine;
//   - the fleet's whole release driven by the fleet's floor, a minimal
//     controller in the bench (fleetfloor.go).
func (b *bench) rig(ctx context.Context) error {
	n := b.cfg.N
	rs := names("rig-rs", n)
	svcs := names("rig-svc", n)
	deps := names("rig-deploy", n)
	add := func(name, what string, t timing) {
		b.res.Rig = append(b.res.Rig, rigResult{Name: name, What: what, timing: t})
	}

	b.openWindow("rig: ReplicaSets Ready")
	t, _, err := b.runStep(ctx, step{
		name: "rig: ReplicaSets created → pods Ready", proto: &appsv1.ReplicaSet{}, names: rs, count: n, desc: describeReplicaSet,
		check: func(o client.Object) bool {
			r := o.(*appsv1.ReplicaSet)
			return r.Status.ReadyReplicas >= 1 && r.Status.AvailableReplicas >= 1
		},
		write: func(ctx context.Context, i int) error { return b.cl.Create(ctx, replicaSet(b.ns, rs[i], 1)) },
	})
	if err != nil {
		return err
	}
	add(rigPodsReady, fmt.Sprintf("%d ReplicaSets (1 replica) created at once → every pod Ready", n), t)

	b.openWindow("rig: ReplicaSets scaled down")
	t, _, err = b.runStep(ctx, step{
		name: "rig: ReplicaSets scaled to 0 → pods gone", proto: &appsv1.ReplicaSet{}, names: rs, count: n, desc: describeReplicaSet,
		check: func(o client.Object) bool {
			r := o.(*appsv1.ReplicaSet)
			return ptr.Deref(r.Spec.Replicas, 1) == 0 && r.Status.Replicas == 0 && r.Status.ObservedGeneration == r.Generation
		},
		write: func(ctx context.Context, i int) error {
			return b.cl.Patch(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: b.ns, Name: rs[i]}}, scalePatch(0))
		},
	})
	if err != nil {
		return err
	}
	add(rigScaleDown, fmt.Sprintf("%d ReplicaSets scaled to 0 at once → every pod gone", n), t)

	b.openWindow("rig: Service writes")
	if err := parallel(ctx, n, b.cfg.Workers, func(ctx context.Context, i int) error {
		return b.cl.Create(ctx, service(b.ns, svcs[i], svcs[i], roleRig))
	}); err != nil {
		return fmt.Errorf("create rig Services: %w", err)
	}
	selectorPatch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"selector":{"bench-version":"2"}}}`))
	t, _, err = b.runStep(ctx, step{
		name: "rig: Service selectors patched → seen", proto: &corev1.Service{}, names: svcs, count: n,
		check: func(o client.Object) bool { return o.(*corev1.Service).Spec.Selector["bench-version"] == "2" },
		write: func(ctx context.Context, i int) error {
			return b.cl.Patch(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: b.ns, Name: svcs[i]}}, selectorPatch)
		},
	})
	if err != nil {
		return err
	}
	add(rigServiceWrites, fmt.Sprintf("%d Service selectors patched at once → every change seen by a watch", n), t)

	b.openWindow("rig: Deployments")
	rolledOut := func(img string) func(o client.Object) bool {
		return func(o client.Object) bool {
			d := o.(*appsv1.Deployment)
			return d.Spec.Template.Spec.Containers[0].Image == img && d.Status.ObservedGeneration == d.Generation &&
				d.Status.UpdatedReplicas == 1 && d.Status.AvailableReplicas == 1 && d.Status.Replicas == 1
		}
	}
	t, _, err = b.runStep(ctx, step{
		name: "rig: Deployments created → Available", proto: &appsv1.Deployment{}, names: deps, count: n, check: rolledOut(image(1)),
		write: func(ctx context.Context, i int) error { return b.cl.Create(ctx, deployment(b.ns, deps[i])) },
	})
	if err != nil {
		return err
	}
	add(rigDeployCreate, fmt.Sprintf("%d Deployments (1 replica) created at once → all Available (kube-controller-manager)", n), t)
	t, _, err = b.runStep(ctx, step{
		name: "rig: Deployments image changed → rolled out", proto: &appsv1.Deployment{}, names: deps, count: n, check: rolledOut(image(2)),
		write: func(ctx context.Context, i int) error {
			return b.cl.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: b.ns, Name: deps[i]}}, imagePatch(image(2)))
		},
	})
	if err != nil {
		return err
	}
	add(rigDeployUpdate, fmt.Sprintf("%d Deployments' image changed at once → all rolled out (kube-controller-manager)", n), t)

	b.openWindow("rig: clean-up")
	if err := b.cleanRig(ctx); err != nil {
		return err
	}
	if err := b.floorFleet(ctx); err != nil {
		return err
	}
	b.openWindow("rig: clean-up after the floor")
	return b.cleanRig(ctx)
}

// cleanRig deletes the rig's objects and waits for their pods to be gone,
// so they cost the controller's phases nothing.
func (b *bench) cleanRig(ctx context.Context) error {
	bg := client.PropagationPolicy(metav1.DeletePropagationBackground)
	inNS := client.InNamespace(b.ns)
	rig := client.MatchingLabels{roleLabel: roleRig}
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.ReplicaSet{}} {
		if err := b.cl.DeleteAllOf(ctx, obj, inNS, rig, bg); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete rig %T: %w", obj, err)
		}
	}
	// Services have no deletecollection.
	err := parallel(ctx, b.cfg.N, b.cfg.Workers, func(ctx context.Context, i int) error {
		err := b.cl.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: b.ns, Name: fmt.Sprintf("rig-svc-%04d", i)}})
		return client.IgnoreNotFound(err)
	})
	if err != nil {
		return err
	}
	start := time.Now()
	err = b.waitUntil(ctx, &corev1.Pod{}, b.cfg.PhaseTimeout, "rig pods gone", func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := b.cache.List(ctx, &pods, inNS, rig); err != nil {
			return false, err
		}
		return len(pods.Items) == 0, nil
	})
	if err != nil {
		return err
	}
	logf("rig clean-up: pods gone in %.1fs", time.Since(start).Seconds())
	return nil
}
