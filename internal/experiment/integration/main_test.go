// Package integration runs the Experiment controller, as the manager ships
// it (with the AnalysisRun controller beside it), against a real API server
// with the ReplicaSet controller and simulated nodes (test/cluster): pods
// come up, analyses measure through the web provider against servers the
// tests start. The controller runs with the permissions of
// config/rbac/role.yaml only.
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
)

var (
	env       *cluster.Cluster
	k8sClient client.Client
	// logs is everything the controller logged, at every verbosity.
	logs = &syncbuf.Buffer{}
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(runner{m}, &env)) }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	cancel, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "experiment integration setup: %v\n", err)
		return 1
	}
	defer cancel()
	return r.m.Run()
}

func setup() (context.CancelFunc, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, err
	}
	bases := filepath.Join(root, "config", "crd", "bases")
	var paths []string
	for _, f := range []string{"argoproj.io_rollouts.yaml", "argoproj.io_analysisruns.yaml", "argoproj.io_analysistemplates.yaml", "argoproj.io_clusteranalysistemplates.yaml", "argoproj.io_experiments.yaml"} {
		paths = append(paths, filepath.Join(bases, f))
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}); err != nil {
		return nil, fmt.Errorf("install CRDs: %w", err)
	}
	if k8sClient, err = client.New(env.RESTConfig, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	cfg, err := controllerIdentity(root)
	if err != nil {
		return nil, err
	}
	ctrl.SetLogger(funcr.New(func(prefix, args string) {
		fmt.Fprintf(logs, "%s %s\n", prefix, args)
	}, funcr.Options{Verbosity: 10}))
	mgr, err := manager.New(cfg, manager.Options{MetricsAddr: "0", HealthAddr: "0"})
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
// RBAC markers) to a user and returns that user's config, so a missing
// marker fails these tests.
func controllerIdentity(root string) (*rest.Config, error) {
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	role, err := cluster.ClusterRoleOf(data)
	if err != nil {
		return nil, fmt.Errorf("role.yaml: %w", err)
	}
	return env.UserBoundTo(context.Background(), "switchyard-experiment-test", role)
}
