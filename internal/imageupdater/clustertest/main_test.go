// Package clustertest runs the image updater's reconciler in a
// controller-runtime manager against a real kube-apiserver (test/cluster),
// with a real registry (test/registry) and a real git server
// (test/gitserver). It is a package of its own so the image updater's pure
// tests do not start a cluster.
package clustertest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater"
	"github.com/switchyard-dev/switchyard/test/argocd"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
	"github.com/switchyard-dev/switchyard/test/tools"
)

var (
	env       *cluster.Cluster
	k8sClient client.Client
	// argoCDMissing says why Argo CD's Application CRD is not installed
	// (its module could not be downloaded); nil when it is.
	argoCDMissing error
	// logs collects everything the manager and the reconciler log, to check
	// that no credential reaches a log line.
	logs = &syncbuf.Buffer{}
	// caDir is the image updater's registry CA directory (argocd-image-
	// updater's /app/config/tls): tests write their registry's CA there.
	caDir string
)

// appInterval is the --interval of argocd-image-updater ImageUpdaters.
const appInterval = 2 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("clustertest: skipping the tests that need a local cluster in -short mode")
		os.Exit(0)
	}
	os.Exit(cluster.Main(runner{m}, &env))
}

type runner struct{ m *testing.M }

func (r runner) Run() int {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "clustertest setup: %v\n", err)
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
	// Argo CD's own Application CRD, so the tests write only what Argo CD
	// accepts. Without it (no Go module proxy to fetch Argo CD's module
	// from), the tests that need it skip or fail (requireArgoCD).
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
			filepath.Join(root, "config", "crd", "bases", "argoproj.io_rollouts.yaml"),
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
	// grant, so a missing marker fails these tests.
	cfg, err := controllerIdentity(root)
	if err != nil {
		return err
	}

	logger := funcr.New(func(prefix, args string) {
		fmt.Fprintf(logs, "%s %s\n", prefix, args)
	}, funcr.Options{Verbosity: 10})
	// client-go and controller-runtime log through the global logger too.
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
	if caDir, err = os.MkdirTemp("", "registry-ca-"); err != nil {
		return err
	}
	r := &imageupdater.Reconciler{
		Client: mgr.GetClient(),
		// Short enough for tests to see several polls in a few seconds.
		MinInterval:   time.Second,
		MaxBackoff:    2 * time.Second,
		RegistryCADir: caDir,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&imageupdater.AppReconciler{Reconciler: r, Interval: appInterval}).SetupWithManager(mgr); err != nil {
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

// controllerIdentity creates a user bound to the image updater's generated
// ClusterRole (config/rbac/image_updater_role.yaml, from the RBAC markers of
// the packages cmd/image-updater links), and returns a config
// authenticating as it.
func controllerIdentity(root string) (*rest.Config, error) {
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "image_updater_role.yaml"))
	if err != nil {
		return nil, err
	}
	role, err := cluster.ClusterRoleOf(data)
	if err != nil {
		return nil, fmt.Errorf("image_updater_role.yaml: %w", err)
	}
	return env.UserBoundTo(context.Background(), "switchyard-image-updater", role)
}

// requireArgoCD skips t, or fails it where tools are required, when Argo
// CD's Application CRD could not be installed.
func requireArgoCD(t *testing.T) {
	t.Helper()
	if argoCDMissing != nil {
		tools.Missing(t, "Argo CD's Application CRD: %v", argoCDMissing)
	}
}

// newNamespace creates a namespace for one test and a gomega with the
// suite's timeouts.
func newNamespace(t *testing.T) (string, *WithT) {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(time.Minute)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	g.SetDefaultConsistentlyDuration(3 * time.Second)
	g.SetDefaultConsistentlyPollingInterval(200 * time.Millisecond)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "imageupdater-"}}
	g.Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return ns.Name, g
}
