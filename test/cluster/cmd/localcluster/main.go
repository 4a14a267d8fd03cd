// Command localcluster runs a local Kubernetes cluster for Switchyard's
// sandbox, tests and benchmark: a real control plane with kwok-simulated nodes.
//
//	localcluster up          build once, start, wait until ready, print KUBECONFIG
//	localcluster down        stop every process by PID and remove the data
//	localcluster env         print the export line for the running cluster
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
	kubeconfig := cluster.KubeconfigPath(stateDir)

	switch args[0] {
	case "up":
		fs := flag.NewFlagSet("up", flag.ExitOnError)
		opts := cluster.Options{Log: os.Stderr}
		fs.DurationVar(&opts.ReadyDelay, "ready-delay", time.Second, "time a simulated pod stays Running before it becomes Ready")
		fs.IntVar(&opts.PrivateNodes, "private-nodes", 4, "nodes in the subnettype=private group (labelled and tainted)")
		fs.IntVar(&opts.DefaultNodes, "default-nodes", 2, "untainted nodes")
		fs.IntVar(&opts.PodsPerNode, "pods-per-node", 500, "pod capacity of each node")
		fs.BoolVar(&opts.AuditLog, "audit-log", false, "write kube-apiserver's audit log to <data dir>/audit.log")
		_ = fs.Parse(args[1:])
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		c, err := cluster.Up(ctx, stateDir, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "local cluster ready in %s (data in %s)\n", c.StartupTime.Round(100*time.Millisecond), c.Dir)
		fmt.Printf("export KUBECONFIG=%s\n", kubeconfig)
		return nil
	case "down":
		if err := cluster.Down(stateDir); err != nil {
			return err
		}
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
