package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// KubernetesVersion is the version of the components built from k8s.io/kubernetes.
const KubernetesVersion = "v1.37.2"

// components are the mains of hack/localcluster, built into one cache directory.
var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// RepoRoot finds the Switchyard checkout from the working directory upwards,
// so the helper works from any test package and from the CLI.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "localcluster", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no hack/localcluster/go.mod above the working directory")
		}
		dir = parent
	}
}

// Binaries builds the control-plane components once and returns the directory
// holding them. The cache key is a hash of hack/localcluster's sources, so a
// changed go.mod or main rebuilds, and repeated starts (from any clone) reuse
// the binaries.
func Binaries(ctx context.Context, log io.Writer) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	module := filepath.Join(root, "hack", "localcluster")
	key, err := sourceHash(module)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", module, err)
	}
	cache := os.Getenv("LOCALCLUSTER_CACHE")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(base, "switchyard", "localcluster")
	}
	dir := filepath.Join(cache, key)
	if complete(dir) {
		return dir, nil
	}
	// Test packages start in parallel: one builds, the others wait for it.
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cache, key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // released on close anyway
	if complete(dir) {
		return dir, nil
	}

	fmt.Fprintf(log, "building kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok %s into %s (about 15 minutes the first time)\n", KubernetesVersion, dir)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	ldflags := versionLDFlags()
	build := exec.CommandContext(ctx, "go", "build", "-ldflags", ldflags, "-o", tmp+string(filepath.Separator), "./cmd/...")
	build.Dir = module
	build.Stdout, build.Stderr = log, log
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build local cluster components: %w", err)
	}
	// kwok ships its node stages in its module; copy the ones we use next to
	// the binaries so starting a cluster needs no go command.
	list := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok")
	list.Dir = module
	out, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("locate kwok module: %w", err)
	}
	kwokDir := strings.TrimSpace(string(out))
	for _, f := range []string{"node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"} {
		data, err := os.ReadFile(filepath.Join(kwokDir, "kustomize", "stage", f))
		if err != nil {
			return "", fmt.Errorf("read kwok stage: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f)), data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

func complete(dir string) bool {
	for _, c := range append(components, "node-initialize.yaml", "node-heartbeat-with-lease.yaml") {
		if _, err := os.Stat(filepath.Join(dir, c)); err != nil {
			return false
		}
	}
	return true
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

func sourceHash(module string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(module, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "go.mod") && !strings.HasSuffix(path, "go.sum") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(module, path)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
