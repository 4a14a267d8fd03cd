// Package clustertest installs the Helm chart into a real kube-apiserver
// (one local cluster for the package) with Helm's own install action, as
// `helm install` would: the API server, its admission (Pod Security
// included) and RBAC decide whether the chart works, not a renderer.
package clustertest

import (
	"os"
	"testing"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

var env *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(m, &env)) }
