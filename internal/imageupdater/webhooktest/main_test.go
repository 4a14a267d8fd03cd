// Package webhooktest runs the image updater with its registry webhook
// endpoint and a registries.conf against a real kube-apiserver (test/cluster), a real registry
// whose own notifications are pointed at the endpoint (test/registry) and
// a real git server (test/gitserver). Polling is set to an hour, so only
// the webhook can explain a prompt write-back. It is a package of its own
// because the manager it starts differs from clustertest's (webhook on).
package webhooktest

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-containerregistry/pkg/authn"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registriesconf"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
	"github.com/switchyard-dev/switchyard/test/argocd"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
)

// hookSecret is the distribution webhook's shared secret.
const hookSecret = "distribution-hook-secret-5f1e"

var (
	env       *cluster.Cluster
	k8sClient client.Client
	// hookURL is the webhook endpoint's base URL (http://127.0.0.1:port).
	hookURL string
	// credsFile is what the registries.conf ext: script prints.
	credsFile string
	// caDir is the image updater's registry CA directory (argocd-image-
	// updater's /app/config/tls): tests write their registry's CA there.
	caDir string
	// argoCDMissing says why Argo CD's Application CRD is not installed;
	// nil when it is.
	argoCDMissing error
	logs          = &syncbuf.Buffer{}
)

// allowedNamespace may use the image updater's own credentials (ambient
// and registries.conf).
const allowedNamespace = "conf-allowed"

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("webhooktest: skipping the tests that need a local cluster in -short mode")
		os.Exit(0)
	}
	os.Exit(cluster.Main(runner{m}, &env))
}

type runner struct{ m *testing.M }

func (r runner) Run() int {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "webhooktest setup: %v\n", err)
		return 1
	}
	return r.m.Run()
}

func setup() error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := imagesv1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := aiuv1.AddToScheme(scheme); err != nil {
		return err
	}
	// Argo CD's own Application CRD, for argocd-image-updater's API.
	var crds []*apiextensionsv1.CustomResourceDefinition
	if app, err := argocd.ApplicationCRD(root); err != nil {
		argoCDMissing = err
	} else {
		crds = append(crds, app)
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths: []string{
			filepath.Join(root, "config", "crd", "bases", "images.switchyard.dev_imageupdaters.yaml"),
			filepath.Join(root, "config", "crd", "bases", "argocd-image-updater.argoproj.io_imageupdaters.yaml"),
		},
		CRDs:               crds,
		ErrorIfPathMissing: true,
	}); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	if k8sClient, err = client.New(env.RESTConfig, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	// The controller runs with exactly the permissions its RBAC markers
	// grant.
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "image_updater_role.yaml"))
	if err != nil {
		return err
	}
	role, err := cluster.ClusterRoleOf(data)
	if err != nil {
		return fmt.Errorf("image_updater_role.yaml: %w", err)
	}
	cfg, err := env.UserBoundTo(context.Background(), "switchyard-image-updater", role)
	if err != nil {
		return err
	}

	logger := funcr.New(func(prefix, args string) { fmt.Fprintf(logs, "%s %s\n", prefix, args) }, funcr.Options{Verbosity: 1})
	ctrl.SetLogger(logger)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 logger,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return err
	}
	// registries.conf with one entry for every registry, whose ext:
	// script prints the contents of credsFile.
	dir, err := os.MkdirTemp("", "webhooktest-")
	if err != nil {
		return err
	}
	credsFile = filepath.Join(dir, "creds")
	caDir = filepath.Join(dir, "tls")
	if err := os.Mkdir(caDir, 0o700); err != nil {
		return err
	}
	script := filepath.Join(dir, "login.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec cat "+credsFile+"\n"), 0o700); err != nil {
		return err
	}
	conf, err := registriesconf.Parse([]byte("registries:\n- name: all\n  api_url: https://unused.example\n  credentials: ext:" + script + "\n  credsexpire: 1h\n"))
	if err != nil {
		return err
	}
	ambient, err := registry.ParseAmbientNamespaces(allowedNamespace)
	if err != nil {
		return err
	}
	// As cmd/image-updater wires it, with the default debounce.
	r := &imageupdater.Reconciler{
		Client:  mgr.GetClient(),
		Webhook: webhook.NewQueue(nil, 0, 0),
		Keychain: authn.NewMultiKeychain(
			registriesconf.NewKeychain(conf, mgr.GetAPIReader(), nil),
			registry.AmbientKeychain(clock.RealClock{})),
		AmbientCredentials: ambient,
		RegistryCADir:      caDir,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	// argocd-image-updater's API with its --interval at an hour: only the
	// first check and the webhook can write within a test.
	ar := &imageupdater.AppReconciler{Reconciler: r, Interval: time.Hour, Webhook: webhook.NewQueue(nil, 0, 0)}
	if err := ar.SetupWithManager(mgr); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hookURL = "http://" + l.Addr().String()
	opts := webhook.Options{Secrets: map[webhook.Type]*string{webhook.TypeDistribution: ptr(hookSecret)}, RequireSecret: true}
	srv := opts.Server(logger.WithName("webhook"), r.WebhookTracker(), ar.WebhookTracker())
	srv.Listener = l
	if err := mgr.Add(srv); err != nil {
		return err
	}
	go func() {
		if err := mgr.Start(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "manager: %v\n", err)
			os.Exit(1)
		}
	}()
	return nil
}

func ptr[T any](v T) *T { return &v }
