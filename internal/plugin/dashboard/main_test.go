package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/dashboard"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
)

var (
	env       *cluster.Cluster
	k8sClient client.Client
	root      string
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(runner{m}, &env)) }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	ctrl.SetLogger(logr.Discard())
	var err error
	if root, err = cluster.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfPathMissing: true,
	}); err != nil {
		fmt.Fprintf(os.Stderr, "install CRDs: %v\n", err)
		return 1
	}
	scheme, err := manager.Scheme()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if k8sClient, err = client.New(env.RESTConfig, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return r.m.Run()
}

// fixture is one test's namespace.
type fixture struct {
	t   *testing.T
	g   *WithT
	ns  string
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(60 * time.Second)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "dashboard-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return &fixture{t: t, g: g, ns: ns.Name, ctx: ctx}
}

// startController runs the Rollout controller, as shipped, for the
// fixture's namespace until the test ends.
func (f *fixture) startController() {
	f.t.Helper()
	mgr, err := manager.New(env.RESTConfig, manager.Options{
		Namespaces:                   []string{f.ns},
		MetricsAddr:                  "0",
		HealthAddr:                   "0",
		SkipControllerNameValidation: true,
	})
	f.g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			f.t.Errorf("controller: %v", err)
		}
	})
}

// factory is the plugin's Factory as `--kubeconfig kubeconfig -n ns` sets it up.
func factory(kubeconfig, ns string) *cli.Factory {
	f := cli.NewFactory(genericiooptions.IOStreams{In: nil, Out: &syncbuf.Buffer{}, ErrOut: &syncbuf.Buffer{}})
	f.ConfigFlags.KubeConfig = &kubeconfig
	f.ConfigFlags.Namespace = &ns
	return f
}

// serve runs the dashboard of namespace show ("" for all) as the user of
// kubeconfig on a loopback port until the test ends, and returns its URL
// and the server.
func (f *fixture) serve(kubeconfig, show string) (string, *dashboard.Server) {
	f.t.Helper()
	s, err := dashboard.NewServer(factory(kubeconfig, f.ns), show, "")
	f.g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	hs := httptest.NewUnstartedServer(s)
	// Ending ctx ends the open event streams, so Close does not wait on them.
	hs.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	hs.Start()
	f.t.Cleanup(func() {
		cancel()
		hs.Close()
		s.Stop()
	})
	return hs.URL, s
}

// nobodyKubeconfig writes a kubeconfig for a user no RBAC rule mentions.
func nobodyKubeconfig(t *testing.T) string {
	t.Helper()
	cfg, err := env.UserConfig("nobody")
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["nobody"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "nobody"}
	kc.CurrentContext = "nobody"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// httpClient talks to the dashboard in tests.
var httpClient = &http.Client{Timeout: 30 * time.Second}
