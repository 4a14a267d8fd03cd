// Package integration runs the controller, as the manager ships it and with
// the permissions of config/rbac/role.yaml only, against a real API server
// (test/cluster), has a real Prometheus (Debian's prometheus) scrape its
// /metrics every second, and runs the queries an Argo Rollouts dashboard
// runs through Prometheus' HTTP API.
package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/cluster"
)

var (
	env       *cluster.Cluster
	k8sClient client.Client
	root      string
	// metricsAddr is where the controller serves /metrics.
	metricsAddr string
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(runner{m}, &env)) }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	cancel, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "metrics integration setup: %v\n", err)
		return 1
	}
	defer cancel()
	return r.m.Run()
}

func setup() (context.CancelFunc, error) {
	var err error
	if root, err = cluster.RepoRoot(); err != nil {
		return nil, err
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, err
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfPathMissing: true,
	}); err != nil {
		return nil, fmt.Errorf("install CRDs: %w", err)
	}
	if k8sClient, err = client.New(env.RESTConfig, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	cfg, err := controllerIdentity()
	if err != nil {
		return nil, err
	}
	ctrl.SetLogger(logr.Discard())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	metricsAddr = l.Addr().String()
	l.Close()
	mgr, err := manager.New(cfg, manager.Options{MetricsAddr: metricsAddr, HealthAddr: "0"})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		if err := mgr.Start(ctx); err != nil {
			panic(err)
		}
	}()
	return cancel, nil
}

// controllerIdentity binds the committed ClusterRole (generated from the
// RBAC markers) to a user and returns that user's config, so a permission
// the scrape-time listing needs and the role lacks fails these tests.
func controllerIdentity() (*rest.Config, error) {
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	role, err := cluster.ClusterRoleOf(data)
	if err != nil {
		return nil, fmt.Errorf("role.yaml: %w", err)
	}
	return env.UserBoundTo(context.Background(), "switchyard-metrics-test", role)
}
