// Package e2e drives Switchyard end to end on the local cluster: the seed
// manifests applied verbatim with kubectl, the controller run as its real
// binary (one per test namespace, so tests run in parallel and one test may
// kill its controller), and the kubectl plugin invoked through kubectl.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

var (
	env *cluster.Cluster
	// binDir holds the switchyard, image-updater and kubectl-argo-rollouts
	// binaries built for this run; it is put first on PATH for kubectl to
	// find the plugin.
	binDir string
	root   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(logr.Discard())
	var err error
	if root, err = cluster.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if binDir, err = os.MkdirTemp("", "switchyard-e2e-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	build := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/switchyard", "./cmd/image-updater", "./cmd/kubectl-argo-rollouts")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build binaries: %v\n", err)
		return 1
	}
	os.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	return cluster.Main(&setupCRDs{m}, &env)
}

// setupCRDs installs the CRDs from config/ before the tests run, once the
// cluster exists.
type setupCRDs struct{ m *testing.M }

func (s *setupCRDs) Run() int {
	os.Setenv("KUBECONFIG", env.Kubeconfig)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", "apply", "-k", filepath.Join(root, "config", "crd")).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "install CRDs: %v\n%s", err, out)
		return 1
	}
	// kubectl wait fails, rather than waits, while a new CRD has no
	// conditions yet: retry it until the deadline.
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		out, err = exec.CommandContext(ctx, "kubectl", "wait", "--for=condition=Established",
			"crd/rollouts.argoproj.io", "crd/imageupdaters.images.switchyard.dev", "crd/imageupdaters.argocd-image-updater.argoproj.io", "crd/analysisruns.argoproj.io",
			"crd/analysistemplates.argoproj.io", "crd/clusteranalysistemplates.argoproj.io", "crd/experiments.argoproj.io",
			"--timeout=30s").CombinedOutput()
		return err == nil, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "wait for CRDs: %v\n%s", err, out)
		return 1
	}
	return s.m.Run()
}
