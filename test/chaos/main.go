// Command chaos proves Switchyard's safety promises under faults, on a
// local cluster (real control plane, pods simulated by kwok) with
// kube-apiserver's audit log on. It runs one fault kind after another,
// each in a namespace of its own, over a fleet of seven Rollouts (the two
// seed manifests of examples/ and variants of each strategy):
//
//   - controller-kill: updates while the controller is SIGKILLed again and
//     again (at random moments and right after its writes) and restarted;
//   - leader-failover: two replicas under leader election (short Lease
//     timings), each with its own client identity, the leader killed again
//     and again;
//   - apiserver-restart: kube-apiserver killed and started again while
//     updates are in flight, the controller under leader election.
//
// The harness drives the updates (a new image, `kubectl argo rollouts
// promote` at every indefinite pause, the next image once the Rollout is at
// its intended state), records every committed state of the namespace
// (test/history) and checks each (test/invariant): production Services
// never without a ready endpoint, pods within maxSurge and maxUnavailable,
// one ReplicaSet per template, no stable pod lost; every update reaches its
// intended state within a bound; and, from the audit log, no replica
// writes while another holds the Lease.
//
//	go run ./test/chaos              # the full run: 100 updates under kills, 40 under failovers, 28 under apiserver restarts
//	go run ./test/chaos -short       # what CI runs (TestChaosShort): 7 updates per fault kind
//	go run ./test/chaos -seed N      # replay a run's random choices
//
// The table goes to standard output, everything to chaos-results/<timestamp>.json
// (controller logs next to it); the exit status is 1 if any check failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

func main() {
	short := flag.Bool("short", false, "the short run CI does: 7 updates per fault kind")
	seed := flag.Int64("seed", 0, "seed of the random choices (default: the clock)")
	out := flag.String("out", "chaos-results", "directory for the JSON report and the controllers' logs")
	only := flag.String("faults", strings.Join(faults, ","), "fault kinds to run, comma-separated")
	updates := flag.Int("updates", 0, "updates under controller kills (default 100, -short 7)")
	flag.Parse()
	cfg := fullConfig()
	if *short {
		cfg = shortConfig()
	}
	cfg.Seed, cfg.Out = *seed, *out
	cfg.Faults = strings.Split(*only, ",")
	if *updates > 0 {
		cfg.KillUpdates = *updates
	}
	quiet()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runLocal(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		os.Exit(1)
	}
	if res.Violations > 0 {
		os.Exit(1)
	}
}

// quiet silences the client libraries' logs (watches broken by the faults
// are expected); progress goes to standard error through logf.
func quiet() {
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())
}

// logf reports progress on standard error; the table goes to standard output.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// runLocal starts a local cluster with the audit log on and runs.
func runLocal(ctx context.Context, cfg config) (*results, error) {
	logf("starting a local cluster (audit log on)")
	dir, err := os.MkdirTemp("", "chaos-cluster-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	c, err := cluster.Start(ctx, cluster.Options{Dir: dir, AuditLog: true, Log: os.Stderr})
	if err != nil {
		return nil, fmt.Errorf("start local cluster: %w", err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			logf("stop local cluster: %v", err)
		}
	}()
	res, err := runAll(ctx, cfg, c, os.Stdout)
	if res != nil && (res.Violations > 0 || err != nil) {
		// What kube-controller-manager, kwok and kube-apiserver did is
		// half of the story of a Rollout that did not converge.
		keepComponentLogs(filepath.Join(dir, "logs"), res.logsDir)
	}
	return res, err
}

// keepComponentLogs copies the cluster components' logs into the run's log
// directory (best effort: the report is written already).
func keepComponentLogs(from, to string) {
	entries, err := os.ReadDir(from)
	if err != nil {
		logf("keep component logs: %v", err)
		return
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(to, "cluster-"+e.Name()), data, 0o644)
		}
		if err != nil {
			logf("keep component logs: %v", err)
		}
	}
	logf("cluster component logs kept in %s", to)
}

// runAll does every configured fault kind on cluster c, prints the tables to
// w and writes the JSON report (and the controllers' logs) under cfg.Out.
func runAll(ctx context.Context, cfg config, c *cluster.Cluster, w io.Writer) (*results, error) {
	res := newResults(cfg)
	stamp := res.Started.Format("20060102-150405")
	logs := filepath.Join(cfg.Out, stamp+"-logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	res.logsDir = logs
	h, err := newHarness(ctx, cfg, c, logs)
	if err != nil {
		return nil, err
	}
	defer h.close()
	res.Config = h.cfg
	res.Cluster = fmt.Sprintf("local cluster (Kubernetes %s, kwok nodes), started in %s", cluster.KubernetesVersion, c.StartupTime.Round(100*time.Millisecond))
	var errs []error
	for _, f := range cfg.Faults {
		one, err := h.runFault(ctx, f)
		if one != nil {
			res.add(one)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Seconds = time.Since(res.Started).Seconds()
	runErr := errors.Join(errs...)
	if runErr != nil {
		res.Error = runErr.Error()
	}
	path := filepath.Join(cfg.Out, stamp+".json")
	if err := res.write(path); err != nil {
		return res, errors.Join(runErr, err)
	}
	res.print(w)
	fmt.Fprintf(w, "\nJSON: %s (run took %s; controller logs in %s)\n", path, time.Since(res.Started).Round(time.Second), logs)
	return res, runErr
}
