// Command sandbox brings up the seed's world in miniature: the local cluster
// with its subnettype=private node group, Switchyard installed into
// `default` from config/ (as the seed installs Argo Rollouts), a local OCI
// registry holding backend:latest, the image updater watching that tag, and
// the seed's two Rollouts applied verbatim with their image pointed at the
// local registry by a kustomize overlay.
//
//	sandbox up           build, start everything, wait until the Rollouts are Healthy
//	sandbox push         push a new build under the same backend:latest tag
//	sandbox metric bad   make the error ratio Prometheus reports fail the analysis
//	sandbox metric good  make it pass again
//	sandbox down         stop everything it started and remove its state
//
// It also runs Prometheus and a one-gauge exporter it scrapes, for the
// analysis step of a third Rollout, backend-analysis. Kubernetes, the
// registry and Prometheus are built from Go modules (hack/localcluster,
// hack/registry, hack/prometheus) the first time; go and kubectl are all it
// needs on PATH.
//
// State lives in .sandbox/ (SANDBOX_DIR overrides it), the binaries it
// builds in bin/ (SANDBOX_BIN).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 2 || len(os.Args) > 3 || (len(os.Args) == 3) != (os.Args[1] == "metric") {
		return errors.New("usage: sandbox up|push|metric good|metric bad|down")
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	dir := os.Getenv("SANDBOX_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".sandbox")
	}
	bin := os.Getenv("SANDBOX_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin")
	}
	s := &sandbox{root: root, dir: dir, bin: bin}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	switch os.Args[1] {
	case "up":
		ctx, cancel := context.WithTimeout(ctx, 45*time.Minute)
		defer cancel()
		return s.up(ctx)
	case "push":
		return s.push(ctx)
	case "metric":
		return s.setMetric(ctx, os.Args[2])
	case "exporter":
		// Run detached by up; not meant to be typed.
		return s.exporter()
	case "down":
		return s.down()
	default:
		return fmt.Errorf("unknown command %q: want up, push or down", os.Args[1])
	}
}
