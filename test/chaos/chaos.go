package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/auditlog"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/ctrlproc"
	"github.com/switchyard-dev/switchyard/test/history"
	"github.com/switchyard-dev/switchyard/test/invariant"
)

// The fault kinds, one run each.
const (
	faultKill      = "controller-kill"
	faultFailover  = "leader-failover"
	faultAPIServer = "apiserver-restart"
)

var faults = []string{faultKill, faultFailover, faultAPIServer}

// faultNone is a run without faults (-faults none): the baseline the
// fault kinds compare to, and a way to tell a controller bug from a fault's
// effect.
const faultNone = "none"

// Checks the harness adds to test/invariant's.
const (
	notConverged  = "Rollout not at its intended state within the bound"
	twoLeaders    = "write by a replica that did not hold the Lease"
	leaseLockName = manager.LeaseName
)

// config shapes a run. The short preset (CI) does every fault kind with
// fewer updates; the full one (make chaos) 100 updates under controller
// kills.
type config struct {
	Seed             int64         `json:"seed"`
	Faults           []string      `json:"faults"`
	KillUpdates      int           `json:"killUpdates"`
	FailoverUpdates  int           `json:"failoverUpdates"`
	APIServerUpdates int           `json:"apiServerUpdates"`
	KillMin          time.Duration `json:"killMin"`
	KillMax          time.Duration `json:"killMax"`
	MaxDowntime      time.Duration `json:"maxDowntime"`
	LeaderKillMin    time.Duration `json:"leaderKillMin"`
	LeaderKillMax    time.Duration `json:"leaderKillMax"`
	APIServerMin     time.Duration `json:"apiServerMin"`
	APIServerMax     time.Duration `json:"apiServerMax"`
	APIServerDown    time.Duration `json:"apiServerMaxDowntime"`
	Bound            time.Duration `json:"convergenceBound"`
	Out              string        `json:"out"`
}

func fullConfig() config {
	return config{
		Faults:      faults,
		KillUpdates: 100, FailoverUpdates: 40, APIServerUpdates: 28,
		KillMin: time.Second, KillMax: 6 * time.Second, MaxDowntime: time.Second,
		LeaderKillMin: 2 * time.Second, LeaderKillMax: 6 * time.Second,
		APIServerMin: 5 * time.Second, APIServerMax: 15 * time.Second, APIServerDown: 3 * time.Second,
		Bound: 3 * time.Minute,
		Out:   "chaos-results",
	}
}

// shortConfig does one update per Rollout of the fleet under each fault.
func shortConfig() config {
	c := fullConfig()
	c.KillUpdates, c.FailoverUpdates, c.APIServerUpdates = 7, 7, 7
	c.APIServerMin, c.APIServerMax = 3*time.Second, 10*time.Second
	return c
}

// harness is what the runs share: the cluster, the binaries and clients.
type harness struct {
	cfg       config
	c         *cluster.Cluster
	root      string
	bins      string
	logs      string
	admin     *rest.Config
	kube      kubernetes.Interface
	cl        client.WithWatch
	auditPath string
	fleet     *fleet
	etcd      *clientv3.Client
	scheme    *runtime.Scheme

	mu  sync.Mutex
	rng *rand.Rand
}

// newHarness builds the controller and the kubectl plugin into a
// temporary directory, installs the CRDs and reads the fleet. The cluster
// must write its audit log.
func newHarness(ctx context.Context, cfg config, c *cluster.Cluster, logs string) (*harness, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, c: c, root: root, logs: logs, auditPath: filepath.Join(c.Dir, "audit.log")}
	if _, err := os.Stat(h.auditPath); err != nil {
		return nil, fmt.Errorf("the cluster writes no audit log (cluster.Options.AuditLog): %w", err)
	}
	if h.cfg.Seed == 0 {
		h.cfg.Seed = time.Now().UnixNano()
	}
	h.rng = rand.New(rand.NewPCG(uint64(h.cfg.Seed), 0))
	if h.bins, err = os.MkdirTemp("", "switchyard-chaos-bin-"); err != nil {
		return nil, err
	}
	logf("building cmd/switchyard and cmd/kubectl-argo-rollouts")
	if err := ctrlproc.Build(ctx, root, h.bins, "./cmd/switchyard", "./cmd/kubectl-argo-rollouts"); err != nil {
		return nil, err
	}
	h.admin = rest.CopyConfig(c.RESTConfig)
	h.admin.UserAgent = "switchyard-chaos"
	if h.kube, err = kubernetes.NewForConfig(h.admin); err != nil {
		return nil, err
	}
	if h.scheme, err = manager.Scheme(); err != nil {
		return nil, err
	}
	if h.cl, err = client.NewWithWatch(h.admin, client.Options{Scheme: h.scheme}); err != nil {
		return nil, err
	}
	// The samplers read etcd itself: they see every write, also while
	// kube-apiserver restarts.
	if h.etcd, err = clientv3.New(clientv3.Config{Endpoints: []string{c.EtcdURL}, DialTimeout: 10 * time.Second}); err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	if _, err := envtest.InstallCRDs(h.admin, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfPathMissing: true,
	}); err != nil {
		return nil, fmt.Errorf("install CRDs: %w", err)
	}
	if h.fleet, err = newFleet(root); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *harness) close() {
	os.RemoveAll(h.bins)
	if h.etcd != nil {
		h.etcd.Close()
	}
}

// uniform is a random duration in [lo, hi].
func (h *harness) uniform(lo, hi time.Duration) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(h.rng.Int64N(int64(hi-lo)+1))
}

func (h *harness) coin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rng.IntN(2) == 0
}

// run is one fault kind, in a namespace of its own.
type run struct {
	h        *harness
	fault    string
	ns       string
	replicas []*replica
	d        *driver
	rec      *history.Recorder
	res      *runResult
	// writes wakes the killer on the controller's writes (Services,
	// ReplicaSet sizes): a kill lands inside a sequence of writes.
	writes chan struct{}
	// faultErr is why a fault loop gave up (the cluster did not recover).
	faultErr error

	mu sync.Mutex
}

// fail records why a fault loop gave up; the run ends with that error.
func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.faultErr == nil {
		r.faultErr = err
	}
}

// runFault runs one fault kind and checks it.
func (h *harness) runFault(ctx context.Context, fault string) (*runResult, error) {
	began := time.Now()
	r := &run{h: h, fault: fault, ns: fmt.Sprintf("chaos-%s-%d", fault, began.Unix()), writes: make(chan struct{}, 1)}
	r.res = &runResult{Fault: fault, Namespace: r.ns, Started: began}
	for _, ro := range h.fleet.rollouts {
		r.res.Rollouts = append(r.res.Rollouts, ro.Name)
	}
	logf("%s: namespace %s", fault, r.ns)
	if _, err := h.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	err := r.execute(ctx)
	r.res.Seconds = time.Since(began).Seconds()
	if err != nil {
		r.res.Error = err.Error()
	}
	// The namespace goes; nobody waits for it.
	_ = h.kube.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), r.ns, metav1.DeleteOptions{})
	return r.res, err
}

func (r *run) execute(ctx context.Context) error {
	h := r.h
	// 1. Record the namespace's history from before anything exists.
	r.rec = history.New(ctx)
	defer r.rec.Stop()
	lastSize := map[string]int32{}
	var sizeMu sync.Mutex
	for _, src := range invariant.EtcdSources(h.etcd, h.scheme, r.ns) {
		switch src.Kind {
		case invariant.Services:
			src.Notify = func(history.Change) { r.wrote() }
		case invariant.ReplicaSets:
			src.Notify = func(c history.Change) {
				rs, ok := c.Fact.(invariant.ReplicaSet)
				if !ok {
					return
				}
				sizeMu.Lock()
				old, seen := lastSize[c.Name]
				lastSize[c.Name] = rs.Replicas
				sizeMu.Unlock()
				if !seen || old != rs.Replicas {
					r.wrote()
				}
			}
		}
		if err := r.rec.Record(ctx, src); err != nil {
			return fmt.Errorf("record %s: %w", src.Kind, err)
		}
	}

	// 2. The controller replicas, supervised.
	if err := r.startReplicas(ctx); err != nil {
		return err
	}
	ctrlCtx, stopControllers := context.WithCancel(ctx)
	var supervisors sync.WaitGroup
	for _, rep := range r.replicas {
		supervisors.Add(1)
		go func() {
			defer supervisors.Done()
			rep.supervise(ctrlCtx, func() time.Duration { return h.uniform(0, h.cfg.MaxDowntime) })
		}()
	}
	defer func() {
		stopControllers()
		supervisors.Wait()
		for _, rep := range r.replicas {
			r.res.Replicas = append(r.res.Replicas, rep.stats())
		}
	}()

	// 3. The driver's view, and the fleet created and Healthy.
	if err := r.startDriver(ctx); err != nil {
		return err
	}
	for _, obj := range h.fleet.objects(r.ns) {
		if err := h.cl.Create(ctx, obj); err != nil {
			return fmt.Errorf("create %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	for _, ro := range h.fleet.rollouts {
		if err := r.d.until(ctx, h.cfg.Bound, func() (bool, error) {
			ok, _, err := r.d.converged(ctx, ro.Name, imageOf(ro))
			return ok, err
		}); err != nil {
			return fmt.Errorf("%s not Healthy after creation: %w", ro.Name, err)
		}
	}
	logf("%s: %d Rollouts Healthy; %d updates under faults", r.fault, len(h.fleet.rollouts), r.updates())

	// 4. Updates under the fault.
	faultCtx, stopFault := context.WithCancel(ctx)
	faultDone := make(chan struct{})
	go func() {
		defer close(faultDone)
		r.inject(faultCtx)
	}()
	r.d.tickets.Store(int32(r.updates()))
	var drivers sync.WaitGroup
	for _, ro := range h.fleet.rollouts {
		drivers.Add(1)
		go func() {
			defer drivers.Done()
			r.d.drive(ctx, ro.Name)
		}()
	}
	drivers.Wait()
	stopFault()
	<-faultDone

	// 5. Every Rollout at its last image once the faults stop.
	for _, ro := range h.fleet.rollouts {
		cur, err := r.d.rollout(ctx, ro.Name)
		if err != nil {
			return err
		}
		err = r.d.until(ctx, h.cfg.Bound+time.Duration(scaleDownDelay(ro))*time.Second, func() (bool, error) {
			ok, _, err := r.d.converged(ctx, ro.Name, imageOf(cur))
			return ok, err
		})
		if err != nil {
			r.d.fail(fmt.Sprintf("%s: not at its intended state after the faults stopped: %v", ro.Name, err))
		}
	}

	// 6. The checks over the whole history, then the audit log.
	cutoff, err := r.rec.Settle(ctx, 2*time.Minute)
	if err != nil {
		return err
	}
	checker := invariant.NewChecker()
	r.rec.Replay(cutoff, checker.Visit)
	r.res.States, r.res.Changes, r.res.Gaps = checker.States, r.rec.Changes(), r.rec.Gaps()
	r.res.OverCreated = checker.OverCreated
	r.res.Violations = append(r.res.Violations, checker.Violations()...)
	for _, s := range r.d.failures() {
		r.res.Violations = append(r.res.Violations, invariant.Violation{Check: notConverged, Subject: r.ns, From: time.Now(), Message: s})
	}
	r.res.Updates = r.d.results()
	r.mu.Lock()
	faultErr := r.faultErr
	r.mu.Unlock()
	if faultErr != nil {
		return faultErr
	}
	if len(r.d.failures()) > 0 {
		r.res.ClusterNotes = r.clusterNotes(ctx)
	}
	return r.audit(ctx)
}

// clusterNotes describe what, outside the controller, can hold a Rollout
// back: nodes that are not Ready or carry a taint the fleet does not
// tolerate, and the namespace's pods that are not scheduled.
func (r *run) clusterNotes(ctx context.Context) []string {
	var notes []string
	nodes, err := r.h.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return []string{"list nodes: " + err.Error()}
	}
	for _, n := range nodes.Items {
		var bad []string
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
				bad = append(bad, fmt.Sprintf("Ready=%s since %s (%s)", c.Status, c.LastTransitionTime.Format(time.TimeOnly), c.Reason))
			}
		}
		for _, t := range n.Spec.Taints {
			if t.Key != "subnettype" {
				bad = append(bad, fmt.Sprintf("taint %s:%s", t.Key, t.Effect))
			}
		}
		if len(bad) > 0 {
			notes = append(notes, fmt.Sprintf("node %s: %s", n.Name, strings.Join(bad, ", ")))
		}
	}
	pods, err := r.h.kube.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return append(notes, "list pods: "+err.Error())
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
				notes = append(notes, fmt.Sprintf("pod %s not scheduled: %s", p.Name, c.Message))
			}
		}
	}
	return notes
}

// updates is the number of updates the run's fault kind does.
func (r *run) updates() int {
	switch r.fault {
	case faultFailover:
		return r.h.cfg.FailoverUpdates
	case faultAPIServer:
		return r.h.cfg.APIServerUpdates
	}
	return r.h.cfg.KillUpdates
}

func (r *run) wrote() {
	select {
	case r.writes <- struct{}{}:
	default:
	}
}

// startReplicas prepares the run's controller replicas, each with an
// identity of its own. Every replica watches only the run's namespace.
func (r *run) startReplicas(ctx context.Context) error {
	base := []string{"--namespace=" + r.ns, "--zap-log-level=info"}
	var users []string
	var args []string
	switch r.fault {
	case faultNone:
		users = []string{"switchyard-baseline"}
		args = append(base, "--leader-elect=false")
	case faultKill:
		users = []string{"switchyard-kill"}
		args = append(base, "--leader-elect=false")
	case faultFailover:
		// Short timings: a killed leader's Lease expires after 4s.
		users = []string{"switchyard-a", "switchyard-b"}
		args = append(base, "--leader-elect=true", "--leader-election-namespace="+r.ns,
			"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms")
	case faultAPIServer:
		// As installed: leader election with the default timings.
		users = []string{"switchyard-apiserver"}
		args = append(base, "--leader-elect=true", "--leader-election-namespace="+r.ns)
	default:
		return fmt.Errorf("unknown fault %q", r.fault)
	}
	r.res.LeaderElection = r.fault == faultFailover || r.fault == faultAPIServer
	for _, u := range users {
		rep, err := newReplica(r.h.c, filepath.Join(r.h.bins, "switchyard"), r.h.logs, u, args)
		if err != nil {
			return err
		}
		r.replicas = append(r.replicas, rep)
	}
	return nil
}

// startDriver starts the driver's informer cache on the namespace.
func (r *run) startDriver(ctx context.Context) error {
	h := r.h
	c, err := cache.New(h.admin, cache.Options{Scheme: h.cl.Scheme(), DefaultNamespaces: map[string]cache.Config{r.ns: {}}})
	if err != nil {
		return err
	}
	go func() { _ = c.Start(ctx) }()
	r.d = &driver{
		cl: h.cl, cache: c, ns: r.ns,
		plugin:     filepath.Join(h.bins, "kubectl-argo-rollouts"),
		kubeconfig: h.c.Kubeconfig,
		bound:      h.cfg.Bound,
	}
	return r.d.watchKinds(ctx)
}

// inject runs the fault until ctx ends.
func (r *run) inject(ctx context.Context) {
	switch r.fault {
	case faultKill:
		r.killLoop(ctx)
	case faultFailover:
		r.failoverLoop(ctx)
	case faultAPIServer:
		r.apiServerLoop(ctx)
	default:
		<-ctx.Done()
	}
}

// waitRunning waits until rep has a live process (process state has no
// watch: asked every 100ms).
func waitRunning(ctx context.Context, rep *replica) bool {
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		return rep.running(), nil
	}) == nil
}

// killLoop SIGKILLs the controller again and again: half the time at a
// random moment, half the time right after it wrote a Service or resized a
// ReplicaSet (inside a sequence of writes).
func (r *run) killLoop(ctx context.Context) {
	rep := r.replicas[0]
	h := r.h
	for {
		if !waitRunning(ctx, rep) {
			return
		}
		d := h.uniform(h.cfg.KillMin, h.cfg.KillMax)
		mode := "at a random moment"
		if h.coin() {
			if !sleep(ctx, h.cfg.KillMin) {
				return
			}
			select {
			case <-r.writes:
			default:
			}
			t := time.NewTimer(d)
			select {
			case <-r.writes:
				mode = "right after a write"
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			t.Stop()
		} else if !sleep(ctx, d) {
			return
		}
		if rep.kill() {
			r.d.faultOver(time.Now())
			r.mu.Lock()
			r.res.Kills = append(r.res.Kills, kill{At: time.Now(), Replica: rep.user, When: mode, InFlight: int(r.d.inFlight.Load())})
			r.mu.Unlock()
		}
	}
}

// failoverLoop kills whichever replica leads, once it has led a while, and
// measures how long the other takes to lead.
func (r *run) failoverLoop(ctx context.Context) {
	h := r.h
	for {
		if !sleep(ctx, h.uniform(h.cfg.LeaderKillMin, h.cfg.LeaderKillMax)) {
			return
		}
		var leader *replica
		// Leadership is read from each replica's metrics every 100ms.
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			var leading []*replica
			for _, rep := range r.replicas {
				if rep.leading(ctx) {
					leading = append(leading, rep)
				}
			}
			if len(leading) == 1 {
				leader = leading[0]
			}
			return leader != nil, nil
		})
		if err != nil {
			if ctx.Err() == nil {
				logf("%s: no single leader within a minute", r.fault)
			}
			continue
		}
		killedAt := time.Now()
		if !leader.kill() {
			continue
		}
		f := failover{Killed: leader.user, At: killedAt}
		var next *replica
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			for _, rep := range r.replicas {
				if rep != leader && rep.leading(ctx) {
					next = rep
				}
			}
			if next == nil && leader.leading(ctx) {
				next = leader // restarted and won the election again
			}
			return next != nil, nil
		})
		if err == nil {
			f.NewLeader = next.user
			f.Seconds = time.Since(killedAt).Seconds()
			lease := &coordinationv1.Lease{}
			if err := h.cl.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: leaseLockName}, lease); err == nil && lease.Spec.AcquireTime != nil {
				f.LeaseAcquiredSeconds = lease.Spec.AcquireTime.Sub(killedAt).Seconds()
			}
		} else if ctx.Err() == nil {
			f.NewLeader = "none within a minute"
		}
		r.d.faultOver(time.Now())
		r.mu.Lock()
		r.res.Failovers = append(r.res.Failovers, f)
		r.mu.Unlock()
	}
}

// apiServerLoop kills kube-apiserver and starts it again, each time while
// an update is in flight, and lets the cluster run a while (APIServerMin
// to APIServerMax) after its own controllers answer again
// (controlPlaneProbe) before the next restart.
func (r *run) apiServerLoop(ctx context.Context) {
	h := r.h
	probe, err := newControlPlaneProbe(ctx, h.kube, r.ns+"-probe")
	if err != nil {
		r.fail(err)
		return
	}
	defer probe.delete(context.WithoutCancel(ctx))
	// The first restart comes early, while the first wave of updates is
	// in flight.
	pause := h.uniform(time.Second, 5*time.Second)
	for {
		if !sleep(ctx, pause) {
			return
		}
		pause = h.uniform(h.cfg.APIServerMin, h.cfg.APIServerMax)
		if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
			return r.d.inFlight.Load() > 0, nil
		}); err != nil {
			return
		}
		down := h.uniform(h.cfg.APIServerDown/6, h.cfg.APIServerDown)
		at := time.Now()
		inFlight := int(r.d.inFlight.Load())
		// The restart is not cut short by the end of the run: the cluster
		// must be whole afterwards.
		err := h.c.RestartAPIServer(context.WithoutCancel(ctx), down)
		res := apiServerRestart{At: at, DownSeconds: down.Seconds(), ReadySeconds: time.Since(at).Seconds(), InFlight: inFlight}
		if err == nil {
			if err = probe.answered(context.WithoutCancel(ctx), 2*time.Minute); err != nil {
				err = fmt.Errorf("the cluster's controllers did not answer within 2m of the restart: %w", err)
			}
			res.RecoveredSeconds = time.Since(at).Seconds()
		}
		r.d.faultOver(time.Now())
		if err != nil {
			res.Error = err.Error()
			logf("%s: restart kube-apiserver: %v", r.fault, err)
		}
		r.mu.Lock()
		r.res.APIServerRestarts = append(r.res.APIServerRestarts, res)
		r.mu.Unlock()
		if err != nil {
			r.fail(err)
			return
		}
	}
}

// audit reads the run's requests from the audit log: each replica's
// writes, and, under leader election, whether a replica wrote while not
// holding the Lease.
func (r *run) audit(ctx context.Context) error {
	if err := auditlog.Sync(ctx, r.h.kube, r.h.auditPath); err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, rep := range r.replicas {
		ids[rep.user] = true
	}
	events, err := auditlog.Read(r.h.auditPath, func(e *auditlog.Event) bool {
		return ids[e.User.Username] && e.IsWrite()
	})
	if err != nil {
		return err
	}
	if len(r.res.Violations) > 0 {
		// Evidence: the run's requests, kept next to the report.
		path := filepath.Join(r.h.logs, "audit-"+r.fault+".log")
		if err := copyMatching(r.h.auditPath, path, `"namespace":"`+r.ns+`"`); err != nil {
			logf("%s: keep the audit log: %v", r.fault, err)
		} else {
			r.res.AuditLog = path
		}
	}
	r.res.Writes = map[string]int{}
	for _, e := range events {
		r.res.Writes[e.User.Username]++
	}
	if r.res.LeaderElection {
		vs, changes := leadership(events, r.ns, leaseLockName)
		r.res.LeaderChanges = changes
		r.res.Violations = append(r.res.Violations, vs...)
	}
	return nil
}

// leadership checks, from the audit log, that every write a replica sent
// (other than to the Lease itself) was received while that replica was the
// last to have written the Lease successfully: after its own acquisition or
// renewal completed, and before any other replica's. It returns the
// violations and the number of times the Lease changed hands.
func leadership(events []auditlog.Event, ns, lease string) ([]invariant.Violation, int) {
	type hold struct {
		user string
		at   time.Time
	}
	var holds []hold
	isLease := func(e *auditlog.Event) bool {
		return e.Resource() == "leases" && e.Namespace() == ns && e.Name() == lease
	}
	for i := range events {
		e := &events[i]
		if isLease(e) && e.Succeeded() {
			holds = append(holds, hold{e.User.Username, e.Completed()})
		}
	}
	sort.SliceStable(holds, func(i, j int) bool { return holds[i].at.Before(holds[j].at) })
	changes := 0
	for i := 1; i < len(holds); i++ {
		if holds[i].user != holds[i-1].user {
			changes++
		}
	}
	holderAt := func(t time.Time) (hold, bool) {
		i := sort.Search(len(holds), func(i int) bool { return holds[i].at.After(t) })
		if i == 0 {
			return hold{}, false
		}
		return holds[i-1], true
	}
	lastOf := func(user string, t time.Time) string {
		for i := len(holds) - 1; i >= 0; i-- {
			if holds[i].user == user && !holds[i].at.After(t) {
				return holds[i].at.Format("15:04:05.000000")
			}
		}
		return "never"
	}
	var out []invariant.Violation
	for i := range events {
		e := &events[i]
		if isLease(e) {
			continue
		}
		h, ok := holderAt(e.Received())
		if ok && h.user == e.User.Username {
			continue
		}
		holder := "nobody"
		if ok {
			holder = fmt.Sprintf("%s (Lease written at %s)", h.user, h.at.Format("15:04:05.000000"))
		}
		t := e.Received()
		out = append(out, invariant.Violation{
			Check: twoLeaders, Subject: e.User.Username, From: t, To: &t,
			Message:  fmt.Sprintf("%s %s %s (status %d) while the Lease was held by %s", e.Verb, e.Resource(), e.Name(), e.Code(), holder),
			Evidence: fmt.Sprintf("audit %s; %s last wrote the Lease at %s", e.AuditID, e.User.Username, lastOf(e.User.Username, t)),
		})
	}
	return out, changes
}

// copyMatching copies the lines of from that contain needle to to.
func copyMatching(from, to, needle string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	r := bufio.NewReaderSize(in, 1<<20)
	for {
		line, err := r.ReadString('\n')
		if strings.Contains(line, needle) {
			if _, werr := w.WriteString(line); werr != nil {
				out.Close()
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
