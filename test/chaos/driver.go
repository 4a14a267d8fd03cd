package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// driver changes the fleet as a release pipeline would: a new image, a
// promote at every indefinite pause, and the next image only once the
// Rollout has reached its intended state. It reads through an informer
// cache and acts on its events.
type driver struct {
	cl         client.Client
	cache      cache.Cache
	ns         string
	plugin     string
	kubeconfig string
	// bound is how long an update may take beyond its Rollout's own
	// scale-down delay, counted from the image change or from the end of
	// the last fault, whichever is later: a fault that lands late in an
	// update gives it the whole bound again (on a loaded machine a slow
	// update draws more kube-apiserver restarts).
	bound time.Duration
	// lastFault is when the last fault ended (Unix nanoseconds).
	lastFault atomic.Int64

	pulse pulse
	// inFlight counts updates issued and not yet converged.
	inFlight atomic.Int32
	// tickets left to issue across the fleet.
	tickets atomic.Int32

	mu      sync.Mutex
	updates []updateResult
	stuck   []string
	images  map[string]int
}

// updateResult is one update of one Rollout.
type updateResult struct {
	Rollout string    `json:"rollout"`
	Image   string    `json:"image"`
	Started time.Time `json:"started"`
	// LastAction is the harness's last write for the update: the image
	// change, or the last promote.
	LastAction time.Time `json:"lastAction"`
	Converged  time.Time `json:"converged"`
	Promotes   int       `json:"promotes"`
	// Seconds is from the image change to the intended state;
	// ReconvergeSeconds from the harness's last action to it.
	Seconds           float64 `json:"seconds"`
	ReconvergeSeconds float64 `json:"reconvergeSeconds"`
	// Faults are the kills, failovers and kube-apiserver restarts that
	// began while the update was in flight.
	Faults int `json:"faults"`
}

// pulse wakes every waiter on each change the cache sees.
type pulse struct {
	mu sync.Mutex
	ch chan struct{}
}

func (p *pulse) fire() {
	p.mu.Lock()
	if p.ch != nil {
		close(p.ch)
	}
	p.ch = make(chan struct{})
	p.mu.Unlock()
}

func (p *pulse) next() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil {
		p.ch = make(chan struct{})
	}
	return p.ch
}

// watchKinds hooks the pulse to the cache's Rollouts and ReplicaSets.
func (d *driver) watchKinds(ctx context.Context) error {
	for _, obj := range []client.Object{&v1alpha1.Rollout{}, &appsv1.ReplicaSet{}} {
		inf, err := d.cache.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { d.pulse.fire() },
			UpdateFunc: func(_, _ any) { d.pulse.fire() },
			DeleteFunc: func(any) { d.pulse.fire() },
		}); err != nil {
			return err
		}
	}
	if !d.cache.WaitForCacheSync(ctx) {
		return errors.New("driver cache did not sync")
	}
	return nil
}

// faultOver notes that a fault (a kill, a failover, a kube-apiserver
// restart and its recovery) ended at t.
func (d *driver) faultOver(t time.Time) {
	for {
		last := d.lastFault.Load()
		if t.UnixNano() <= last || d.lastFault.CompareAndSwap(last, t.UnixNano()) {
			return
		}
	}
}

// deadline is bound after the later of from and the last fault's end.
func (d *driver) deadline(from time.Time, bound time.Duration) time.Time {
	if last := time.Unix(0, d.lastFault.Load()); last.After(from) {
		from = last
	}
	return from.Add(bound)
}

// until waits until cond holds, re-checking it on every change, for at
// most bound from now or from the end of a fault that ends meanwhile.
func (d *driver) until(ctx context.Context, bound time.Duration, cond func() (bool, error)) error {
	start := time.Now()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		next := d.pulse.next()
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-next:
		case <-timer.C:
			left := time.Until(d.deadline(start, bound))
			if left <= 0 {
				return fmt.Errorf("not within %s of its start or the last fault's end", bound)
			}
			timer.Reset(left)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (d *driver) rollout(ctx context.Context, name string) (*v1alpha1.Rollout, error) {
	ro := &v1alpha1.Rollout{}
	return ro, d.cache.Get(ctx, client.ObjectKey{Namespace: d.ns, Name: name}, ro)
}

// converged is the intended state of ro at image: the controller has
// observed the current spec, reports Healthy, the image's revision is
// stable (and active, for blue-green) with every pod ready, and every older
// ReplicaSet is at zero.
func (d *driver) converged(ctx context.Context, name, image string) (bool, string, error) {
	ro, err := d.rollout(ctx, name)
	if err != nil {
		return false, "", err
	}
	st := &ro.Status
	switch {
	case imageOf(ro) != image:
		return false, "image not yet written", nil
	case st.ObservedGeneration != v1alpha1.ObservedGenerationString(ro.Generation):
		return false, "generation not observed", nil
	case st.Phase != v1alpha1.RolloutPhaseHealthy:
		return false, fmt.Sprintf("phase %s: %s", st.Phase, st.Message), nil
	case st.CurrentPodHash == "" || st.StableRS != st.CurrentPodHash:
		return false, fmt.Sprintf("stable %q, current %q", st.StableRS, st.CurrentPodHash), nil
	case ro.Spec.Strategy.BlueGreen != nil && st.BlueGreen.ActiveSelector != st.CurrentPodHash:
		return false, fmt.Sprintf("active selector %q", st.BlueGreen.ActiveSelector), nil
	}
	var list appsv1.ReplicaSetList
	if err := d.cache.List(ctx, &list, client.InNamespace(d.ns)); err != nil {
		return false, "", err
	}
	replicas := ro.ReplicasOrDefault()
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref == nil || ref.UID != ro.UID {
			continue
		}
		spec := ptr.Deref(rs.Spec.Replicas, 1)
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == st.CurrentPodHash {
			if spec != replicas || rs.Status.ReadyReplicas != replicas || rs.Status.Replicas != replicas {
				return false, fmt.Sprintf("new revision %d/%d ready", rs.Status.ReadyReplicas, spec), nil
			}
			continue
		}
		if spec != 0 || rs.Status.Replicas != 0 {
			return false, fmt.Sprintf("old revision %s still at %d (scale-down deadline %q)", rs.Name, rs.Status.Replicas,
				rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]), nil
		}
	}
	return true, "", nil
}

// pausedAt is the indefinite pause ro waits at for image, if any: a key
// unique to that pause (so it is promoted once), or "".
func pausedAt(ro *v1alpha1.Rollout, image string) string {
	st := &ro.Status
	if imageOf(ro) != image || st.ObservedGeneration != v1alpha1.ObservedGenerationString(ro.Generation) ||
		st.Phase != v1alpha1.RolloutPhasePaused || len(st.PauseConditions) == 0 {
		return ""
	}
	pc := st.PauseConditions[0]
	switch pc.Reason {
	case v1alpha1.PauseReasonBlueGreenPause:
	case v1alpha1.PauseReasonCanaryPauseStep:
		// Only a pause without a duration waits for a person.
		i := int(ptr.Deref(st.CurrentStepIndex, 0))
		steps := ro.Spec.Strategy.Canary.Steps
		if i >= len(steps) || steps[i].Pause == nil || steps[i].Pause.Duration != nil {
			return ""
		}
	default:
		return ""
	}
	return fmt.Sprintf("%s/%d/%s", pc.Reason, ptr.Deref(st.CurrentStepIndex, -1), pc.StartTime.UTC().Format(time.RFC3339Nano))
}

func imageOf(ro *v1alpha1.Rollout) string {
	if c := ro.Spec.Template.Spec.Containers; len(c) > 0 {
		return c[0].Image
	}
	return ""
}

// nextImage is the Rollout's next build: the seed's repository with a tag
// of its own per update (never one of the local cluster's special tags).
func (d *driver) nextImage(ro *v1alpha1.Rollout) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.images == nil {
		d.images = map[string]int{}
	}
	d.images[ro.Name]++
	repo := imageOf(ro)
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return fmt.Sprintf("%s:chaos-%d", repo, d.images[ro.Name])
}

// drive updates one Rollout while tickets are left. Each update is
// waited for; one that does not reach its intended state in time is
// reported and ends the Rollout's part of the run.
func (d *driver) drive(ctx context.Context, name string) {
	for ctx.Err() == nil && d.tickets.Add(-1) >= 0 {
		if err := d.update(ctx, name); err != nil {
			d.fail(fmt.Sprintf("%s: %v", name, err))
			return
		}
	}
}

func (d *driver) update(ctx context.Context, name string) error {
	ro, err := d.rollout(ctx, name)
	if err != nil {
		return err
	}
	image := d.nextImage(ro)
	d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	res := updateResult{Rollout: name, Image: image, Started: time.Now()}
	patch := fmt.Appendf(nil, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image)
	if err := d.retry(ctx, func(ctx context.Context) error {
		return d.cl.Patch(ctx, &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: name}}, client.RawPatch("application/json-patch+json", patch))
	}); err != nil {
		return fmt.Errorf("set image %s: %w", image, err)
	}
	res.LastAction = time.Now()
	promoted := map[string]bool{}
	var why string
	bound := d.bound + time.Duration(scaleDownDelay(ro))*time.Second
	err = d.until(ctx, bound, func() (bool, error) {
		ok, w, err := d.converged(ctx, name, image)
		if err != nil || ok {
			return ok, err
		}
		why = w
		cur, err := d.rollout(ctx, name)
		if err != nil {
			return false, err
		}
		if key := pausedAt(cur, image); key != "" && !promoted[key] {
			promoted[key] = true
			if err := d.promote(ctx, name, image, key); err != nil {
				return false, err
			}
			res.Promotes++
			res.LastAction = time.Now()
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("update to %s: intended state %w (last: %s)", image, err, why)
	}
	res.Converged = time.Now()
	res.Seconds = res.Converged.Sub(res.Started).Seconds()
	res.ReconvergeSeconds = res.Converged.Sub(res.LastAction).Seconds()
	d.mu.Lock()
	d.updates = append(d.updates, res)
	d.mu.Unlock()
	return nil
}

// fail records a Rollout that did not reach its intended state.
func (d *driver) fail(msg string) {
	logf("%s", msg)
	d.mu.Lock()
	d.stuck = append(d.stuck, msg)
	d.mu.Unlock()
}

func (d *driver) failures() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.stuck...)
}

func (d *driver) results() []updateResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]updateResult(nil), d.updates...)
}

// promote runs the kubectl plugin's promote, as a person would, on the
// pause key of image. A retried promote first reads the Rollout afresh:
// once the pause is gone the promote has landed, and a second one would
// skip a canary's next step.
func (d *driver) promote(ctx context.Context, name, image, key string) error {
	return d.retry(ctx, func(ctx context.Context) error {
		ro := &v1alpha1.Rollout{}
		if err := d.cl.Get(ctx, client.ObjectKey{Namespace: d.ns, Name: name}, ro); err != nil {
			return err
		}
		if pausedAt(ro, image) != key {
			return nil
		}
		out, err := exec.CommandContext(ctx, d.plugin, "promote", name, "-n", d.ns, "--kubeconfig", d.kubeconfig).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubectl argo rollouts promote %s: %w: %s", name, err, out)
		}
		return nil
	})
}

// retry repeats a write until it succeeds, for at most a minute: the API
// server may be restarting.
func (d *driver) retry(ctx context.Context, write func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = write(ctx)
		return last == nil, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}
