// Package clustertest runs the traffic routers against a real
// kube-apiserver (test/cluster), with the real CRDs of the Gateway API and
// Istio taken from those projects' own Go modules, and with exactly the
// permissions the routers' RBAC markers grant. One cluster serves the
// package; every test has its own namespace.
package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/routercrds"
)

var (
	env *cluster.Cluster
	// admin sets up and inspects; routers act as the controller's identity.
	admin, controller client.Client
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(runner{m}, &env)) }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "trafficrouting clustertest setup: %v\n", err)
		return 1
	}
	return r.m.Run()
}

func scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

func setup() error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	s, err := scheme()
	if err != nil {
		return err
	}
	crds, err := routercrds.All(root)
	if err != nil {
		return err
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(root, "config", "crd", "bases", "argoproj.io_rollouts.yaml")},
		CRDs:               crds,
		ErrorIfPathMissing: true,
	}); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	if admin, err = client.New(env.RESTConfig, client.Options{Scheme: s}); err != nil {
		return err
	}
	cfg, err := controllerIdentity(root)
	if err != nil {
		return err
	}
	controller, err = client.New(cfg, client.Options{Scheme: s})
	return err
}

// controllerIdentity creates a user bound to the ClusterRole controller-gen
// generates from the routers' RBAC markers and returns a config for it: a
// missing marker fails these tests.
func controllerIdentity(root string) (*rest.Config, error) {
	const user = "switchyard-traffic-routers"
	gen := exec.Command("go", "tool", "controller-gen", "rbac:roleName="+user,
		"paths=./internal/trafficrouting/...", "output:rbac:stdout")
	gen.Dir = root
	var stderr bytes.Buffer
	gen.Stderr = &stderr
	out, err := gen.Output()
	if err != nil {
		return nil, fmt.Errorf("controller-gen rbac: %w\n%s", err, stderr.String())
	}
	role, err := cluster.ClusterRoleOf(out)
	if err != nil {
		return nil, fmt.Errorf("controller-gen rbac: %w", err)
	}
	return env.UserBoundTo(context.Background(), user, role)
}

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) (string, *WithT) {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(30 * time.Second)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "traffic-"}}
	g.Expect(admin.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = admin.Delete(context.Background(), ns) })
	return ns.Name, g
}
