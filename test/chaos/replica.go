package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/ctrlproc"
)

// replica is one controller replica under a supervisor that, like a
// kubelet, starts it again whenever it ends: killed by the harness (after
// the fault's downtime) or exited on its own (after a second).
type replica struct {
	// user is the replica's identity: its client certificate's user, as
	// the audit log names it.
	user       string
	bin        string
	kubeconfig string
	logPath    string
	args       []string

	mu         sync.Mutex
	p          *ctrlproc.Process
	metricsURL string
	killing    bool
	starts     int
	kills      int
	exits      []string
	// down is when the process last ended.
	down time.Time
}

// newReplica issues a client certificate for user and prepares a
// kubeconfig with it in dir.
func newReplica(c *cluster.Cluster, bin, dir, user string, args []string) (*replica, error) {
	cfg, err := c.UserConfig(user, "system:masters")
	if err != nil {
		return nil, fmt.Errorf("client certificate for %s: %w", user, err)
	}
	r := &replica{
		user: user, bin: bin, args: args,
		kubeconfig: filepath.Join(dir, user+".kubeconfig"),
		logPath:    filepath.Join(dir, user+".log"),
	}
	return r, ctrlproc.WriteKubeconfig(r.kubeconfig, cfg)
}

// start runs the controller once and waits for its readiness endpoint.
func (r *replica) start(ctx context.Context) (*ctrlproc.Process, error) {
	ports, err := ctrlproc.FreePorts(2)
	if err != nil {
		return nil, err
	}
	health := fmt.Sprintf("127.0.0.1:%d", ports[0])
	metrics := fmt.Sprintf("127.0.0.1:%d", ports[1])
	args := append([]string{
		"--kubeconfig=" + r.kubeconfig,
		"--health-probe-bind-address=" + health,
		"--metrics-bind-address=" + metrics,
	}, r.args...)
	p, err := ctrlproc.Start(r.bin, args, r.logPath)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.p, r.metricsURL, r.killing = p, "http://"+metrics+"/metrics", false
	r.starts++
	r.mu.Unlock()
	if err := p.WaitReady(ctx, "http://"+health+"/readyz", time.Minute); err != nil {
		return p, err
	}
	return p, nil
}

// supervise keeps the replica running until ctx ends; downtime is how long
// a killed replica stays down.
func (r *replica) supervise(ctx context.Context, downtime func() time.Duration) {
	for ctx.Err() == nil {
		p, err := r.start(ctx)
		if p == nil {
			logf("%s: %v", r.user, err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
			p.Stop(10 * time.Second)
			return
		}
		r.mu.Lock()
		killed := r.killing
		r.down = time.Now()
		if !killed {
			r.exits = append(r.exits, fmt.Sprintf("%s exited on its own at %s: %v", r.user, r.down.Format("15:04:05.000"), p.Err()))
		}
		r.mu.Unlock()
		wait := time.Second
		if killed {
			wait = downtime()
		} else {
			logf("%s exited on its own: %v (restarting it)", r.user, p.Err())
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// kill SIGKILLs the running process; supervise starts it again. It
// reports false if there was nothing running to kill.
func (r *replica) kill() bool {
	r.mu.Lock()
	p := r.p
	if p == nil || p.Alive() != nil || r.killing {
		r.mu.Unlock()
		return false
	}
	r.killing = true
	r.kills++
	r.mu.Unlock()
	p.Kill()
	return true
}

// running reports whether a process is up and not being killed.
func (r *replica) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p != nil && r.p.Alive() == nil && !r.killing
}

// leading reads the replica's leader_election_master_status metric: 1
// while it holds the Lease. A replica that does not answer does not lead.
func (r *replica) leading(ctx context.Context) bool {
	r.mu.Lock()
	url := r.metricsURL
	r.mu.Unlock()
	if url == "" || !r.running() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "leader_election_master_status{") {
			return strings.HasSuffix(line, " 1")
		}
	}
	return false
}

// stats are what the report says of a replica.
func (r *replica) stats() replicaResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return replicaResult{User: r.user, Starts: r.starts, Kills: r.kills, Exits: append([]string(nil), r.exits...), Log: r.logPath}
}

// sleep waits d (a fault's timing, not a synchronisation) or until ctx
// ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
