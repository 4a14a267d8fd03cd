// Package crdtest checks the Rollout CRD against a real API server (one
// local cluster for the package, a namespace per test): what `kubectl
// apply` of a manifest would meet, which offline schema checks in
// api/v1alpha1 only approximate.
package crdtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

var env *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(withCRD{m}, &env)) }

// withCRD installs the generated Rollout CRD once the cluster is up.
type withCRD struct{ m *testing.M }

func (w withCRD) Run() int {
	root, err := cluster.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "config", "crd", "bases", "argoproj.io_rollouts.yaml")},
	}); err != nil {
		fmt.Fprintf(os.Stderr, "install the Rollout CRD: %v\n", err)
		return 1
	}
	return w.m.Run()
}
