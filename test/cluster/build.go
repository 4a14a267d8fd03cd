package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/switchyard-dev/switchyard/test/sidemodule"
)

// KubernetesVersion is the version of the components built from k8s.io/kubernetes.
const KubernetesVersion = "v1.37.2"

// components are the mains of hack/localcluster, built into one cache directory.
var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// RepoRoot finds the Switchyard checkout from the working directory upwards.
func RepoRoot() (string, error) { return sidemodule.RepoRoot() }

// Binaries builds the control-plane components from hack/localcluster once
// (sidemodule.Build; LOCALCLUSTER_CACHE overrides the cache directory) and
// returns the directory holding them.
func Binaries(ctx context.Context, log io.Writer) (string, error) {
	return sidemodule.Build(ctx, log, sidemodule.Module{
		Dir:      filepath.Join("hack", "localcluster"),
		Packages: []string{"./cmd/..."},
		LDFlags:  versionLDFlags(),
		Outputs:  append(slices.Clone(components), kwokStages...),
		What:     "kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok " + KubernetesVersion + " (about 15 minutes the first time)",
		CacheEnv: "LOCALCLUSTER_CACHE",
		Extra:    copyKwokStages,
	})
}

// kwokStages are the node stages kwok ships in its module that the
// cluster uses.
var kwokStages = []string{"node-initialize.yaml", "node-heartbeat-with-lease.yaml"}

// copyKwokStages copies kwok's node stages next to the binaries, so that
// starting a cluster needs no go command.
func copyKwokStages(ctx context.Context, module, out string) error {
	list := sidemodule.Command(ctx, module, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok")
	dir, err := list.Output()
	if err != nil {
		return fmt.Errorf("locate kwok module: %w", err)
	}
	kwokDir := strings.TrimSpace(string(dir))
	for _, f := range []string{"node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"} {
		data, err := os.ReadFile(filepath.Join(kwokDir, "kustomize", "stage", f))
		if err != nil {
			return fmt.Errorf("read kwok stage: %w", err)
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// versionLDFlags stamps the version: a plain go build reports v0.0.0-master,
// which clients that parse major/minor reject.
func versionLDFlags() string {
	var flags []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+KubernetesVersion,
			"-X", pkg+".gitMajor=1",
			"-X", pkg+".gitMinor=37",
			"-X", pkg+".gitTreeState=clean",
			"-X", pkg+".gitCommit=localcluster",
			"-X", pkg+".buildDate=1970-01-01T00:00:00Z",
		)
	}
	return strings.Join(flags, " ")
}
