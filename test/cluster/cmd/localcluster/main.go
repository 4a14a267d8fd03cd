// Command localcluster runs a local Kubernetes cluster for Switchyard's
// sandbox, tests and benchmark: a real control plane with kwok-simulated nodes.
//
//	localcluster up    build once, start, wait until ready, print KUBECONFIG
//	localcluster down  stop every process by PID and remove the data
//	localcluster env   print the export line for the running cluster
//	localcluster kubeconfig  print the kubeconfig path
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: localcluster up|down|env|kubeconfig [flags]")
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	stateDir := filepath.Join(root, ".localcluster")
	kubeconfig := filepath.Join(stateDir, "kubeconfig")
	current := filepath.Join(stateDir, "current")

	switch args[0] {
	case "up":
		fs := flag.NewFlagSet("up", flag.ExitOnError)
		opts := cluster.Options{Detach: true, Log: os.Stderr}
		fs.DurationVar(&opts.ReadyDelay, "ready-delay", time.Second, "time a simulated pod stays Running before it becomes Ready")
		fs.IntVar(&opts.PrivateNodes, "private-nodes", 4, "nodes in the subnettype=private group (labelled and tainted)")
		fs.IntVar(&opts.DefaultNodes, "default-nodes", 2, "untainted nodes")
		fs.IntVar(&opts.PodsPerNode, "pods-per-node", 500, "pod capacity of each node")
		fs.BoolVar(&opts.AuditLog, "audit-log", false, "write kube-apiserver's audit log to <data dir>/audit.log")
		_ = fs.Parse(args[1:])

		// A previous cluster, or the remains of a crashed "up", goes first.
		if err := stopCurrent(current); err != nil {
			return err
		}
		if err := os.MkdirAll(stateDir, 0o755); err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "localcluster-")
		if err != nil {
			return err
		}
		opts.Dir = dir
		if err := os.WriteFile(current, []byte(dir), 0o644); err != nil {
			return err
		}
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		c, err := cluster.Start(ctx, opts)
		if err != nil {
			// Stop what did start, keep the logs for the error's reader.
			_ = cluster.KillDir(dir)
			_ = os.Remove(current)
			return err
		}
		data, err := os.ReadFile(c.Kubeconfig)
		if err != nil {
			return err
		}
		if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "local cluster ready in %s (data in %s)\n", c.StartupTime.Round(100*time.Millisecond), dir)
		fmt.Printf("export KUBECONFIG=%s\n", kubeconfig)
		return nil
	case "down":
		if err := stopCurrent(current); err != nil {
			return err
		}
		_ = os.Remove(kubeconfig)
		fmt.Fprintln(os.Stderr, "local cluster stopped")
		return nil
	case "env":
		if _, err := os.Stat(kubeconfig); err != nil {
			return errors.New("no local cluster is running: run 'make cluster-up'")
		}
		fmt.Printf("export KUBECONFIG=%s\n", kubeconfig)
		return nil
	case "kubeconfig":
		fmt.Println(kubeconfig)
		return nil
	default:
		return fmt.Errorf("unknown command %q: want up, down, env or kubeconfig", args[0])
	}
}

func stopCurrent(current string) error {
	data, err := os.ReadFile(current)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if dir := strings.TrimSpace(string(data)); dir != "" {
		if err := cluster.StopDir(dir); err != nil {
			return fmt.Errorf("stop previous cluster in %s: %w", dir, err)
		}
	}
	return os.Remove(current)
}
