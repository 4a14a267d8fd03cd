package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/tools"
)

// bareTools are the programs a fresh machine with Go, git and kubectl has:
// those three, make, a shell and coreutils. Nothing else is on the PATH the
// test gives `make sandbox`: no C compiler, no registry, no Prometheus.
var (
	bareRequired = []string{"go", "git", "kubectl", "make", "bash"}
	bareBasic    = []string{"sh", "env", "cat", "cp", "mv", "rm", "ln", "ls", "mkdir", "chmod", "touch",
		"uname", "dirname", "basename", "head", "tail", "tr", "sort", "grep", "sed"}
)

// bareEnvironment returns a PATH directory holding links to bareTools only,
// and an environment with that PATH, the user's Go settings and home, and
// nothing that points at a tool (DOCKER_REGISTRY, PROMETHEUS, KUBECONFIG...).
func bareEnvironment(t *testing.T, extra ...string) []string {
	t.Helper()
	bin := t.TempDir()
	for _, tool := range append(slices.Clone(bareRequired), bareBasic...) {
		path, err := exec.LookPath(tool)
		if err != nil {
			if slices.Contains(bareRequired, tool) {
				tools.Missing(t, "%s is not installed: the bare-machine test runs with go, git, kubectl, make and bash", tool)
			}
			continue
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + bin}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", k == "USER", k == "TMPDIR", k == "XDG_CACHE_HOME", k == "LOCALCLUSTER_CACHE":
		case strings.HasPrefix(k, "GO") && k != "GOTOOLCHAIN":
		default:
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// TestBareMachine runs `make sandbox` as on a fresh machine that has only
// Go, git and kubectl, checks that the seed's world is up (the seed
// Rollouts Healthy, the registry serving backend:latest, Prometheus
// answering), then `make sandbox-down`, and checks that everything it
// started has stopped.
func TestBareMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sandbox")
	regAddr, promAddr, expAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	env := bareEnvironment(t,
		// Its own bin/: the README's walkthrough test may run a sandbox
		// from the checkout's bin/ at the same time.
		"SANDBOX_DIR="+dir, "SANDBOX_BIN="+filepath.Join(t.TempDir(), "bin"), "SANDBOX_REGISTRY="+regAddr,
		"SANDBOX_PROMETHEUS="+promAddr, "SANDBOX_EXPORTER="+expAddr)

	runMake := func(ctx context.Context, target string) (string, error) {
		cmd := exec.CommandContext(ctx, "make", target)
		cmd.Path = filepath.Join(strings.TrimPrefix(env[0], "PATH="), "make")
		cmd.Dir = root
		cmd.Env = env
		out := &timedLines{start: time.Now()}
		cmd.Stdout, cmd.Stderr = out, out
		err := cmd.Run()
		return out.String(), err
	}
	down := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if out, err := runMake(ctx, "sandbox-down"); err != nil {
			t.Errorf("make sandbox-down: %v\n%s", err, out)
		}
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			down()
		}
	})

	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Minute)
	defer cancel()
	began := time.Now()
	out, err := runMake(ctx, "sandbox")
	if err != nil {
		t.Fatalf("make sandbox on a bare PATH: %v\n%s", err, out)
	}
	t.Logf("make sandbox on a bare PATH: up in %s\n%s", time.Since(began).Round(time.Second), stepLines(out))

	// The seed's world, seen from outside the sandbox command.
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.KubeconfigPath(filepath.Join(dir, "cluster")))
	if err != nil {
		t.Fatal(err)
	}
	scheme := updaterScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ctrllog.SetLogger(logr.Discard())
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range append(slices.Clone(rollouts), analysisRollout) {
		r := &v1alpha1.Rollout{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ro}, r); err != nil {
			t.Fatalf("rollout %s: %v", ro, err)
		}
		if r.Status.Phase != v1alpha1.RolloutPhaseHealthy {
			t.Errorf("rollout %s is %s (%s), want Healthy", ro, r.Status.Phase, r.Status.Message)
		}
	}
	reg, err := name.NewRegistry(regAddr, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(ctx, reg)
	if err != nil || !slices.Contains(repos, "backend") {
		t.Errorf("registry %s catalog = %v, %v; want backend in it", regAddr, repos, err)
	}
	if v, err := queryRatio(ctx, promAddr); err != nil || v != goodRatio {
		t.Errorf("prometheus %s: backend_error_ratio = %q, %v; want %s", promAddr, v, err, goodRatio)
	}
	pids := readPIDs(t, dir)
	for _, p := range []string{"registry", "prometheus", "exporter", "switchyard", "image-updater"} {
		if _, ok := pids[p]; !ok {
			t.Errorf("state.json names no %s process: %v", p, pids)
		}
	}

	stopped = true
	down()
	for p, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still runs after make sandbox-down", p, pid)
		}
	}
	for _, addr := range []string{regAddr, promAddr, expAddr, strings.TrimPrefix(cfg.Host, "https://")} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after make sandbox-down", addr)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s remains after make sandbox-down (%v)", dir, err)
	}
}

// queryRatio asks Prometheus at addr for the analysis's query, polling
// until it has a sample.
func queryRatio(ctx context.Context, addr string) (string, error) {
	var value string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		value, err = queryPrometheus(ctx, addr, fmt.Sprintf("backend_error_ratio{service=%q}", analysisService))
		return err == nil, nil
	})
	return value, err
}

// timedLines collects output, each line prefixed with the time since start,
// to show where a slow run spent its time.
type timedLines struct {
	mu      sync.Mutex
	start   time.Time
	buf     strings.Builder
	midLine bool
}

func (w *timedLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !w.midLine {
			fmt.Fprintf(&w.buf, "[%6.1fs] ", time.Since(w.start).Seconds())
		}
		w.buf.WriteString(line)
		w.midLine = !strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}

func (w *timedLines) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// stepLines keeps the sandbox's "==> step" lines of out.
func stepLines(out string) string {
	var steps []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "] ==> ") || strings.Contains(l, "] Sandbox ready") {
			steps = append(steps, l)
		}
	}
	return strings.Join(steps, "\n")
}

func readPIDs(t *testing.T, dir string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st.PIDs
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
