package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// The fleet's floor: the fleet's release driven by the least a blue-green
// controller can do and still leave what the Rollout API's users observe.
// The rig's steps time parts of a phase (pods made Ready, Services
// switched); a phase also holds the bench's own Rollout writes and every
// write a controller must make. The floor is a controller in the bench
// that makes those writes once each, from its own informers, with no
// client-side throttling, and nothing else:
//   - per revision: the ReplicaSet (created at its size), the Rollout's
//     revision annotation, the Services it switches, a status write when
//     the revision starts (Progressing on the new pod hash: what the
//     reference's users and Argo CD read while the revision runs; left out
//     with -floor-progressing=false) and one when it is Healthy or Paused,
//     and the reference's Events (issue 17 keeps them);
//   - on the promote: the active Service, the old ReplicaSet's scale-down
//     deadline, one status write, two Events;
//   - after the delay: the old ReplicaSet scaled to 0, one Event, and the
//     status's replica counts once its pods are gone.
//
// The fleet's phases run against it with the same checks, before the
// controller under test starts; each phase's time over the floor's is what
// the controller adds.
const (
	// fleetFloorInstanceID keeps every controller started without it (or
	// with another) away from the floor's Rollouts.
	fleetFloorInstanceID   = "bench-fleet-floor"
	fleetFloorUASuffix     = "/fleet-floor"
	fleetFloorPrefix       = "floor"
	fleetFloorWorkers      = 10 // the controller's default --rollout-threads
	fleetFloorEventWriters = 16 // the controller's Event writers
	fleetFloorController   = "bench.switchyard.dev/fleet-floor"
)

// floorIdentity tells one floor controller's objects and requests from
// another's: the instance id its Rollouts and ReplicaSets carry (its cache
// holds those alone) and its client's user agent suffix.
type floorIdentity struct{ instanceID, uaSuffix string }

// fleetFloorIdentity is the fleet's floor's.
var fleetFloorIdentity = floorIdentity{instanceID: fleetFloorInstanceID, uaSuffix: fleetFloorUASuffix}

// fleetFloor is the floor's controller.
type fleetFloor struct {
	b     *bench
	id    floorIdentity
	cl    client.Client
	cache cache.Cache
	queue workqueue.TypedRateLimitingInterface[string]
	delay time.Duration
	// progressing: write the status when a revision starts too.
	progressing bool

	mu    sync.Mutex
	state map[string]*floorRollout

	events  chan *eventsv1.Event
	pending atomic.Int64
	errs    chan error
	done    <-chan struct{}
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// floorRollout is what the floor did for one Rollout. It acts from this
// memory and its informers' copies, so it never repeats a write because
// its cache has not yet seen the last one.
type floorRollout struct {
	revision int
	// hash is the template hash of the newest revision, whose ReplicaSet
	// was created; stable the one the active Service selects.
	hash, stable string
	paused       bool
	// old is the ReplicaSet to scale down at due; oldScaled once it was,
	// settled once the status counts its pods gone.
	old       string
	due       time.Time
	oldScaled bool
	settled   bool
}

func startFleetFloor(ctx context.Context, b *bench, id floorIdentity) (*fleetFloor, error) {
	cfg := rest.CopyConfig(b.rest)
	cfg.UserAgent = benchAgent + id.uaSuffix
	// Uncompressed watch streams, as the controller asks for by default
	// (--api-compression=false): a floor with gzip would pay for it.
	cfg.DisableCompression = true
	cl, err := client.New(cfg, client.Options{Scheme: b.cl.Scheme()})
	if err != nil {
		return nil, err
	}
	mine := labels.SelectorFromSet(labels.Set{v1alpha1.InstanceIDLabelKey: id.instanceID})
	c, err := cache.New(cfg, cache.Options{
		Scheme:            b.cl.Scheme(),
		DefaultNamespaces: map[string]cache.Config{b.ns: {}},
		ByObject: map[client.Object]cache.ByObject{
			&v1alpha1.Rollout{}:  {Label: mine},
			&appsv1.ReplicaSet{}: {Label: mine},
		},
	})
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	f := &fleetFloor{
		b: b, id: id, cl: cl, cache: c,
		queue:       workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		delay:       time.Duration(b.cfg.ScaleDownDelay) * time.Second,
		progressing: b.cfg.FloorProgressing,
		state:       map[string]*floorRollout{},
		// Unbounded in effect, as the controller's recorder's queue: a pass
		// never waits for an Event's write.
		events: make(chan *eventsv1.Event, max(1024, 8*b.cfg.N)),
		errs:   make(chan error, 1),
		done:   ctx.Done(),
		stop:   stop,
	}
	go func() {
		if err := c.Start(ctx); err != nil {
			f.fail(fmt.Errorf("floor cache: %w", err))
		}
	}()
	enqueue := func(obj any) {
		if o, ok := obj.(client.Object); ok {
			f.queue.Add(ownerName(o))
		}
	}
	for _, obj := range []client.Object{&v1alpha1.Rollout{}, &appsv1.ReplicaSet{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			stop()
			return nil, fmt.Errorf("floor informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
			// A deleted Rollout's pass forgets it.
			DeleteFunc: func(obj any) {
				if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				enqueue(obj)
			},
		}); err != nil {
			stop()
			return nil, err
		}
	}
	if !c.WaitForCacheSync(ctx) {
		stop()
		return nil, fmt.Errorf("floor cache did not sync")
	}
	for range fleetFloorWorkers {
		f.wg.Go(func() {
			for f.work(ctx) {
			}
		})
	}
	for range fleetFloorEventWriters {
		f.wg.Go(func() { f.writeEvents(ctx) })
	}
	return f, nil
}

// ownerName is the Rollout an object of the floor belongs to: itself, or
// a ReplicaSet's owner.
func ownerName(o client.Object) string {
	if ref := metav1.GetControllerOf(o); ref != nil {
		return ref.Name
	}
	return o.GetName()
}

func (f *fleetFloor) fail(err error) {
	select {
	case f.errs <- err:
	default:
	}
}

// err is the floor's first failure, if any: a floor that failed measured
// nothing.
func (f *fleetFloor) err() error {
	select {
	case err := <-f.errs:
		f.errs <- err
		return err
	default:
		return nil
	}
}

func (f *fleetFloor) work(ctx context.Context) bool {
	name, shutdown := f.queue.Get()
	if shutdown {
		return false
	}
	defer f.queue.Done(name)
	if err := f.reconcile(ctx, name); err != nil {
		if ctx.Err() != nil {
			return false
		}
		logf("floor: %s: %v (retrying)", name, err)
		f.queue.AddRateLimited(name)
		return true
	}
	f.queue.Forget(name)
	return true
}

// reconcile takes one Rollout one step further.
func (f *fleetFloor) reconcile(ctx context.Context, name string) error {
	ro := &v1alpha1.Rollout{}
	if err := f.cache.Get(ctx, client.ObjectKey{Namespace: f.b.ns, Name: name}, ro); err != nil {
		if apierrors.IsNotFound(err) {
			f.mu.Lock()
			delete(f.state, name)
			f.mu.Unlock()
			return nil
		}
		return err
	}
	f.mu.Lock()
	st := f.state[name]
	if st == nil {
		st = &floorRollout{}
		f.state[name] = st
	}
	f.mu.Unlock()
	// One worker at a time per key (the work queue's rule), so st is
	// this pass's alone.
	hash := floorHash(&ro.Spec.Template)
	if st.hash != hash {
		return f.startRevision(ctx, ro, st, hash)
	}
	rs := &appsv1.ReplicaSet{}
	if err := f.cache.Get(ctx, client.ObjectKey{Namespace: f.b.ns, Name: ro.Name + "-" + hash}, rs); err != nil {
		return client.IgnoreNotFound(err) // its creation's event brings the next pass
	}
	if rs.Status.AvailableReplicas < ptr.Deref(ro.Spec.Replicas, 1) {
		return nil
	}
	switch {
	case st.stable == "":
		return f.firstHealthy(ctx, ro, st, rs)
	case st.stable != hash && !st.paused:
		return f.pause(ctx, ro, st, rs)
	case st.stable != hash && ro.Status.ControllerPause && len(ro.Status.PauseConditions) == 0:
		return f.promote(ctx, ro, st, rs)
	case st.old != "" && !st.oldScaled:
		return f.scaleDownOld(ctx, ro, st)
	case st.oldScaled && !st.settled:
		return f.settleOld(ctx, ro, st, rs)
	}
	return nil
}

func (f *fleetFloor) startRevision(ctx context.Context, ro *v1alpha1.Rollout, st *floorRollout, hash string) error {
	revision := strconv.Itoa(st.revision + 1)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       ro.Namespace,
			Name:            ro.Name + "-" + hash,
			Labels:          withHash(ro.Spec.Template.Labels, hash),
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: revision},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(ptr.Deref(ro.Spec.Replicas, 1)),
			Selector: &metav1.LabelSelector{MatchLabels: withHash(ro.Spec.Selector.MatchLabels, hash)},
			Template: *ro.Spec.Template.DeepCopy(),
		},
	}
	rs.Labels[v1alpha1.InstanceIDLabelKey] = f.id.instanceID
	rs.Spec.Template.Labels = withHash(ro.Spec.Template.Labels, hash)
	if err := f.cl.Create(ctx, rs); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %s: %w", rs.Name, err)
	}
	if err := f.patch(ctx, ro, map[string]any{"metadata": map[string]any{"annotations": map[string]string{v1alpha1.RevisionAnnotation: revision}}}); err != nil {
		return err
	}
	if f.progressing {
		if err := f.writeStatus(ctx, ro, floorProgressingStatus(ro, st.stable, hash, rs.Name)); err != nil {
			return err
		}
	}
	st.revision++
	st.hash, st.paused = hash, false
	f.event(ro, "RolloutUpdated", "Rollout updated to revision "+revision)
	f.event(ro, "NewReplicaSetCreated", "Created ReplicaSet "+rs.Name)
	f.event(ro, "ScalingReplicaSet", "Scaled up ReplicaSet "+rs.Name)
	return nil
}

func (f *fleetFloor) firstHealthy(ctx context.Context, ro *v1alpha1.Rollout, st *floorRollout, rs *appsv1.ReplicaSet) error {
	for _, svc := range []string{ro.Spec.Strategy.BlueGreen.ActiveService, ro.Spec.Strategy.BlueGreen.PreviewService} {
		if err := f.switchService(ctx, ro, svc, st.hash); err != nil {
			return err
		}
	}
	if err := f.writeStatus(ctx, ro, floorStatus(ro, st.hash, st.hash, rs, v1alpha1.RolloutPhaseHealthy, false)); err != nil {
		return err
	}
	st.stable = st.hash
	f.event(ro, "RolloutCompleted", "Rollout completed update to revision "+strconv.Itoa(st.revision))
	return nil
}

func (f *fleetFloor) pause(ctx context.Context, ro *v1alpha1.Rollout, st *floorRollout, rs *appsv1.ReplicaSet) error {
	if err := f.switchService(ctx, ro, ro.Spec.Strategy.BlueGreen.PreviewService, st.hash); err != nil {
		return err
	}
	status := floorStatus(ro, st.stable, st.hash, rs, v1alpha1.RolloutPhasePaused, true)
	status["pauseConditions"] = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause, StartTime: metav1.Now()}}
	if err := f.writeStatus(ctx, ro, status); err != nil {
		return err
	}
	st.paused = true
	f.event(ro, "RolloutNotCompleted", "Rollout not completed, started update to revision "+strconv.Itoa(st.revision))
	f.event(ro, "RolloutPaused", "Rollout is paused (BlueGreenPause)")
	return nil
}

func (f *fleetFloor) promote(ctx context.Context, ro *v1alpha1.Rollout, st *floorRollout, rs *appsv1.ReplicaSet) error {
	if err := f.switchService(ctx, ro, ro.Spec.Strategy.BlueGreen.ActiveService, st.hash); err != nil {
		return err
	}
	old := ro.Name + "-" + st.stable
	due := time.Now().Add(f.delay)
	deadline := map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey: due.UTC().Format(time.RFC3339),
	}}}
	if err := f.patch(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: old}}, deadline); err != nil {
		return err
	}
	if err := f.writeStatus(ctx, ro, floorStatus(ro, st.hash, st.hash, rs, v1alpha1.RolloutPhaseHealthy, false)); err != nil {
		return err
	}
	st.stable, st.old, st.due, st.oldScaled, st.settled = st.hash, old, due, false, false
	f.event(ro, "RolloutCompleted", "Rollout completed update to revision "+strconv.Itoa(st.revision))
	f.queue.AddAfter(ro.Name, f.delay)
	return nil
}

func (f *fleetFloor) scaleDownOld(ctx context.Context, ro *v1alpha1.Rollout, st *floorRollout) error {
	if wait := time.Until(st.due); wait > 0 {
		f.queue.AddAfter(ro.Name, wait)
		return nil
	}
	down := map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey: nil}},
		"spec":     map[string]any{"replicas": 0},
	}
	if err := f.patch(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: st.old}}, down); err != nil {
		return err
	}
	st.oldScaled = true
	f.event(ro, "ScalingReplicaSet", "Scaled down ReplicaSet "+st.old)
	return nil
}

// settleOld writes the status's replica counts once the old ReplicaSet's
// pods are gone: what `kubectl get rollout` shows.
func (f *fleetFloor) settleOld(ctx context.Context, ro *v1alpha1.Rollout, st *floorRollout, rs *appsv1.ReplicaSet) error {
	old := &appsv1.ReplicaSet{}
	if err := f.cache.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: st.old}, old); client.IgnoreNotFound(err) != nil {
		return err
	}
	if old.Status.Replicas > 0 {
		return nil
	}
	if st.stable != st.hash {
		// A newer revision started meanwhile (the latency phase's come
		// sooner than the delay): its own status writes count its pods.
		st.settled = true
		return nil
	}
	if err := f.writeStatus(ctx, ro, floorStatus(ro, st.hash, st.hash, rs, v1alpha1.RolloutPhaseHealthy, false)); err != nil {
		return err
	}
	st.settled = true
	return nil
}

func (f *fleetFloor) switchService(ctx context.Context, ro *v1alpha1.Rollout, name, hash string) error {
	sel := withHash(ro.Spec.Selector.MatchLabels, hash)
	err := f.patch(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: name}}, map[string]any{"spec": map[string]any{"selector": sel}})
	if err != nil {
		return err
	}
	f.event(ro, "SwitchService", fmt.Sprintf("Switched selector for service '%s' from '' to '%s'", name, hash))
	return nil
}

func (f *fleetFloor) patch(ctx context.Context, obj client.Object, body map[string]any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	if err := f.cl.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", data)); err != nil {
		return fmt.Errorf("patch %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

func (f *fleetFloor) writeStatus(ctx context.Context, ro *v1alpha1.Rollout, status map[string]any) error {
	data, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	if err := f.cl.Status().Patch(ctx, rolloutRef(ro.Namespace, ro.Name), client.RawPatch("application/merge-patch+json", data)); err != nil {
		return fmt.Errorf("status of %s: %w", ro.Name, err)
	}
	return nil
}

// floorStatus is the status the reference shows for a blue-green Rollout
// at rest, Healthy or Paused on its preview.
func floorStatus(ro *v1alpha1.Rollout, stable, current string, rs *appsv1.ReplicaSet, phase v1alpha1.RolloutPhase, paused bool) map[string]any {
	now := metav1.Now()
	status := floorStatusOf(ro, current, phase, paused)
	status["stableRS"] = stable
	status["replicas"] = rs.Status.Replicas
	status["updatedReplicas"] = rs.Status.Replicas
	status["readyReplicas"] = rs.Status.ReadyReplicas
	status["availableReplicas"] = rs.Status.AvailableReplicas
	status["blueGreen"] = map[string]string{"activeSelector": stable, "previewSelector": current}
	status["conditions"] = []v1alpha1.RolloutCondition{
		floorCondition(v1alpha1.RolloutAvailable, "AvailableReason", "Rollout has minimum availability", now),
		floorCondition(v1alpha1.RolloutProgressing, "NewReplicaSetAvailable", fmt.Sprintf("ReplicaSet %q has successfully progressed.", rs.Name), now),
	}
	if paused {
		status["message"] = "BlueGreenPause"
	} else {
		status["message"] = nil
		status["pauseConditions"] = nil
	}
	return status
}

// floorProgressingStatus is the status the reference shows once a
// revision's ReplicaSet is created and its pods are not yet available.
func floorProgressingStatus(ro *v1alpha1.Rollout, stable, current, rsName string) map[string]any {
	status := floorStatusOf(ro, current, v1alpha1.RolloutPhaseProgressing, false)
	status["message"] = "updated replicas are still becoming available"
	status["updatedReplicas"] = 0
	status["pauseConditions"] = nil
	status["conditions"] = []v1alpha1.RolloutCondition{
		floorCondition(v1alpha1.RolloutProgressing, "NewReplicaSetCreated", fmt.Sprintf("Created new replica set %q", rsName), metav1.Now()),
	}
	if stable != "" {
		status["stableRS"] = stable
	}
	return status
}

// floorStatusOf holds what every status the floor writes sets: the
// generation observed, the revision's pod hash and selector, the phase and
// whether the controller paused.
func floorStatusOf(ro *v1alpha1.Rollout, current string, phase v1alpha1.RolloutPhase, paused bool) map[string]any {
	return map[string]any{
		"observedGeneration": strconv.FormatInt(ro.Generation, 10),
		"phase":              phase,
		"currentPodHash":     current,
		"selector":           labels.SelectorFromSet(withHash(ro.Spec.Selector.MatchLabels, current)).String(),
		"controllerPause":    paused,
	}
}

func floorCondition(t v1alpha1.RolloutConditionType, reason, msg string, now metav1.Time) v1alpha1.RolloutCondition {
	return v1alpha1.RolloutCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
}

func floorHash(t *corev1.PodTemplateSpec) string {
	data, _ := json.Marshal(t)
	h := fnv.New32a()
	_, _ = h.Write(data)
	return utilrand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func withHash(in map[string]string, hash string) map[string]string {
	out := make(map[string]string, len(in)+1)
	for k, v := range in {
		out[k] = v
	}
	out[hashLabel] = hash
	return out
}

// event queues one of the reference's Events about ro; the writers send
// it after the pass, as a controller's recorder does.
func (f *fleetFloor) event(ro *v1alpha1.Rollout, reason, note string) {
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ro.Namespace, Name: ro.Name + "." + hex.EncodeToString(suffix)},
		EventTime:           metav1.NewMicroTime(time.Now()),
		ReportingController: fleetFloorController,
		ReportingInstance:   fleetFloorController + "-bench",
		Action:              reason,
		Reason:              reason,
		Type:                corev1.EventTypeNormal,
		Note:                note,
		Regarding: corev1.ObjectReference{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Namespace: ro.Namespace, Name: ro.Name, UID: ro.UID,
			ResourceVersion: ro.ResourceVersion,
		},
	}
	f.pending.Add(1)
	select {
	case f.events <- ev:
	case <-f.done:
		f.pending.Add(-1)
	}
}

func (f *fleetFloor) writeEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-f.events:
			if err := f.cl.Create(ctx, ev); err != nil && ctx.Err() == nil {
				logf("floor: event %s: %v", ev.Reason, err)
			}
			f.pending.Add(-1)
		}
	}
}

// settle waits until the floor is idle and no Event has arrived for a
// second (settleFloor).
func (f *fleetFloor) settle(ctx context.Context) error {
	return settleFloor(ctx, "floor", &f.b.lastEvent, f.idle)
}

// idle is whether the floor has no work queued and no Event unsent; its
// failure, if it has failed.
func (f *fleetFloor) idle() (bool, error) {
	if err := f.err(); err != nil {
		return false, err
	}
	return f.queue.Len() == 0 && f.pending.Load() == 0, nil
}

// settleFloor waits until idle says a floor has no work queued and no
// Event unsent, and no Event has arrived since lastEvent for a second
// (read every 100 ms, for at most 30 seconds); what names the floor.
func settleFloor(ctx context.Context, what string, lastEvent *atomic.Int64, idle func() (bool, error)) error {
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		done, err := idle()
		if err != nil {
			return err
		}
		if done && time.Since(time.Unix(0, lastEvent.Load())) >= time.Second {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	logf("%s still busy after 30s; going on", what)
	return nil
}

func (f *fleetFloor) close() {
	f.stop()
	f.queue.ShutDown()
	f.wg.Wait()
}

// floorFleet runs the fleet's release against the floor, with N Rollouts
// of its own, and deletes them.
func (b *bench) floorFleet(ctx context.Context) error {
	ros := names(fleetFloorPrefix, b.cfg.N)
	b.openWindow(floorPhase("Services created"))
	if err := b.createServices(ctx, ros, roleRig); err != nil {
		return err
	}
	settle, failed := b.memoryFloorSettle, b.memoryFloorFailed
	if b.memoryFloor == nil {
		f, err := startFleetFloor(ctx, b, fleetFloorIdentity)
		if err != nil {
			return err
		}
		defer f.close()
		settle, failed = f.settle, f.err
	} else {
		if err := settle(ctx); err != nil {
			return err
		}
		b.readMemoryFloor(memoryFloorFresh)
	}
	_, err := b.release(ctx, release{
		names: ros, role: roleRig, instanceID: fleetFloorInstanceID,
		phase:  floorPhase,
		window: b.openWindow,
		add: func(name string, t timing) {
			b.res.Floor = append(b.res.Floor, &phaseResult{Name: name, Rollouts: b.cfg.N, timing: t})
		},
		settle:     settle,
		apiProfile: "apiserver-floor", apiProfilePath: &b.res.Profiles.APIServerFloor,
		apiProfileByPhase: &b.res.Profiles.APIServerFloorByPhase,
	})
	if ferr := failed(); ferr != nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("fleet floor: %w", err)
	}
	b.openWindow(floorPhase("deleted"))
	if _, err := b.deleteAll(ctx); err != nil {
		return fmt.Errorf("fleet floor: %w", err)
	}
	if b.memoryFloor != nil {
		if err := settle(ctx); err != nil {
			return fmt.Errorf("fleet floor: %w", err)
		}
		b.readMemoryFloor(memoryFloorDeleted)
	}
	return nil
}

// floorPhase names a phase of the floor's release.
func floorPhase(phase string) string { return "floor: " + phase }
