// Package cmdtest runs the plugin's commands against a real API server: one
// local cluster (test/cluster) for the whole package, each test in its own
// namespace. No controller runs: tests create Rollouts (and ReplicaSets)
// and write their status themselves, run a command in-process exactly as
// main does, and check the objects' end state, the output and the exit code.
package cmdtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

var env *cluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(cluster.Main(&withCRDs{m}, &env))
}

// withCRDs installs the CRDs once the cluster is up.
type withCRDs struct{ m *testing.M }

func (w *withCRDs) Run() int {
	root, err := cluster.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kubectl := func(ctx context.Context, args ...string) error {
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=" + env.Kubeconfig}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kubectl %v: %w\n%s", args, err, out)
		}
		return nil
	}
	if err := kubectl(ctx, "apply", "-k", filepath.Join(root, "config", "crd")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// kubectl wait fails outright ("status.conditions accessor error")
	// when it reads the CRD before the API server has written any
	// condition, so it is retried until it can wait.
	for _, crd := range []string{"crd/rollouts.argoproj.io", "crd/analysisruns.argoproj.io", "crd/experiments.argoproj.io"} {
		var lastErr error
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			lastErr = kubectl(ctx, "wait", "--for=condition=Established", crd, "--timeout=30s")
			return lastErr == nil, nil
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "wait for %s: %v: %v\n", crd, err, lastErr)
			return 1
		}
	}
	return w.m.Run()
}
