// Command bench measures how fast and how cheaply a controller of the
// argoproj.io/v1alpha1 Rollout API drives many Rollouts, on a local cluster
// (real control plane, pods simulated by kwok) with kube-apiserver's audit
// log on.
//
// It measures the rig itself first (how fast the cluster makes pods Ready
// with plain ReplicaSets and Deployments), then a fleet of N blue-green
// Rollouts (created, image-bumped, promoted, old revision scaled down), then
// promote latency over repeated updates of one blue-green and one canary
// Rollout. For each phase it reports the controller's CPU seconds and peak
// RSS (from /proc) and the API requests it made (from the audit log, by its
// identity), per Rollout, next to the targets of issue 8.
//
// The workload goes only through the Kubernetes API, so any controller of
// the same API can be measured:
//
//	go run ./test/bench                       # builds and runs cmd/switchyard, N=100
//	go run ./test/bench -n 1000 -updates 20   # the 1,000-Rollout fleet (about 2,000 pods)
//	go run ./test/bench -pprof                # also CPU and heap profiles of the controller
//	go run ./test/bench -model a.json,b.json  # scale model: memory, CPU, requests against N
//
//	# a running cluster and a controller started by someone else:
//	go run ./test/bench -kubeconfig KUBECONFIG -audit-log AUDIT.log \
//	    -controller-pid PID -controller-user-agent argo-rollouts
//
// The table goes to standard output, everything (with the targets) to
// bench-results/<timestamp>.json.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsv1client "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/ctrlproc"
)

// benchAgent is the bench's own user agent; its writes are told apart from
// the controller's in the audit log by it.
const benchAgent = "rollout-bench"

// benchQPS and benchBurst are the bench's client limits, far above what it
// sends: the bench must never be the bottleneck.
const benchQPS, benchBurst = 5000, 10000

type config struct {
	N              int           `json:"n"`
	Updates        int           `json:"updates"`
	Kubeconfig     string        `json:"kubeconfig,omitempty"`
	AuditLog       string        `json:"auditLog,omitempty"`
	ControllerPID  int           `json:"controllerPID,omitempty"`
	ControllerUser string        `json:"controllerUser,omitempty"`
	ControllerUA   string        `json:"controllerUserAgent,omitempty"`
	ControllerArgs []string      `json:"controllerArgs,omitempty"`
	Pprof          bool          `json:"pprof"`
	PprofURL       string        `json:"pprofURL,omitempty"`
	Out            string        `json:"out"`
	ReadyDelay     time.Duration `json:"readyDelay"`
	ScaleDownDelay int           `json:"scaleDownDelaySeconds"`
	CanaryReplicas int           `json:"canaryReplicas"`
	Workers        int           `json:"workers"`
	PhaseTimeout   time.Duration `json:"phaseTimeout"`
	Timeout        time.Duration `json:"timeout"`
	SkipRig        bool          `json:"skipRig"`
	KeepAudit      bool          `json:"keepAudit"`
	WarmUp         bool          `json:"warmUp"`
	Cycles         int           `json:"cycles"`
	// FloorProgressing has the fleet's floor write the status also when a
	// revision starts (Progressing), as the reference's status shows while
	// a revision runs; without it the floor writes it only at rest.
	FloorProgressing bool `json:"floorProgressing"`
	// SettleBeforePromote waits until the controller is quiet before each
	// promote of the latency phase.
	SettleBeforePromote bool `json:"settleBeforePromote"`
	// AnalysisRollouts is the size of the analysis phase's fleet (0 skips
	// it); AnalysisMeasurements the measurements of each run.
	AnalysisRollouts     int           `json:"analysisRollouts"`
	AnalysisMeasurements int           `json:"analysisMeasurements"`
	IdleWait             time.Duration `json:"idleWait,omitempty"`
	// ExecTrace is how long the controller's execution trace is recorded
	// from the start of the blue-green promote-latency phase (0: not).
	ExecTrace time.Duration `json:"execTrace,omitempty"`
	// Model lists runs to fit the scale model to, instead of a run.
	Model string `json:"-"`
	// WalkTrace is an execution trace to walk the promotes of, instead of
	// a run.
	WalkTrace string `json:"-"`
	// MemoryFloor runs the fleet's floor in a process of its own, whose
	// idle memory is read.
	MemoryFloor bool `json:"memoryFloor,omitempty"`
	// floorChild makes this process a floor (floorChildRole's), on
	// floorChildNamespace, answering on floorChildAddress.
	floorChild                                             bool
	floorChildRole, floorChildNamespace, floorChildAddress string
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func parseFlags() (config, error) {
	var c config
	var args stringList
	flag.IntVar(&c.N, "n", 100, "blue-green Rollouts in the fleet (1000 for the large fleet; the default timeouts scale with it)")
	flag.IntVar(&c.Updates, "updates", 20, "repeated updates for promote latency (blue-green and canary each)")
	flag.StringVar(&c.Kubeconfig, "kubeconfig", "", "use this running cluster instead of starting a local one (needs -audit-log)")
	flag.StringVar(&c.AuditLog, "audit-log", "", "kube-apiserver's audit log (JSON, metadata level) of the -kubeconfig cluster")
	flag.IntVar(&c.ControllerPID, "controller-pid", 0, "measure this running controller instead of building and starting cmd/switchyard")
	flag.StringVar(&c.ControllerUser, "controller-user", "", "user name of the controller in the audit log (default switchyard-bench for the controller the bench starts)")
	flag.StringVar(&c.ControllerUA, "controller-user-agent", "", "user-agent prefix of the controller in the audit log (when it has no identity of its own)")
	flag.Var(&args, "controller-arg", "extra flag for the controller the bench starts (repeatable), e.g. -controller-arg=--qps=200")
	flag.BoolVar(&c.Pprof, "pprof", false, "capture the controller's CPU profile (fleet phases, and the blue-green latency phase on its own) and heap profile (idle with N Rollouts) into the output directory")
	flag.StringVar(&c.PprofURL, "pprof-url", "", "base URL of an external controller's net/http/pprof (with -pprof)")
	flag.StringVar(&c.Out, "out", "bench-results", "directory for the JSON results and profiles")
	flag.DurationVar(&c.ReadyDelay, "ready-delay", time.Second, "time a simulated pod is Running before it is Ready (local cluster only)")
	flag.IntVar(&c.ScaleDownDelay, "scale-down-delay", 3, "blue-green scaleDownDelaySeconds of the fleet")
	flag.IntVar(&c.CanaryReplicas, "canary-replicas", 2, "replicas of the canary Rollout used for promote latency")
	flag.IntVar(&c.Workers, "workers", 50, "concurrent API writes when the bench changes the fleet")
	flag.DurationVar(&c.PhaseTimeout, "phase-timeout", 0, "bound on each phase (default 2m + 200ms per Rollout)")
	flag.DurationVar(&c.Timeout, "timeout", 0, "bound on the whole run (default 10m + 1.5s per Rollout)")
	flag.BoolVar(&c.SkipRig, "skip-rig", false, "skip measuring the rig's own limits")
	flag.BoolVar(&c.FloorProgressing, "floor-progressing", true, "the fleet's floor writes the status also when a revision starts (Progressing, what the reference's status shows while a revision runs); false: only when the revision is at rest (Healthy or Paused)")
	flag.BoolVar(&c.WarmUp, "warm-up", true, "before the fleet, release one blue-green and one canary Rollout and delete them, then read the idle memory (the first release's one-time cost)")
	flag.IntVar(&c.Cycles, "cycles", 1, "full cycles of the fleet (created, released, deleted); the ones after the first are timed only as a whole and read the idle memory after their deletion (and -idle-wait), to tell a leak from a one-time high-water mark")
	flag.BoolVar(&c.SettleBeforePromote, "settle-before-promote", false, "in the latency phase, wait until the controller is quiet before each promote (Argo Rollouts needs it: it loses a promote sent while it is still pausing)")
	flag.BoolVar(&c.KeepAudit, "keep-audit", false, "copy the local cluster's audit log into the output directory")
	flag.IntVar(&c.AnalysisRollouts, "analysis-rollouts", -1, "canary Rollouts in the analysis phase, one AnalysisRun each (default: as many as -n, at most 100; 0 skips the phase)")
	flag.IntVar(&c.AnalysisMeasurements, "analysis-measurements", 5, "measurements of each AnalysisRun in the analysis phase (1 s apart)")
	flag.DurationVar(&c.IdleWait, "idle-wait", 0, "after the fleet is deleted, wait this long and read the controller's idle memory once more (client-go keeps recorded Events 6-12 minutes for event series; 13m sees them gone)")
	flag.DurationVar(&c.ExecTrace, "exec-trace", 0, "with -pprof, record the controller's Go execution trace for this long from the start of the blue-green promote-latency phase (OUT/STAMP-promotes.trace), and print each promote's way through the controller from it")
	flag.StringVar(&c.WalkTrace, "walk-trace", "", "print the promotes' way through the controller in an execution trace written by -exec-trace, and exit")
	flag.StringVar(&c.Model, "model", "", "print the scale model of earlier runs' JSON files (comma-separated, two fleet sizes at least) and exit")
	flag.BoolVar(&c.MemoryFloor, "memory-floor", false, "run the fleet's floor in a process of its own and read its RSS before its fleet, once its fleet is deleted and at the controller's last idle reading (what a controller doing the least keeps for having driven the fleet); the floor's phase times are then not those of a run without it")
	flag.BoolVar(&c.floorChild, "floor-child", false, "be a floor's process (the bench starts it with -memory-floor, and for the latency phase's controller floor)")
	flag.StringVar(&c.floorChildNamespace, "floor-child-namespace", "", "the floor's namespace")
	flag.StringVar(&c.floorChildAddress, "floor-child-address", "", "the floor's readiness address")
	flag.StringVar(&c.floorChildRole, "floor-child-role", fleetFloorRole.flag, "which floor the floor's process serves: "+fleetFloorRole.flag+" (-memory-floor) or "+latencyFloorRole.flag+" (the latency phase's controller floor)")
	flag.Parse()
	if c.floorChild {
		return c, nil
	}
	c.ControllerArgs = args
	if c.N < 1 || c.Updates < 1 || c.Cycles < 1 {
		return c, fmt.Errorf("-n, -updates and -cycles must be positive")
	}
	if c.AnalysisRollouts < 0 {
		c.AnalysisRollouts = min(c.N, 100)
	}
	if c.AnalysisMeasurements < 1 {
		return c, fmt.Errorf("-analysis-measurements must be positive")
	}
	if c.Kubeconfig != "" && c.AuditLog == "" {
		return c, fmt.Errorf("-kubeconfig needs -audit-log: the controller's requests are counted from it")
	}
	if c.ControllerPID != 0 && c.ControllerUser == "" && c.ControllerUA == "" {
		return c, fmt.Errorf("-controller-pid needs -controller-user or -controller-user-agent")
	}
	if c.MemoryFloor && c.SkipRig {
		return c, fmt.Errorf("-memory-floor needs the rig: the fleet's floor is one of its steps")
	}
	if c.ControllerPID != 0 && c.Pprof && c.PprofURL == "" {
		return c, fmt.Errorf("-pprof with -controller-pid needs -pprof-url")
	}
	if c.PhaseTimeout == 0 {
		c.PhaseTimeout = 2*time.Minute + time.Duration(c.N)*200*time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = time.Duration(c.Cycles) * (10*time.Minute + time.Duration(c.N)*1500*time.Millisecond + c.IdleWait)
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	// The bench's informers log through controller-runtime; it has nothing
	// to say that the table does not.
	ctrllog.SetLogger(logr.Discard())
	if cfg.Model != "" {
		if err := printScaleModel(os.Stdout, strings.Split(cfg.Model, ",")); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if cfg.floorChild {
		role, err := floorRoleOf(cfg.floorChildRole)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(2)
		}
		if err := runFloorProcess(cfg, role); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", role.name, err)
			os.Exit(1)
		}
		return
	}
	if cfg.WalkTrace != "" {
		if err := printWalk(context.Background(), os.Stdout, cfg.WalkTrace); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is one run.
type bench struct {
	cfg       config
	root      string
	stamp     string
	ns        string
	kube      kubernetes.Interface
	cl        client.Client
	rest      *rest.Config
	cache     cache.Cache
	auditPath string
	ctrl      *controllerProc
	id        identity
	// memoryFloor is the fleet's floor in a process of its own
	// (-memory-floor), or nil.
	memoryFloor *floorProcess
	// local is the local cluster the run started, if any; tmp the run's
	// scratch directory.
	local *cluster.Cluster
	tmp   string
	// lastEvent is when the bench last saw an Event written (unix ns).
	lastEvent atomic.Int64

	windows []window
	current *meter
	// fleetPromote is when the fleet's promote writes began and a bound
	// after the last was done, for latency under load from the audit log.
	fleetPromote [2]time.Time
	costs        map[string]cost
	res          *results
	// cpu splits the machine's CPU between the run's processes.
	cpu *cpuSampler
}

// logf reports progress on standard error; the table goes to standard output.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func run(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	began := time.Now()
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	b := &bench{
		cfg: cfg, root: root, stamp: began.Format("20060102-150405"),
		costs: map[string]cost{},
	}
	b.ns = "bench-" + b.stamp
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b.tmp = tmp
	b.res = newResults(cfg, began)
	b.cpu = startCPUSampler(100 * time.Millisecond)
	defer b.cpu.stop()

	// The cluster: a local one with the audit log on, or the one given.
	var admin *rest.Config
	var local *cluster.Cluster
	if cfg.Kubeconfig == "" {
		logf("starting a local cluster (audit log on, pods Ready after %s)", cfg.ReadyDelay)
		local, err = cluster.Start(ctx, cluster.Options{
			AuditLog:    true,
			Profiling:   cfg.Pprof,
			ReadyDelay:  cfg.ReadyDelay,
			PodsPerNode: max(500, cfg.N),
			Log:         os.Stderr,
		})
		if err != nil {
			return fmt.Errorf("start local cluster: %w", err)
		}
		defer func() {
			if err := local.Stop(); err != nil {
				logf("stop local cluster: %v", err)
			}
		}()
		b.local = local
		for name, pid := range local.PIDs() {
			b.cpu.track(name, pid)
		}
		admin = rest.CopyConfig(local.RESTConfig)
		b.auditPath = filepath.Join(local.Dir, "audit.log")
		b.res.Cluster = fmt.Sprintf("local cluster (Kubernetes %s, kwok nodes, pods Ready after %s), started in %s",
			cluster.KubernetesVersion, cfg.ReadyDelay, local.StartupTime.Round(100*time.Millisecond))
	} else {
		admin, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
		if err != nil {
			return fmt.Errorf("load %s: %w", cfg.Kubeconfig, err)
		}
		b.auditPath = cfg.AuditLog
		b.res.Cluster = "cluster of " + cfg.Kubeconfig
	}
	// The bench must never be the bottleneck: no client-side throttling.
	admin.QPS, admin.Burst = benchQPS, benchBurst
	admin.UserAgent = benchAgent
	if b.kube, err = kubernetes.NewForConfig(admin); err != nil {
		return err
	}
	if err := b.installCRDs(ctx, admin); err != nil {
		return err
	}
	// The clients map kinds to resources from discovery when first used,
	// and a mapper that looked before the CRDs were served does not look
	// again: they are built once the CRDs are.
	if err := b.connect(admin); err != nil {
		return err
	}
	if _, err := b.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	if local == nil {
		// Leave a shared cluster as it was.
		defer func() {
			_ = b.kube.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), b.ns, metav1.DeleteOptions{})
		}()
	}
	if err := b.startCache(ctx); err != nil {
		return err
	}

	if cfg.MemoryFloor {
		if b.memoryFloor, err = b.startFloorProcess(ctx, fleetFloorRole); err != nil {
			return err
		}
		defer b.memoryFloor.p.Stop(10 * time.Second)
	}
	if !cfg.SkipRig {
		if cfg.ControllerPID != 0 {
			b.ctrl = &controllerProc{proc: proc{pid: cfg.ControllerPID}}
		}
		if err := b.rig(ctx); err != nil {
			return fmt.Errorf("rig: %w", err)
		}
	}

	// The controller under test.
	if cfg.ControllerPID != 0 {
		b.ctrl = &controllerProc{proc: proc{pid: cfg.ControllerPID}, Name: fmt.Sprintf("external controller, pid %d", cfg.ControllerPID), pprofURL: cfg.PprofURL}
		b.id = identity{User: cfg.ControllerUser, UserAgent: cfg.ControllerUA}
		b.openWindow("controller idle")
	} else {
		if err := b.launchController(ctx, local, tmp); err != nil {
			return err
		}
		defer b.ctrl.stop()
	}
	b.cpu.track("controller", b.ctrl.pid)
	b.res.Controller = b.ctrl.Name
	b.res.Identity = b.id.String()
	b.res.ControllerPID = b.ctrl.pid
	if err := b.settle(ctx); err != nil {
		return err
	}
	b.idle(idleFresh)
	if b.cfg.Pprof {
		b.captureHeap(ctx, "heap-fresh", &b.res.Profiles.HeapFresh)
	}

	runErr := b.measure(ctx)
	b.readMemoryFloor(memoryFloorLast)
	b.closeWindow()

	// What was measured is reported even when a phase failed (a stuck
	// Rollout is a finding too), within a bound of its own.
	ctx, cancelReport := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelReport()
	// Every request is in the audit log before it is read; the controller
	// the bench started is stopped first so its watches complete too.
	if cfg.ControllerPID == 0 {
		b.ctrl.stop()
	}
	if err := b.syncAudit(ctx); err != nil {
		return errors.Join(runErr, err)
	}
	log, err := readAudit(b.auditPath, b.id, benchAgent)
	if err != nil {
		return errors.Join(runErr, fmt.Errorf("read audit log: %w", err))
	}
	if cfg.KeepAudit && local != nil {
		if err := copyFile(b.auditPath, filepath.Join(cfg.Out, b.stamp+"-audit.log")); err != nil {
			logf("keep audit log: %v", err)
		}
	}
	b.res.fill(b, log)
	b.profileTops(ctx)
	b.res.Seconds = time.Since(began).Seconds()
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.res.Machine.LoadAvgEnd = strings.TrimSpace(string(load))
	}
	if runErr != nil {
		b.res.Error = runErr.Error()
	}
	path := filepath.Join(cfg.Out, b.stamp+".json")
	if err := b.res.write(path); err != nil {
		return errors.Join(runErr, err)
	}
	b.res.print(os.Stdout)
	fmt.Printf("\nJSON: %s (run took %s)\n", path, time.Since(began).Round(time.Second))
	return runErr
}

// measure runs the controller's phases: the warm-up, the fleet's release,
// promote latency, analysis, the fleet's deletion, and the repeated cycles.
func (b *bench) measure(ctx context.Context) error {
	if b.cfg.WarmUp {
		if err := b.warmUp(ctx); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	if err := b.fleet(ctx); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	if err := b.latency(ctx); err != nil {
		return fmt.Errorf("promote latency: %w", err)
	}
	if err := b.analysisFleet(ctx); err != nil {
		return fmt.Errorf("analysis: %w", err)
	}
	if err := b.deleteFleet(ctx); err != nil {
		return fmt.Errorf("delete fleet: %w", err)
	}
	for k := 2; k <= b.cfg.Cycles; k++ {
		if err := b.repeatCycle(ctx, k); err != nil {
			return fmt.Errorf("cycle %d: %w", k, err)
		}
	}
	return nil
}

func (b *bench) connect(admin *rest.Config) error {
	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	var err error
	b.rest = admin
	if b.cl, err = client.New(admin, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	// Rig pods are the only pods the bench caches: it waits for them to be
	// gone before the controller's phases begin.
	rigPods := labels.SelectorFromSet(labels.Set{roleLabel: roleRig})
	b.cache, err = cache.New(admin, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{b.ns: {}},
		ByObject:          map[client.Object]cache.ByObject{&corev1.Pod{}: {Label: rigPods}},
	})
	if err != nil {
		return err
	}
	_, err = b.kube.Discovery().ServerVersion()
	return err
}

// installCRDs creates the Rollout and analysis CRDs from config/crd (or
// leaves those installed) and waits until they are served.
func (b *bench) installCRDs(ctx context.Context, admin *rest.Config) error {
	cs, err := apiextensionsclient.NewForConfig(admin)
	if err != nil {
		return err
	}
	crds := cs.ApiextensionsV1().CustomResourceDefinitions()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var resources []string
	for _, file := range []string{"argoproj.io_analysistemplates.yaml", "argoproj.io_clusteranalysistemplates.yaml", "argoproj.io_analysisruns.yaml", "argoproj.io_rollouts.yaml"} {
		resource, err := b.installCRD(ctx, crds, file)
		if err != nil {
			return err
		}
		resources = append(resources, resource)
	}
	// Discovery of the new resources can lag the Established condition.
	gv := schema.GroupVersion{Group: v1alpha1.GroupVersion.Group, Version: v1alpha1.GroupVersion.Version}
	return watchDiscovery(ctx, b.kube, gv.String(), resources)
}

// installCRD creates one CRD of config/crd/bases, waits until it is
// Established and returns its resource (plural) name.
func (b *bench) installCRD(ctx context.Context, crds apiextensionsv1client.CustomResourceDefinitionInterface, file string) (string, error) {
	data, err := os.ReadFile(filepath.Join(b.root, "config", "crd", "bases", file))
	if err != nil {
		return "", err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		return "", fmt.Errorf("parse %s: %w", file, err)
	}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("install CRD %s: %w", crd.Name, err)
	}
	sel := fields.OneTermEqualSelector("metadata.name", crd.Name).String()
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (kruntime.Object, error) {
			o.FieldSelector = sel
			return crds.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return crds.Watch(ctx, o)
		},
	}
	_, err = watchtools.UntilWithSync(ctx, lw, &apiextensionsv1.CustomResourceDefinition{}, nil, func(ev watch.Event) (bool, error) {
		c, ok := ev.Object.(*apiextensionsv1.CustomResourceDefinition)
		if !ok {
			return false, nil
		}
		for _, cond := range c.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("wait for the CRD %s: %w", crd.Name, err)
	}
	return crd.Spec.Names.Plural, nil
}

// watchDiscovery waits until the API server's discovery lists the
// resources of gv. Discovery has no watch; it is asked every 100ms for at
// most the context's time.
func watchDiscovery(ctx context.Context, kube kubernetes.Interface, gv string, resources []string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if servedInDiscovery(kube, gv, resources) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not served: %w", gv, ctx.Err())
		case <-tick.C:
		}
	}
}

// servedInDiscovery tells whether the API server's aggregated discovery
// document, the one a RESTMapper reads, lists every resource of the group
// version. It is updated CRD by CRD, after each is Established.
func servedInDiscovery(kube kubernetes.Interface, gv string, resources []string) bool {
	_, lists, err := kube.Discovery().ServerGroupsAndResources()
	if err != nil {
		return false
	}
	served := map[string]bool{}
	for _, l := range lists {
		if l.GroupVersion != gv {
			continue
		}
		for _, r := range l.APIResources {
			served[r.Name] = true
		}
	}
	for _, r := range resources {
		if !served[r] {
			return false
		}
	}
	return true
}

// startCache starts the bench's informers for every kind it waits on.
func (b *bench) startCache(ctx context.Context) error {
	go func() {
		if err := b.cache.Start(ctx); err != nil {
			logf("bench cache: %v", err)
		}
	}()
	for _, obj := range []client.Object{&v1alpha1.Rollout{}, &appsv1.ReplicaSet{}, &appsv1.Deployment{}, &corev1.Service{}, &corev1.Pod{}} {
		if _, err := b.cache.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("start informer for %T: %w", obj, err)
		}
	}
	// Events are written asynchronously (and client-side throttled): the
	// bench settles only once none has arrived for a second.
	inf, err := b.cache.GetInformer(ctx, &eventsv1.Event{})
	if err != nil {
		return fmt.Errorf("start informer for Events: %w", err)
	}
	b.lastEvent.Store(time.Now().UnixNano())
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { b.lastEvent.Store(time.Now().UnixNano()) },
		UpdateFunc: func(_, _ any) { b.lastEvent.Store(time.Now().UnixNano()) },
	}); err != nil {
		return err
	}
	if !b.cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("bench cache did not sync")
	}
	return nil
}

// launchController builds cmd/switchyard and starts it with an identity of
// its own (a client certificate for user switchyard-bench in
// system:masters), so its requests are told apart in the audit log.
func (b *bench) launchController(ctx context.Context, local *cluster.Cluster, tmp string) error {
	logf("building cmd/switchyard")
	bin, err := buildController(ctx, b.root, tmp)
	if err != nil {
		return err
	}
	kubeconfig := b.cfg.Kubeconfig
	b.id = identity{User: b.cfg.ControllerUser, UserAgent: b.cfg.ControllerUA}
	if local != nil {
		user := b.cfg.ControllerUser
		if user == "" {
			user = "switchyard-bench"
		}
		cfg, err := local.UserConfig(user, "system:masters")
		if err != nil {
			return fmt.Errorf("issue the controller's client certificate: %w", err)
		}
		kubeconfig = filepath.Join(tmp, "controller.kubeconfig")
		if err := ctrlproc.WriteKubeconfig(kubeconfig, cfg); err != nil {
			return err
		}
		b.id = identity{User: user}
	} else if b.id.User == "" && b.id.UserAgent == "" {
		// The given kubeconfig's identity may be shared: tell the
		// controller apart by the user agent it sets.
		b.id.UserAgent = "switchyard"
	}
	logPath := filepath.Join(b.cfg.Out, b.stamp+"-controller.log")
	logf("starting the controller (log in %s)", logPath)
	b.openWindow("controller start-up")
	b.ctrl, err = startController(ctx, bin, kubeconfig, logPath, b.cfg.Pprof, b.cfg.ControllerArgs)
	if err != nil {
		return err
	}
	// The window opened before the process existed: measure from now.
	b.current.restart(b.ctrl.proc)
	return nil
}

// settle waits until the controller has been quiet for a second (at most
// 20ms of CPU, no Event written in the namespace) so an idle figure is idle
// and a phase's late requests count in its window. /proc has no watch: it
// is read once a second, for at most 30 seconds.
func (b *bench) settle(ctx context.Context) error {
	if b.ctrl == nil {
		return nil
	}
	return settleProcess(ctx, b.ctrl.proc, b.ctrl.alive, &b.lastEvent, "controller")
}

// settleProcess waits until p has been quiet for a second: at most 20ms
// of CPU, and no Event written since lastEvent (unix ns).
func settleProcess(ctx context.Context, p proc, alive func() error, lastEvent *atomic.Int64, what string) error {
	prev, err := p.cpuSeconds()
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for range 30 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := alive(); err != nil {
			return err
		}
		cur, err := p.cpuSeconds()
		if err != nil {
			return err
		}
		if cur-prev <= 0.02 && time.Since(time.Unix(0, lastEvent.Load())) >= time.Second {
			return nil
		}
		prev = cur
	}
	logf("%s still busy after 30s; going on", what)
	return nil
}

// idle records the controller's resident memory now, under name.
func (b *bench) idle(name string) {
	if b.ctrl == nil {
		return
	}
	split, err := b.ctrl.rss()
	if err != nil {
		logf("read RSS: %v", err)
		return
	}
	split.Name = name
	logf("controller RSS %s: %.1f MiB (%.1f anonymous, %.1f file)", name, split.RSSMiB, split.AnonMiB, split.FileMiB)
	rec := idleRSS{rssSplit: split}
	if b.ctrl.pprofURL != "" {
		// After RSS is read: the heap profile is taken after a GC, so
		// HeapInuse is what is live (a leak shows there), the rest of
		// the anonymous memory is what the runtime keeps.
		if ms, err := memStats(b.ctrl.pprofURL); err == nil {
			rec.HeapLiveMiB = mib(ms["HeapInuse"] / 1024)
			rec.HeapObjectsMiB = mib(ms["HeapAlloc"] / 1024)
			rec.HeapKeptMiB = mib((ms["HeapIdle"] - ms["HeapReleased"]) / 1024)
			var runtimeBytes int64
			for _, k := range []string{"StackInuse", "MSpanInuse", "MCacheInuse", "BuckHashSys", "GCSys", "OtherSys"} {
				runtimeBytes += ms[k]
			}
			rec.RuntimeMiB = mib(runtimeBytes / 1024)
		} else {
			logf("heap statistics: %v", err)
		}
	}
	b.res.Idle = append(b.res.Idle, rec)
}

// meter measures the controller over one window: CPU seconds and peak RSS.
type meter struct {
	p       proc
	name    string
	cpu0    float64
	hwm     bool
	sampler *rssSampler
}

func (m *meter) restart(p proc) {
	if m.sampler != nil {
		m.sampler.stop()
	}
	m.p = p
	m.cpu0, _ = p.cpuSeconds()
	m.hwm = p.resetPeak()
	m.sampler = p.sampleRSS(context.Background(), 50*time.Millisecond)
}

// openWindow closes the current window and starts the next: the
// controller's requests, CPU and peak memory are counted per window.
func (b *bench) openWindow(name string) {
	b.closeWindow()
	now := time.Now()
	b.windows = append(b.windows, window{Name: name, Start: now})
	b.current = &meter{name: name}
	if b.ctrl != nil && b.ctrl.pid != 0 {
		b.current.restart(b.ctrl.proc)
	}
}

func (b *bench) closeWindow() {
	if b.current == nil {
		return
	}
	m := b.current
	b.current = nil
	b.windows[len(b.windows)-1].End = time.Now()
	if m.sampler == nil {
		return
	}
	c := cost{PeakRSSMiB: mib(m.sampler.stop())}
	if cpu, err := m.p.cpuSeconds(); err == nil {
		c.CPUSeconds = cpu - m.cpu0
	}
	if m.hwm {
		if hwm, err := m.p.memKiB("VmHWM"); err == nil {
			c.PeakRSSMiB = max(c.PeakRSSMiB, mib(hwm))
		}
	}
	b.costs[m.name] = c
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
