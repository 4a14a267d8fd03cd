// Package manager assembles Switchyard's controller-runtime manager: caches
// narrowed to what the reconcilers read, leader election, metrics, health
// endpoints and the reconcilers themselves. cmd/switchyard and the tests
// share it, so tests run the controller exactly as it is shipped.
package manager

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
	"github.com/switchyard-dev/switchyard/internal/analysis/providers/job"
	"github.com/switchyard-dev/switchyard/internal/analysis/providers/prometheus"
	"github.com/switchyard-dev/switchyard/internal/analysis/providers/web"
	"github.com/switchyard-dev/switchyard/internal/eventrecorder"
	"github.com/switchyard-dev/switchyard/internal/experiment"
	"github.com/switchyard-dev/switchyard/internal/instanceid"
	"github.com/switchyard-dev/switchyard/internal/metrics"
	"github.com/switchyard-dev/switchyard/internal/notifications"
	"github.com/switchyard-dev/switchyard/internal/rollout"
)

// Options are the controller's settings (the switchyard command's flags).
type Options struct {
	// Namespaces restricts the controller to these namespaces (a shard of
	// the cluster); none watches all.
	Namespaces []string
	// MetricsAddr and HealthAddr are the metrics and probe listen
	// addresses; "0" disables them.
	MetricsAddr, HealthAddr string
	LeaderElect             bool
	LeaderElectionNamespace string
	// LeaderElectionID names the leader-election Lease (LeaseName when
	// empty), suffixed with the instance ID: shards that share a
	// namespace need one each.
	LeaderElectionID string
	LeaseDuration    time.Duration
	RenewDeadline    time.Duration
	RetryPeriod      time.Duration
	// RolloutThreads is how many Rollouts are reconciled in parallel.
	RolloutThreads int
	// AnalysisThreads is how many AnalysisRuns are reconciled in parallel.
	AnalysisThreads int
	// ExperimentThreads is how many Experiments are reconciled in parallel.
	ExperimentThreads int
	// PprofAddr serves net/http/pprof when set.
	PprofAddr string
	// InstanceID, when set, restricts the controller to the Rollouts
	// labelled argo-rollouts.argoproj.io/controller-instance-id=<it> and
	// suffixes the leader-election Lease with it; when empty the controller
	// serves only Rollouts without that label.
	InstanceID string
	// Clock is injected by tests; nil is the real clock.
	Clock clock.PassiveClock
	// SkipControllerNameValidation lets several managers run in one process
	// (tests); controller-runtime otherwise refuses a second controller
	// with the same name.
	SkipControllerNameValidation bool
	// Notifications configures the notifier; its Namespace (the one holding
	// argo-rollouts-notification-configmap and -secret) turns it on, and
	// the manager fills in its clients, recorder, metrics and logger.
	Notifications notifications.Options
}

// LeaseName is the leader-election Lease's name without an instance ID.
const LeaseName = "switchyard-controller-lock"

// Scheme has the types Switchyard reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// New builds a manager with the Rollout, AnalysisRun and Experiment
// reconcilers registered.
func New(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	// Every request the controller sends is counted
	// (controller_clientset_k8s_request_total).
	requests := metrics.NewRequestCounter()
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(requests.WrapTransport)
	// Only ReplicaSets carrying a pod-template hash are a Rollout's (ours
	// or Argo Rollouts'); caching every Deployment's ReplicaSets would cost
	// memory for nothing.
	hashed, err := labels.NewRequirement(v1alpha1.DefaultRolloutUniqueLabelKey, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	// Likewise only the Jobs that AnalysisRuns created.
	analysisJobs, err := labels.NewRequirement(job.RunUIDLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	sliceOfService, err := labels.NewRequirement(discoveryv1.LabelServiceName, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	// The instance ID decides which Rollouts this controller reads at
	// all: the others never reach the cache, so nothing here can act on
	// them. A Rollout relabelled away leaves the cache (the watch reports
	// it deleted) and one relabelled to us enters it.
	servedRollouts, err := instanceid.Selector(opts.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("--instance-id: %w", err)
	}
	cacheOpts := cache.Options{
		DefaultTransform: slimCachedObject,
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.ReplicaSet{}: {Label: labels.NewSelector().Add(*hashed), Transform: compactReplicaSet()},
			&corev1.Service{}:    {Transform: compactService()},
			&batchv1.Job{}:       {Label: labels.NewSelector().Add(*analysisJobs)},
			&v1alpha1.Rollout{}:  {Label: servedRollouts, Transform: compactRollout()},
			// The Services' endpoints, checked before traffic moves: only
			// slices of a Service, cut down to each endpoint's pod and
			// readiness, and held encoded.
			&discoveryv1.EndpointSlice{}: {Label: labels.NewSelector().Add(*sliceOfService), Transform: compactEndpointSlice},
		},
	}
	// A cluster with only the Rollout CRD (some test set-ups) still runs
	// Rollouts; without the AnalysisRun CRD neither its cache nor its
	// controller could start.
	analysisServed, err := served(cfg, "analysisruns")
	if err != nil {
		return nil, err
	}
	if analysisServed {
		// Runs carry the instance ID of the Rollout that created them, so
		// the same selector splits them between instances.
		cacheOpts.ByObject[&v1alpha1.AnalysisRun{}] = cache.ByObject{Label: servedRollouts}
	}
	// Experiments need their own CRD and the AnalysisRun one (their
	// analyses are runs).
	experimentServed, err := served(cfg, "experiments")
	if err != nil {
		return nil, err
	}
	experimentServed = experimentServed && analysisServed
	if experimentServed {
		// The instance ID splits Experiments like Rollouts: an Experiment a
		// Rollout creates carries its label.
		cacheOpts.ByObject[&v1alpha1.Experiment{}] = cache.ByObject{Label: servedRollouts}
	}
	if len(opts.Namespaces) > 0 {
		// Every cache (Rollouts and all they own or read) holds these
		// namespaces only.
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range opts.Namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	leaseBase := opts.LeaderElectionID
	if leaseBase == "" {
		leaseBase = LeaseName
	}
	mgrOpts := ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.HealthAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              instanceid.LeaseName(leaseBase, opts.InstanceID),
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		PprofBindAddress:              opts.PprofAddr,
		GracefulShutdownTimeout:       ptrDuration(30 * time.Second),
	}
	if opts.SkipControllerNameValidation {
		mgrOpts.Controller.SkipNameValidation = &opts.SkipControllerNameValidation
	}
	if opts.LeaseDuration > 0 {
		mgrOpts.LeaseDuration = &opts.LeaseDuration
		mgrOpts.RenewDeadline = &opts.RenewDeadline
		mgrOpts.RetryPeriod = &opts.RetryPeriod
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	m := metrics.New(metrics.Options{
		Reader:           mgr.GetClient(),
		Requests:         requests,
		AnalysisRuns:     analysisServed,
		Experiments:      experimentServed,
		ClusterTemplates: len(opts.Namespaces) == 0,
		Log:              mgr.GetLogger().WithName("metrics"),
	})
	if opts.MetricsAddr != "0" {
		// Registered while the manager runs, on the registry its /metrics
		// serves.
		if err := mgr.Add(m.Runnable(ctrlmetrics.Registry)); err != nil {
			return nil, err
		}
	}
	// Events are counted (rollout_events_total), then announced
	// (notifications).
	events, err := eventrecorder.ForManager(mgr, "switchyard")
	if err != nil {
		return nil, err
	}
	recorder, err := notifier(mgr, m.CountEvents(events), opts.Notifications)
	if err != nil {
		return nil, err
	}
	r := &rollout.Reconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                recorder,
		Clock:                   clk,
		MaxConcurrentReconciles: opts.RolloutThreads,
		AnalysisServed:          analysisServed,
		ExperimentServed:        experimentServed,
		// Serving some namespaces, the controller may not read cluster-scoped
		// templates (namespace-install.yaml grants no such access).
		ClusterTemplates: len(opts.Namespaces) == 0,
		Metrics:          m,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up rollout controller: %w", err)
	}
	ar := &analysis.Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  recorder,
		Clock:     clk,
		Providers: map[string]provider.Provider{
			provider.Prometheus: prometheus.New(os.Getenv(prometheus.AddressEnv)),
			provider.Web:        web.New(),
			provider.Job:        job.New(mgr.GetClient(), mgr.GetAPIReader()),
		},
		MaxConcurrentReconciles: opts.AnalysisThreads,
		Metrics:                 m,
	}
	if ar.MaxConcurrentReconciles == 0 {
		ar.MaxConcurrentReconciles = analysis.DefaultThreads
	}
	if analysisServed {
		if err := ar.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("set up analysisrun controller: %w", err)
		}
	} else {
		mgr.GetLogger().Error(nil, "the AnalysisRun CRD is not installed (kubectl apply -k config/crd): AnalysisRuns are not reconciled")
	}
	er := &experiment.Reconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                recorder,
		Clock:                   clk,
		MaxConcurrentReconciles: opts.ExperimentThreads,
		Metrics:                 m,
	}
	if er.MaxConcurrentReconciles == 0 {
		er.MaxConcurrentReconciles = experiment.DefaultThreads
	}
	if experimentServed {
		if err := er.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("set up experiment controller: %w", err)
		}
	} else {
		mgr.GetLogger().Error(nil, "the Experiment or AnalysisRun CRD is not installed (kubectl apply -k config/crd): Experiments are not reconciled")
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

// notifier returns the event recorder of the reconcilers that record events
// on Rollouts: with notifications on, one that also queues each event's
// notification for a Notifier the manager runs.
func notifier(mgr ctrl.Manager, base events.EventRecorder, opts notifications.Options) (events.EventRecorder, error) {
	if opts.Namespace == "" {
		return base, nil
	}
	m, err := notifications.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return nil, fmt.Errorf("register notification metrics: %w", err)
	}
	opts.Reader, opts.Client, opts.Recorder, opts.Metrics = mgr.GetAPIReader(), mgr.GetClient(), base, m
	opts.Log = mgr.GetLogger().WithName("notifications")
	n := notifications.New(opts)
	if err := mgr.Add(n); err != nil {
		return nil, fmt.Errorf("add notifier: %w", err)
	}
	return notifications.Recorder{EventRecorder: base, Notifier: n}, nil
}

func ptrDuration(d time.Duration) *time.Duration { return &d }

// served reports whether the API server serves resource in argoproj.io/v1alpha1.
func served(cfg *rest.Config, resource string) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, err
	}
	list, err := dc.ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discover %s: %w", v1alpha1.GroupVersion, err)
	}
	for _, r := range list.APIResources {
		if r.Name == resource {
			return true, nil
		}
	}
	return false, nil
}

// ParseNamespaces reads the --namespace flag: namespace names separated by
// commas ("" for all namespaces). A name that cannot be a namespace, or one
// given twice, is an error.
func ParseNamespaces(flag string) ([]string, error) {
	if strings.TrimSpace(flag) == "" {
		return nil, nil
	}
	var out []string
	for _, ns := range strings.Split(flag, ",") {
		ns = strings.TrimSpace(ns)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
		}
		if slices.Contains(out, ns) {
			return nil, fmt.Errorf("namespace %q given twice", ns)
		}
		out = append(out, ns)
	}
	return out, nil
}
