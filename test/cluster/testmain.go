package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// Main starts one cluster for a test package, stores it in *c, runs the
// tests and stops the cluster. Use it from TestMain:
//
//	var env *cluster.Cluster
//	func TestMain(m *testing.M) { os.Exit(cluster.Main(m, &env)) }
//
// m is usually the *testing.M; anything with Run can wrap it to set up more
// once the cluster exists. Set LOCALCLUSTER_LOG=1 to see start-up progress.
func Main(m interface{ Run() int }, c **Cluster) int {
	return MainWith(m, c, Options{})
}

// MainWith is Main with a cluster shaped by opts (e.g. with the audit log).
func MainWith(m interface{ Run() int }, c **Cluster, opts Options) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipped: -short, and every test here needs the local cluster")
		return 0
	}
	if os.Getenv("LOCALCLUSTER_LOG") != "" {
		opts.Log = os.Stderr
	}
	// Building the components from a cold cache takes long; starting is fast.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	cl, err := Start(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start local cluster: %v\n", err)
		return 1
	}
	*c = cl
	code := m.Run()
	if err := cl.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop local cluster: %v\n", err)
	}
	return code
}
