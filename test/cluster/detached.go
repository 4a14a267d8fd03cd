package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A detached cluster outlives the command that started it (the sandbox, make
// cluster-up). Its state directory holds a stable kubeconfig path and a
// pointer to the data directory, so Down can stop it by PID later.
const (
	kubeconfigFile = "kubeconfig"
	currentFile    = "current"
)

// KubeconfigPath is where Up writes the kubeconfig of the cluster in stateDir.
func KubeconfigPath(stateDir string) string { return filepath.Join(stateDir, kubeconfigFile) }

// Up stops any cluster recorded in stateDir (or the remains of a crashed
// one), starts a detached cluster with its data in a new temporary
// directory, and copies its kubeconfig to KubeconfigPath(stateDir).
func Up(ctx context.Context, stateDir string, opts Options) (*Cluster, error) {
	if err := Down(stateDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "localcluster-")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(stateDir, currentFile), []byte(dir), 0o644); err != nil {
		return nil, err
	}
	opts.Dir, opts.Detach = dir, true
	c, err := Start(ctx, opts)
	if err != nil {
		// Stop what did start; keep the logs for whoever reads the error.
		_ = KillDir(dir)
		_ = os.Remove(filepath.Join(stateDir, currentFile))
		return nil, err
	}
	data, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(KubeconfigPath(stateDir), data, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// Down stops the detached cluster recorded in stateDir, if any, and removes
// its data. Nothing recorded is not an error.
func Down(stateDir string) error {
	current := filepath.Join(stateDir, currentFile)
	data, err := os.ReadFile(current)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if dir := strings.TrimSpace(string(data)); dir != "" {
		if err := StopDir(dir); err != nil {
			return fmt.Errorf("stop cluster in %s: %w", dir, err)
		}
	}
	_ = os.Remove(KubeconfigPath(stateDir))
	return os.Remove(current)
}
