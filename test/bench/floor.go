package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// The promote latency's floor: what any controller's promote → Service
// switch costs on this cluster. A reactor in the bench watches one Rollout
// that no controller serves (it carries another controller's instance id)
// and, on the promote, patches its Service's selector: one watch event and
// one Service write, nothing in between. Its promotes are interleaved with
// the controller's, on a Rollout holding the same status, and timed from
// the audit log the same way.
const (
	floorName = "lat-floor"
	// floorInstanceID keeps every controller started without it (or with
	// another) away from the floor's Rollout.
	floorInstanceID = "bench-floor"
	// floorKey is the selector key the reactor writes: the resourceVersion
	// of the promote it saw.
	floorKey      = "bench.switchyard.dev/promoted-at"
	floorUASuffix = "/floor"
)

// floor is the floor's Rollout and reactor, for one latency phase.
type floor struct {
	b *bench
	// cl is the reactor's client: the floor's controller, which pauses
	// its Rollout as well as switching its Service.
	cl client.Client
	// last is the selector value of the reactor's last switch.
	last string
	stop context.CancelFunc
	done chan error
}

// startFloor creates the floor's Rollout and Service and starts the reactor.
func (b *bench) startFloor(ctx context.Context) (*floor, error) {
	if err := b.cl.Create(ctx, service(b.ns, activeService(floorName), floorName, roleLat)); err != nil {
		return nil, fmt.Errorf("create floor Service: %w", err)
	}
	ro := blueGreen(b.ns, floorName, roleLat, int32(b.cfg.ScaleDownDelay))
	ro.Labels[v1alpha1.InstanceIDLabelKey] = floorInstanceID
	if err := b.cl.Create(ctx, ro); err != nil {
		return nil, fmt.Errorf("create floor Rollout: %w", err)
	}
	cfg := rest.CopyConfig(b.rest)
	cfg.UserAgent = benchAgent + floorUASuffix
	// Uncompressed watch streams, as the controller asks for by default
	// (--api-compression=false): a floor with gzip would pay for it.
	cfg.DisableCompression = true
	cl, err := client.NewWithWatch(cfg, client.Options{Scheme: b.cl.Scheme()})
	if err != nil {
		return nil, err
	}
	w, err := cl.Watch(ctx, &v1alpha1.RolloutList{}, client.InNamespace(b.ns), client.MatchingFields{"metadata.name": floorName})
	if err != nil {
		return nil, fmt.Errorf("watch floor Rollout: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	f := &floor{b: b, cl: cl, stop: stop, done: make(chan error, 1)}
	go func() { f.done <- f.react(ctx, w) }()
	return f, nil
}

// react switches the floor's Service on every promote it sees: the pause
// conditions cleared while the controller's pause is still set, as the
// controller under test sees a person's promote.
func (f *floor) react(ctx context.Context, w watch.Interface) error {
	defer w.Stop()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: f.b.ns, Name: activeService(floorName)}}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("floor watch closed")
			}
			ro, isRollout := ev.Object.(*v1alpha1.Rollout)
			if !isRollout || ev.Type != watch.Modified || !ro.Status.ControllerPause || len(ro.Status.PauseConditions) > 0 {
				continue
			}
			patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"selector": map[string]string{floorKey: ro.ResourceVersion}}})
			if err := f.cl.Patch(ctx, svc, client.RawPatch("application/merge-patch+json", patch)); err != nil {
				return fmt.Errorf("switch floor Service: %w", err)
			}
		}
	}
}

// pauseLike gives the floor's Rollout the status of the controller's
// Rollout paused on its new revision, so both promotes patch and watch
// objects of one size. It is written as the floor's controller would, by
// the reactor's client: the bench's own status patches are its promotes.
func (f *floor) pauseLike(ctx context.Context, paused *v1alpha1.Rollout) error {
	if len(paused.Status.PauseConditions) == 0 || !paused.Status.ControllerPause {
		return fmt.Errorf("rollout %s is not paused by its controller", paused.Name)
	}
	patch, err := json.Marshal(map[string]any{"status": paused.Status})
	if err != nil {
		return err
	}
	return f.cl.Status().Patch(ctx, rolloutRef(f.b.ns, floorName), client.RawPatch("application/merge-patch+json", patch))
}

// promote promotes the floor's Rollout and waits until its Service is
// switched.
func (f *floor) promote(ctx context.Context) error {
	last := f.last
	switched, err := f.b.watchFor(ctx, &corev1.Service{}, []string{activeService(floorName)}, func(o client.Object) bool {
		v := o.(*corev1.Service).Spec.Selector[floorKey]
		return v != "" && v != last
	})
	if err != nil {
		return err
	}
	if err := f.b.cl.Status().Patch(ctx, rolloutRef(f.b.ns, floorName), promotePatch); err != nil {
		_, _ = switched.wait(ctx, 0, "", nil)
		return fmt.Errorf("promote floor: %w", err)
	}
	res, err := switched.wait(ctx, f.b.cfg.PhaseTimeout, "floor Service switched", nil)
	if err != nil {
		select {
		case rerr := <-f.done:
			return fmt.Errorf("%w (reactor: %v)", err, rerr)
		default:
			return err
		}
	}
	f.last = res.Last[activeService(floorName)].(*corev1.Service).Spec.Selector[floorKey]
	return nil
}

// close stops the reactor and deletes the floor's objects.
func (f *floor) close(ctx context.Context) error {
	f.stop()
	rerr := <-f.done
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: f.b.ns, Name: floorName}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: f.b.ns, Name: activeService(floorName)}}
	return errors.Join(rerr, client.IgnoreNotFound(f.b.cl.Delete(ctx, ro)), client.IgnoreNotFound(f.b.cl.Delete(ctx, svc)))
}

// The promote latency's second floor: the same promote served by a
// controller written the usual way, the fleet's floor (fleetfloor.go) with
// one Rollout of its own, in a process of its own as the controller is.
// Its promote comes through controller-runtime's informer and cache, a
// work queue and a pass that reads the Rollout and its ReplicaSet from the
// cache, then the Service write: the way every controller of the API
// takes, whatever it does in its pass. The reactor above is how fast the
// cluster can be; this is how fast such a controller is doing nothing but
// the writes.
const ctrlFloorName = "lat-ctrl-floor"

// ctrlFloorIdentity is the controller floor's.
var ctrlFloorIdentity = floorIdentity{instanceID: "bench-latency-floor", uaSuffix: "/latency-floor"}

// ctrlFloor is the controller floor's Rollout and process, for one latency
// phase.
type ctrlFloor struct {
	b *bench
	p *floorProcess
}

// startCtrlFloor starts the controller floor and creates its Rollout and
// Services; it returns once the Rollout is Healthy.
func (b *bench) startCtrlFloor(ctx context.Context) (*ctrlFloor, error) {
	p, err := b.startFloorProcess(ctx, latencyFloorRole)
	if err != nil {
		return nil, err
	}
	c := &ctrlFloor{b: b, p: p}
	if err := b.createServices(ctx, []string{ctrlFloorName}, roleLat); err != nil {
		return nil, errors.Join(err, c.close(ctx))
	}
	ro := blueGreen(b.ns, ctrlFloorName, roleLat, int32(b.cfg.ScaleDownDelay))
	ro.Labels[v1alpha1.InstanceIDLabelKey] = ctrlFloorIdentity.instanceID
	if err := b.create(ctx, ro); err != nil {
		return nil, errors.Join(fmt.Errorf("controller floor: %w", err), c.err(ctx), c.close(ctx))
	}
	return c, nil
}

// release updates the controller floor's Rollout to img, waits until its
// controller has paused it, promotes it and waits until the active
// Service selects the new revision. Before the promote and after the
// switch it waits until the floor is quiet (its Events written, none in
// the namespace for a second), as the controller's promotes come when it
// is: its writes are in no promote's way.
func (c *ctrlFloor) release(ctx context.Context, img string) error {
	ro, err := c.b.update(ctx, ctrlFloorName, img)
	if err != nil {
		return errors.Join(fmt.Errorf("controller floor: %w", err), c.err(ctx))
	}
	if err := c.p.settled(ctx, &c.b.lastEvent); err != nil {
		return err
	}
	hash := ro.Status.CurrentPodHash
	switched, err := c.b.watchFor(ctx, &corev1.Service{}, []string{activeService(ctrlFloorName)}, func(o client.Object) bool {
		return o.(*corev1.Service).Spec.Selector[hashLabel] == hash
	})
	if err != nil {
		return err
	}
	if err := c.b.cl.Status().Patch(ctx, rolloutRef(c.b.ns, ctrlFloorName), promotePatch); err != nil {
		_, _ = switched.wait(ctx, 0, "", nil)
		return fmt.Errorf("promote controller floor: %w", err)
	}
	if _, err := switched.wait(ctx, c.b.cfg.PhaseTimeout, "controller floor's Service switched", nil); err != nil {
		return errors.Join(err, c.err(ctx))
	}
	return c.p.settled(ctx, &c.b.lastEvent)
}

// err is the floor's failure, if any, to add to a wait's.
func (c *ctrlFloor) err(ctx context.Context) error {
	return c.p.healthy(ctx)
}

// close stops the controller floor and deletes its Rollout (its
// ReplicaSets go with it) and Services.
func (c *ctrlFloor) close(ctx context.Context) error {
	c.p.p.Stop(5 * time.Second)
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: c.b.ns, Name: ctrlFloorName}}
	errs := []error{client.IgnoreNotFound(c.b.cl.Delete(ctx, ro))}
	for _, name := range []string{activeService(ctrlFloorName), previewService(ctrlFloorName)} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: c.b.ns, Name: name}}
		errs = append(errs, client.IgnoreNotFound(c.b.cl.Delete(ctx, svc)))
	}
	return errors.Join(errs...)
}
