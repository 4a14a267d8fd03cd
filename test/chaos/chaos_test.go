package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
)

var env *cluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(cluster.MainWith(m, &env, cluster.Options{AuditLog: true}))
}

// TestChaosShort is `make chaos` with fewer updates, what CI runs: every
// fault kind (controller SIGKILLs, leader failovers, kube-apiserver
// restarts) over one update of each Rollout of the fleet, every committed
// state checked, and the faults must really have happened.
func TestChaosShort(t *testing.T) {
	quiet()
	cfg := shortConfig()
	cfg.Out = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var out syncbuf.Buffer
	res, err := runAll(ctx, cfg, env, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != len(faults) {
		t.Fatalf("%d runs, want one per fault kind (%v)", len(res.Runs), faults)
	}
	want := map[string]int{faultKill: cfg.KillUpdates, faultFailover: cfg.FailoverUpdates, faultAPIServer: cfg.APIServerUpdates}
	for _, run := range res.Runs {
		s := run.Summary
		if s.Updates != want[run.Fault] {
			t.Errorf("%s: %d updates reached their intended state, want %d", run.Fault, s.Updates, want[run.Fault])
		}
		if s.UpdatesUnderFault == 0 {
			t.Errorf("%s: no update was in flight during a fault", run.Fault)
		}
		switch run.Fault {
		case faultKill:
			if s.Kills == 0 {
				t.Errorf("%s: the controller was never killed", run.Fault)
			}
		case faultFailover:
			if s.Failovers == 0 || run.LeaderChanges == 0 {
				t.Errorf("%s: %d failovers, the Lease changed hands %d times", run.Fault, s.Failovers, run.LeaderChanges)
			}
			for _, f := range run.Failovers {
				if strings.HasPrefix(f.NewLeader, "none") {
					t.Errorf("%s: no new leader after killing %s at %s", run.Fault, f.Killed, f.At.Format(time.TimeOnly))
				}
			}
		case faultAPIServer:
			if s.APIServerRestarts == 0 {
				t.Errorf("%s: kube-apiserver was never restarted", run.Fault)
			}
		}
		for _, v := range run.Violations {
			t.Errorf("%s: %s", run.Fault, v)
		}
		if s.Violations > 0 || t.Failed() {
			for _, rep := range run.Replicas {
				logTail(t, rep.Log)
			}
		}
	}
}

// logTail logs the end of a controller's log.
func logTail(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	t.Logf("%s (last lines):\n%s", filepath.Base(path), strings.Join(lines[max(0, len(lines)-40):], "\n"))
}
