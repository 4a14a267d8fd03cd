// Command image-updater runs only the Switchyard image updater: the
// controller of images.switchyard.dev ImageUpdaters and of
// argocd-image-updater.argoproj.io ImageUpdaters (argocd-image-updater's
// API, with the Application annotations it reads), which polls registries
// and writes new image digests or tags to git, an Argo CD Application or a
// workload. It runs apart from the Rollout controller, under its own
// ServiceAccount and ClusterRole (config/rbac/image_updater_role.yaml).
package main

import (
	"flag"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/buildinfo"
	"github.com/switchyard-dev/switchyard/internal/imageupdater"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registriesconf"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
)

func main() {
	var (
		metricsAddr, healthAddr, namespace, ambientNamespaces, registryCADir string
		leaderElect, crossNamespace                                          bool
		interval                                                             time.Duration
	)
	// --kubeconfig is registered by controller-runtime and read by ctrl.GetConfig.
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8090", "address of the /metrics endpoint (\"0\" disables it)")
	flag.StringVar(&healthAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints (\"0\" disables them)")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader so only one replica polls and writes back")
	flag.StringVar(&namespace, "namespace", "", "watch ImageUpdaters in this namespace only (default: all namespaces)")
	flag.BoolVar(&crossNamespace, "allow-cross-namespace-refs", false, "let an ImageUpdater patch an Argo CD Application in another namespace")
	flag.StringVar(&ambientNamespaces, strings.TrimPrefix(registry.AmbientNamespacesFlag, "--"), "",
		"comma-separated namespaces whose ImageUpdaters may use the image updater's own registry credentials (its cloud identity, e.g. ECR through IRSA); \"*\" for all (default: none)")
	flag.DurationVar(&interval, "interval", imageupdater.DefaultAppInterval, "how often an argocd-image-updater.argoproj.io ImageUpdater is checked (argocd-image-updater's --interval)")
	flag.StringVar(&registryCADir, "registry-ca-dir", "/app/config/tls", "directory of PEM CA files named after registry hosts (host[:port]), trusted for images that name no CA of their own")
	printVersion := flag.Bool("version", false, "print the version and commit, and exit")
	var hook webhook.Options
	hook.BindFlags(flag.CommandLine)
	registriesConfPath := flag.String("registries-conf-path", "",
		"argocd-image-updater's registries.conf (mounted from the ConfigMap argocd-image-updater-config); its credentials are the image updater's own, like its cloud identity (see "+registry.AmbientNamespacesFlag+"); read once at start, a missing file is none")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *printVersion {
		buildinfo.Get().Print(os.Stdout, "image-updater", false)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	ambient, err := registry.ParseAmbientNamespaces(ambientNamespaces)
	if err == nil {
		err = hook.Validate()
	}
	if err != nil {
		log.Error(err, "Invalid flag")
		os.Exit(2)
	}
	var registriesConf *registriesconf.Config
	if *registriesConfPath != "" {
		if registriesConf, err = registriesconf.Load(*registriesConfPath); err != nil {
			log.Error(err, "Invalid registries.conf")
			os.Exit(2)
		}
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "Load kubeconfig")
		os.Exit(1)
	}
	cfg.UserAgent = "switchyard-image-updater"

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		log.Error(err, "Build scheme")
		os.Exit(1)
	}
	if err := imagesv1.AddToScheme(scheme); err != nil {
		log.Error(err, "Build scheme")
		os.Exit(1)
	}
	if err := aiuv1.AddToScheme(scheme); err != nil {
		log.Error(err, "Build scheme")
		os.Exit(1)
	}
	opts := ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: healthAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "image-updater.images.switchyard.dev",
	}
	if namespace != "" {
		opts.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}}
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		log.Error(err, "Set up manager")
		os.Exit(1)
	}
	r := &imageupdater.Reconciler{Client: mgr.GetClient(), AllowCrossNamespaceRefs: crossNamespace, AmbientCredentials: ambient, RegistryCADir: registryCADir}
	if registriesConf != nil && len(registriesConf.Registries) > 0 {
		r.Keychain = authn.NewMultiKeychain(
			registriesconf.NewKeychain(registriesConf, mgr.GetAPIReader(), clock.RealClock{}),
			registry.AmbientKeychain(clock.RealClock{}))
	}
	// argocd-image-updater's own API, reconciled by the same engine.
	ar := &imageupdater.AppReconciler{Reconciler: r, Interval: interval}
	if hook.Enabled() {
		// One queue per kind: each feeds its own controller.
		r.Webhook = webhook.NewQueue(nil, hook.Debounce, hook.MaxDelay)
		ar.Webhook = webhook.NewQueue(nil, hook.Debounce, hook.MaxDelay)
	}
	if err := r.SetupWithManager(mgr); err != nil {
		log.Error(err, "Set up image updater")
		os.Exit(1)
	}
	if err := ar.SetupWithManager(mgr); err != nil {
		log.Error(err, "Set up the argocd-image-updater API")
		os.Exit(1)
	}
	if hook.Enabled() {
		if err := mgr.Add(hook.Server(ctrl.Log.WithName("webhook"), r.WebhookTracker(), ar.WebhookTracker())); err != nil {
			log.Error(err, "Set up webhook server")
			os.Exit(1)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		log.Error(err, "Add health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		log.Error(err, "Add ready check")
		os.Exit(1)
	}
	log.Info("Starting image updater", "namespace", namespace, "leaderElect", leaderElect, "ambientCredentialsNamespaces", ambient.String())
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "Run manager")
		os.Exit(1)
	}
}
