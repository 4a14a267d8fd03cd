package cluster_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

// TestUpDown: a detached cluster is stopped by PID and its data removed; an
// "up" over the remains of a previous one (as after a crash) replaces it.
func TestUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two more clusters")
	}
	g := NewWithT(t)
	stateDir := t.TempDir()
	ctx := context.Background()

	first, err := cluster.Up(ctx, stateDir, cluster.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	firstPIDs := pids(g, first.Dir)
	g.Expect(firstPIDs).To(HaveLen(5))
	g.Expect(cluster.KubeconfigPath(stateDir)).To(BeARegularFile())

	// No "down": the next "up" must clean up after the first.
	second, err := cluster.Up(ctx, stateDir, cluster.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Dir).NotTo(BeADirectory())
	for name, pid := range firstPIDs {
		g.Expect(alive(pid)).To(BeFalse(), "%s of the first cluster still runs", name)
	}

	secondPIDs := pids(g, second.Dir)
	g.Expect(cluster.Down(stateDir)).To(Succeed())
	g.Expect(second.Dir).NotTo(BeADirectory())
	g.Expect(cluster.KubeconfigPath(stateDir)).NotTo(BeAnExistingFile())
	for name, pid := range secondPIDs {
		g.Eventually(func() bool { return alive(pid) }, 15*time.Second, 100*time.Millisecond).Should(BeFalse(), "%s still runs", name)
	}
	g.Expect(cluster.Down(stateDir)).To(Succeed(), "down with nothing running")
}

func pids(g *WithT, dir string) map[string]int {
	data, err := os.ReadFile(filepath.Join(dir, "localcluster.json"))
	g.Expect(err).NotTo(HaveOccurred())
	var state struct {
		PIDs map[string]int `json:"pids"`
	}
	g.Expect(json.Unmarshal(data, &state)).To(Succeed())
	return state.PIDs
}

// alive reports a running (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the ")" that closes the command name.
	for i := len(stat) - 1; i >= 0; i-- {
		if stat[i] == ')' && i+2 < len(stat) {
			return stat[i+2] != 'Z'
		}
	}
	return true
}

func itoa(i int) string { return strconv.Itoa(i) }
