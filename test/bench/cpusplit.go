package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuSplit is where the machine's CPU went between two instants: how busy
// all its CPUs were, and how much of that each process of the run took.
// It tells whether a phase waited on the controller, on the cluster, or on
// a machine that had nothing left to give.
type cpuSplit struct {
	Seconds float64 `json:"seconds"`
	CPUs    int     `json:"cpus"`
	// Busy is the CPU seconds all processes of the machine used (from
	// /proc/stat), at most Seconds × CPUs.
	Busy float64 `json:"busyCPUSeconds"`
	// ByProcess is the CPU seconds of each process of the run: the
	// controller, the local cluster's processes, the bench itself.
	ByProcess map[string]float64 `json:"byProcess"`
}

// Other is the CPU seconds of everything outside the run (other builds,
// the system).
func (c cpuSplit) Other() float64 {
	o := c.Busy
	for _, v := range c.ByProcess {
		o -= v
	}
	return max(o, 0)
}

// clusterProcesses are the local cluster's processes whose work in a
// fleet phase does not depend on which controller drives it: the same
// pods are scheduled, started and counted, the same objects stored.
var clusterProcesses = []string{"etcd", "kube-controller-manager", "kube-scheduler", "kwok"}

// ClusterCPU is the CPU seconds of clusterProcesses. Over the same phase
// of the fleet's floor it tells how fast the machine ran: on a shared
// machine the same work can take a fifth more CPU in one minute than in
// the next.
func (c cpuSplit) ClusterCPU() float64 {
	var sum float64
	for _, name := range clusterProcesses {
		sum += c.ByProcess[name]
	}
	return sum
}

// BusyFraction is the share of the machine's capacity in use.
func (c cpuSplit) BusyFraction() float64 {
	if c.Seconds <= 0 || c.CPUs == 0 {
		return 0
	}
	return c.Busy / (c.Seconds * float64(c.CPUs))
}

type cpuSample struct {
	at time.Time
	// busy and total are the machine's jiffies as seconds.
	busy, total float64
	procs       map[string]float64
}

// cpuSampler reads the machine's and the named processes' CPU times every
// interval, so that any span of the run can be split afterwards.
type cpuSampler struct {
	mu      sync.Mutex
	pids    map[string]int
	samples []cpuSample
	cancel  context.CancelFunc
	done    chan struct{}
}

func startCPUSampler(interval time.Duration) *cpuSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &cpuSampler{pids: map[string]int{"bench": os.Getpid()}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// track adds (or replaces) a process to sample.
func (s *cpuSampler) track(name string, pid int) {
	if s == nil || pid == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids[name] = pid
}

func (s *cpuSampler) stop() {
	if s == nil {
		return
	}
	s.cancel()
	<-s.done
}

func (s *cpuSampler) sample() {
	busy, total, err := machineCPU()
	if err != nil {
		return
	}
	s.mu.Lock()
	pids := make(map[string]int, len(s.pids))
	for k, v := range s.pids {
		pids[k] = v
	}
	s.mu.Unlock()
	procs := map[string]float64{}
	for name, pid := range pids {
		if v, err := (proc{pid: pid}).cpuSeconds(); err == nil {
			procs[name] = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, cpuSample{at: time.Now(), busy: busy, total: total, procs: procs})
}

// between splits the CPU used from the last sample at or before start to
// the first at or after end.
func (s *cpuSampler) between(start, end time.Time) (cpuSplit, bool) {
	if s == nil {
		return cpuSplit{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 2 || end.Before(start) {
		return cpuSplit{}, false
	}
	i := sort.Search(len(s.samples), func(i int) bool { return s.samples[i].at.After(start) }) - 1
	j := sort.Search(len(s.samples), func(i int) bool { return !s.samples[i].at.Before(end) })
	if i < 0 || j >= len(s.samples) || j <= i {
		return cpuSplit{}, false
	}
	a, b := s.samples[i], s.samples[j]
	c := cpuSplit{Seconds: b.at.Sub(a.at).Seconds(), CPUs: runtime.NumCPU(), Busy: b.busy - a.busy, ByProcess: map[string]float64{}}
	for name, v := range b.procs {
		// A process that started within the span counts from 0.
		c.ByProcess[name] = v - a.procs[name]
	}
	return c, true
}

// machineCPU reads the first line of /proc/stat: the time all CPUs spent
// busy and in total, in seconds.
func machineCPU() (busy, total float64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("parse /proc/stat: %q", line)
	}
	// user nice system idle iowait irq softirq steal (guest time is
	// already in user).
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy / clockTicks, total / clockTicks, nil
}
