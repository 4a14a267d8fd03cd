// Package sidemodule builds the programs that tests, the local cluster and
// the sandbox run from Go modules rather than from system packages:
// Kubernetes (hack/localcluster), the CNCF distribution registry
// (hack/registry) and Prometheus (hack/prometheus). Each lives in a side
// module, a go.mod of its own that pins the upstream release, so that its
// dependencies stay out of Switchyard's go.mod. A side module is built once
// into a cache directory keyed by a hash of its sources: a changed go.mod or
// main rebuilds, and every later use (from any test package or clone) finds
// the binaries there.
package sidemodule

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

// RepoRoot finds the Switchyard checkout from the working directory upwards,
// so the helpers work from any test package and from the CLI.
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

// Module is a side module and what to build from it.
type Module struct {
	// Dir is the module's directory below the repository root, e.g.
	// "hack/registry".
	Dir string
	// Packages are the packages to build, relative to Dir ("./cmd/...").
	Packages []string
	// Tags and LDFlags are passed to go build.
	Tags, LDFlags string
	// Outputs are the files a complete build leaves in the directory: the
	// binaries, and whatever Extra writes.
	Outputs []string
	// What names the programs for the log line announcing a build, with how
	// long it takes ("the distribution registry (about a minute)").
	What string
	// CacheEnv, when set in the environment, is the cache directory;
	// otherwise it is <user cache dir>/switchyard/<base name of Dir>.
	CacheEnv string
	// Extra, if set, runs after the build with the module's directory and
	// the directory being filled (e.g. to copy data files from a module).
	Extra func(ctx context.Context, moduleDir, out string) error
}

// Build builds m once and returns the directory holding its outputs.
// Callers in parallel (test packages start together) wait for one build.
func Build(ctx context.Context, log io.Writer, m Module) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	module := filepath.Join(root, m.Dir)
	key, err := sourceHash(module)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", module, err)
	}
	cache := ""
	if m.CacheEnv != "" {
		cache = os.Getenv(m.CacheEnv)
	}
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(base, "switchyard", filepath.Base(m.Dir))
	}
	dir := filepath.Join(cache, key)
	if complete(dir, m.Outputs) {
		return dir, nil
	}
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
	if complete(dir, m.Outputs) {
		return dir, nil
	}

	fmt.Fprintf(log, "building %s from %s into %s\n", m.What, m.Dir, dir)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	args := []string{"build", "-o", tmp + string(filepath.Separator)}
	if m.Tags != "" {
		args = append(args, "-tags", m.Tags)
	}
	if m.LDFlags != "" {
		args = append(args, "-ldflags", m.LDFlags)
	}
	build := Command(ctx, module, "go", append(args, m.Packages...)...)
	build.Stdout, build.Stderr = log, log
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build %s (go build in %s; the first build needs the Go module proxy): %w", m.What, m.Dir, err)
	}
	if m.Extra != nil {
		if err := m.Extra(ctx, module, tmp); err != nil {
			return "", err
		}
	}
	if !complete(tmp, m.Outputs) {
		return "", fmt.Errorf("build %s: %s lacks one of %s", m.What, tmp, strings.Join(m.Outputs, ", "))
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// Command is a go command run in a side module's directory: the module is
// one of its own, so no workspace applies to it.
func Command(ctx context.Context, moduleDir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	return cmd
}

func complete(dir string, outputs []string) bool {
	for _, o := range outputs {
		if _, err := os.Stat(filepath.Join(dir, o)); err != nil {
			return false
		}
	}
	return true
}

// sourceHash hashes the module's Go sources, go.mod and go.sum.
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
