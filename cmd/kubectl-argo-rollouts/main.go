// Command kubectl-argo-rollouts is the kubectl plugin for Rollouts: put it
// on the PATH and run `kubectl argo rollouts ...`.
package main

import (
	"os"

	"github.com/switchyard-dev/switchyard/internal/plugin"
)

func main() {
	os.Exit(plugin.Main())
}
