package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Rig measurements.
const (
	rigPodsReady     = "replicasets-ready"
	rigScaleDown     = "replicasets-scale-down"
	rigServiceWrites = "service-writes"
	rigDeployCreate  = "deployments-create"
	rigDeployUpdate  = "deployments-update"
)

// Phases (and their request-counting windows).
const (
	phaseCreate        = "created → Healthy"
	phaseImage         = "image changed → Paused"
	phasePromote       = "promoted → Healthy"
	phaseScaleDown     = "old revision scaled down"
	phaseLatencyBG     = "promote latency: blue-green"
	phaseLatencyCanary = "promote latency: canary"
	phaseWarmUp        = "warm-up: one release of each strategy"
	phaseDelete        = "fleet deleted"
	// phaseRelease is promote and scale-down together: the controller's
	// Events are throttled and sent late, so where one window ends and the
	// next begins moves requests between the two; their sum does not move.
	phaseRelease = "promoted → old revision at 0 (sum)"
)

// reference is what the reference controller did for the same fleet (issue
// 8): API requests per Rollout for each transition, and memory. Switchyard's
// targets are half of each.
var reference = map[string]float64{
	phaseCreate:    12.8,
	phaseImage:     12.2,
	phasePromote:   6.5,
	phaseScaleDown: 6.2,
	phaseRelease:   6.5 + 6.2,
}

// The controller's idle memory: fresh, after the warm-up, and after the
// fleet's cycle (every Rollout deleted; read once more after -idle-wait).
const (
	idleFresh       = "idle, no Rollouts"
	idleWarm        = "idle, warmed up (one release of each strategy, deleted)"
	idleAfterDelete = "idle, after deleting every Rollout"
	// targetIdleGrowthMiB is issue 17's bound on the idle memory's growth.
	targetIdleGrowthMiB = 5
	// targetCycleGrowthMiB bounds the growth from one cycle's idle to the
	// next: RSS readings vary by about a MiB.
	targetCycleGrowthMiB = 2
)

const (
	refIdleMiB      = 86
	refWith100MiB   = 108
	refAfter500MiB  = 178
	refPromoteMs    = 20
	targetPromoteMs = 10
	// Issue 17's promote write → Service write, at any fleet size.
	targetPromoteP50Ms = 5
	targetPromoteP95Ms = 10
	targetRigRatio     = 1.2
	targetFraction     = 0.5
)

type results struct {
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	// Error is why the run stopped early; the figures before it stand.
	Error         string         `json:"error,omitempty"`
	Config        config         `json:"config"`
	Machine       machine        `json:"machine"`
	Cluster       string         `json:"cluster"`
	Controller    string         `json:"controller"`
	ControllerPID int            `json:"controllerPID"`
	Identity      string         `json:"controllerIdentity"`
	Rig           []rigResult    `json:"rig"`
	Fleet         []*phaseResult `json:"fleet"`
	// Floor is the fleet's release by the fleet's floor (fleetfloor.go):
	// its requests are the floor's own, its CPU the bench's.
	Floor    []*phaseResult  `json:"fleetFloor,omitempty"`
	Latency  latencyResults  `json:"promoteLatency"`
	Analysis *analysisResult `json:"analysis,omitempty"`
	Idle     []idleRSS       `json:"idleRSS"`
	// MemoryFloor is the fleet's floor's resident memory (-memory-floor).
	MemoryFloor []rssSplit     `json:"memoryFloorRSS,omitempty"`
	Windows     []windowResult `json:"windows"`
	Targets     []target       `json:"targets"`
	Profiles    profiles       `json:"profiles"`
}

type machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	LoadAvg   string `json:"loadAverageAtStart"`
	// LoadAvgEnd is the load average when the run ended: with other work
	// on the machine, timings are noisy and request counts are not.
	LoadAvgEnd string `json:"loadAverageAtEnd"`
}

type phaseResult struct {
	Name     string `json:"name"`
	Rollouts int    `json:"rollouts"`
	timing
	// AuditedBenchWrites is how many of the bench's own Rollout writes
	// of the phase the audit log holds: fewer than the Rollouts means
	// the log lost requests, and the phase's request counts are not
	// valid.
	AuditedBenchWrites int     `json:"auditedBenchWrites"`
	RigLimit           string  `json:"rigLimit,omitempty"`
	RigSeconds         float64 `json:"rigLimitSeconds,omitempty"`
	Ratio              float64 `json:"ratioToRig,omitempty"`
	// FloorSeconds is the same phase by the fleet's floor, FloorRatio
	// this phase's time over it.
	FloorSeconds     float64 `json:"floorSeconds,omitempty"`
	FloorRatio       float64 `json:"ratioToFloor,omitempty"`
	FloorPerRollout  float64 `json:"floorRequestsPerRollout,omitempty"`
	FloorEventsPerRo float64 `json:"floorEventCreatesPerRollout,omitempty"`
	// ClusterCPURatio is the CPU of the cluster's processes given the
	// same work by any controller (cpuSplit.ClusterCPU) in this phase,
	// over theirs in the floor's: above 1, the same work cost more CPU,
	// so the machine ran slower than in the floor's phase and FloorRatio
	// holds that too. Where no pods are scheduled (the promote, the
	// scale-down), kube-controller-manager's queue work dominates it and
	// it follows the phase's length instead.
	ClusterCPURatio float64      `json:"clusterCPURatioToFloor,omitempty"`
	Controller      cost         `json:"controller"`
	Requests        requestStats `json:"requests"`
	PerRollout      float64      `json:"requestsPerRollout"`
	EventsPerRo     float64      `json:"eventCreatesPerRollout"`
	ReferencePer    float64      `json:"referenceRequestsPerRollout,omitempty"`
	TargetPer       float64      `json:"targetRequestsPerRollout,omitempty"`
}

type cost struct {
	CPUSeconds float64 `json:"cpuSeconds"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
}

type idleRSS struct {
	// rssSplit's fields are this object's in the JSON, as before.
	rssSplit
	// HeapLiveMiB (spans in use after a GC), HeapObjectsMiB (the live
	// objects in them; the rest is space between them) and HeapKeptMiB
	// (free but not yet returned to the OS), when the controller serves
	// pprof.
	HeapLiveMiB    float64 `json:"goHeapLiveMiB,omitempty"`
	HeapObjectsMiB float64 `json:"goHeapObjectsMiB,omitempty"`
	HeapKeptMiB    float64 `json:"goHeapKeptMiB,omitempty"`
	// RuntimeMiB is what the Go runtime holds beside the heap: goroutine
	// stacks, span and GC metadata, the profiler's buckets and the rest
	// of its own (mapped; most of it resident).
	RuntimeMiB float64 `json:"goRuntimeMiB,omitempty"`
}

// rssSplit is a process's resident memory, read at a moment named Name:
// AnonMiB (heap, stacks) and FileMiB (the mapped binary) add up to RSSMiB.
type rssSplit struct {
	Name    string  `json:"name"`
	RSSMiB  float64 `json:"rssMiB"`
	AnonMiB float64 `json:"rssAnonMiB"`
	FileMiB float64 `json:"rssFileMiB"`
}

// growth is how much s is over from, in each part (the name is s's).
func (s rssSplit) growth(from rssSplit) rssSplit {
	return rssSplit{Name: s.Name, RSSMiB: s.RSSMiB - from.RSSMiB, AnonMiB: s.AnonMiB - from.AnonMiB, FileMiB: s.FileMiB - from.FileMiB}
}

type windowResult struct {
	Name       string       `json:"name"`
	Seconds    float64      `json:"seconds"`
	Controller cost         `json:"controller"`
	Requests   requestStats `json:"requests"`
}

type latencyResults struct {
	BlueGreen *latencyRun `json:"blueGreen"`
	Canary    *latencyRun `json:"canary"`
	// Fleet is promote → active Service write for every Rollout of the
	// fleet promoted at once (audit log): latency under load.
	Fleet *dist `json:"fleetPromoteToServiceWriteMs,omitempty"`
}

type target struct {
	Figure    string  `json:"figure"`
	Ours      float64 `json:"ours"`
	Reference float64 `json:"reference,omitempty"`
	Target    float64 `json:"target"`
	Unit      string  `json:"unit"`
	Met       bool    `json:"met"`
	Note      string  `json:"note,omitempty"`
}

type profiles struct {
	CPU  string `json:"cpu,omitempty"`
	Heap string `json:"heap,omitempty"`
	// HeapFresh is the heap profile of the started controller before any
	// Rollout: the base HeapHeldTop is measured against.
	HeapFresh string `json:"heapFresh,omitempty"`
	// HeapAfterDelete is the heap profile once every Rollout is deleted
	// (after -idle-wait, when given): what the controller still holds.
	HeapAfterDelete    string `json:"heapAfterDelete,omitempty"`
	HeapAfterDeleteTop string `json:"heapAfterDeleteTop,omitempty"`
	// HeapHeldTop is HeapAfterDelete less HeapFresh: what the cycle left
	// in use.
	HeapHeldTop  string `json:"heapHeldTop,omitempty"`
	CPUTop       string `json:"cpuTop,omitempty"`
	HeapInuseTop string `json:"heapInuseTop,omitempty"`
	HeapAllocTop string `json:"heapAllocTop,omitempty"`
	// APIServerFloor and APIServerFleet are kube-apiserver's CPU profiles
	// over the floor's release and the controller's (-pprof with the
	// rig); APIServerDiffTop the second less the first.
	APIServerFloor   string `json:"apiserverFloor,omitempty"`
	APIServerFleet   string `json:"apiserverFleet,omitempty"`
	APIServerDiffTop string `json:"apiserverDiffTop,omitempty"`
	// CPUByPhase, APIServerFloorByPhase and APIServerFleetByPhase are
	// those profiles cut to each fleet phase (the chunks that overlap its
	// first write to its last object done), by phase.
	CPUByPhase            map[string]string `json:"cpuByPhase,omitempty"`
	APIServerFloorByPhase map[string]string `json:"apiserverFloorByPhase,omitempty"`
	APIServerFleetByPhase map[string]string `json:"apiserverFleetByPhase,omitempty"`
	// PromoteCPUTop is the controller's profile of the fleet's promote
	// alone, and PromoteAPIServerDiffTop kube-apiserver's in it less the
	// floor's: the short phase the whole release's profile hides.
	PromoteCPUTop           string `json:"promoteCpuTop,omitempty"`
	PromoteAPIServerDiffTop string `json:"promoteApiserverDiffTop,omitempty"`
	// PromotesTrace is the controller's execution trace over the first
	// promotes of the blue-green latency phase (-exec-trace).
	PromotesTrace string `json:"promotesTrace,omitempty"`
	// LatencyBlueGreenCPU is the controller's CPU profile over the
	// blue-green latency phase (its updates and promotes, one at a time),
	// and LatencyBlueGreenCPUTop its top by cumulative time.
	LatencyBlueGreenCPU    string `json:"latencyBlueGreenCpu,omitempty"`
	LatencyBlueGreenCPUTop string `json:"latencyBlueGreenCpuTop,omitempty"`
}

// dist is a distribution of durations, in milliseconds.
type dist struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// switchDists are the distributions of the promotes' whole switch and of
// their Service writes alone; nil without promotes.
func switchDists(ts []switchTimes) (total, write *dist) {
	if len(ts) == 0 {
		return nil, nil
	}
	var totals, writes []time.Duration
	for _, t := range ts {
		totals, writes = append(totals, t.total), append(writes, t.write)
	}
	t, w := distOf(totals), distOf(writes)
	return &t, &w
}

// pairedDifference is the distribution of a[i] - b[i] over promotes made
// in the same iteration, which leaves out how the machine's pace drifts
// over a run; nil unless both have every promote.
func pairedDifference(a, b []switchTimes) *dist {
	if len(a) == 0 || len(a) != len(b) {
		return nil
	}
	diffs := make([]time.Duration, len(a))
	for i := range a {
		diffs[i] = a[i].total - b[i].total
	}
	d := distOf(diffs)
	return &d
}

func distOf(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	rank := func(p float64) time.Duration { return s[max(0, int(math.Ceil(p*float64(len(s))))-1)] }
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return dist{N: len(s), P50: ms(rank(0.50)), P95: ms(rank(0.95)), Max: ms(s[len(s)-1]), Mean: ms(sum / time.Duration(len(s)))}
}

func newResults(cfg config, began time.Time) *results {
	load, _ := os.ReadFile("/proc/loadavg")
	return &results{
		Started: began,
		Config:  cfg,
		Machine: machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: strings.TrimSpace(string(load))},
	}
}

func (b *bench) addPhase(name string, t timing) {
	b.res.Fleet = append(b.res.Fleet, &phaseResult{Name: name, Rollouts: b.cfg.N, timing: t})
}

func (r *results) rig(name string) *rigResult {
	for i := range r.Rig {
		if r.Rig[i].Name == name {
			return &r.Rig[i]
		}
	}
	return nil
}

// idleAfterCycle is the last reading of the idle memory once the fleet
// was deleted: after -idle-wait when there was one.
func (r *results) idleAfterCycle() (idleRSS, bool) {
	return r.lastIdle(func(name string) bool { return strings.HasSuffix(name, "after deleting every Rollout") })
}

// idleAfterLastCycle is the last reading of the idle memory after a
// repeated cycle (-cycles), if there was one.
func (r *results) idleAfterLastCycle() (idleRSS, bool) {
	return r.lastIdle(func(name string) bool { return strings.Contains(name, "after cycle ") })
}

// lastIdle is the last reading of the idle memory whose name matches.
func (r *results) lastIdle(match func(name string) bool) (idleRSS, bool) {
	var last idleRSS
	for _, i := range r.Idle {
		if match(i.Name) {
			last = i
		}
	}
	return last, last.Name != ""
}

func (r *results) idle(prefix string) (float64, bool) {
	for _, i := range r.Idle {
		if strings.HasPrefix(i.Name, prefix) {
			return i.RSSMiB, true
		}
	}
	return 0, false
}

// fill adds the audit log's request counts, the controller's costs, the
// rig ratios and the targets.
func (r *results) fill(b *bench, log *auditLog) {
	stats := attribute(log.controller, b.windows)
	for _, w := range b.windows {
		r.Windows = append(r.Windows, windowResult{Name: w.Name, Seconds: w.End.Sub(w.Start).Seconds(), Controller: b.costs[w.Name], Requests: *stats[w.Name]})
	}
	if o := stats["other"]; o.Total > 0 {
		r.Windows = append(r.Windows, windowResult{Name: "other", Requests: *o})
	}

	rigSeconds := func(name string) float64 {
		if rr := r.rig(name); rr != nil {
			return rr.Seconds
		}
		return 0
	}
	for i := range r.Rig {
		if c, ok := b.cpu.between(r.Rig[i].start, r.Rig[i].done); ok {
			r.Rig[i].CPU = &c
		}
	}
	for _, p := range r.Fleet {
		p.count(b, log, stats)
		p.Controller = b.costs[p.Name]
		p.ReferencePer = reference[p.Name]
		p.TargetPer = reference[p.Name] * targetFraction
		switch p.Name {
		case phaseCreate, phaseImage:
			p.RigLimit, p.RigSeconds = "ReplicaSets created → pods Ready", rigSeconds(rigPodsReady)
		case phasePromote:
			p.RigLimit, p.RigSeconds = "Service selectors patched → seen", rigSeconds(rigServiceWrites)
		case phaseScaleDown:
			if s := rigSeconds(rigScaleDown); s > 0 {
				p.RigLimit = fmt.Sprintf("Service writes + %ds delay + ReplicaSets scaled to 0", b.cfg.ScaleDownDelay)
				p.RigSeconds = rigSeconds(rigServiceWrites) + float64(b.cfg.ScaleDownDelay) + s
			}
		}
		if p.RigSeconds > 0 {
			p.Ratio = p.Seconds / p.RigSeconds
		}
	}
	if sum := releaseSum(r.Fleet, phasePromote, phaseScaleDown, phaseRelease); sum != nil {
		sum.ReferencePer = reference[phaseRelease]
		sum.TargetPer = reference[phaseRelease] * targetFraction
		r.Fleet = append(r.Fleet, sum)
	}
	r.fillFloor(b, log)

	for _, lr := range []struct {
		run  *latencyRun
		name string
	}{{r.Latency.BlueGreen, phaseLatencyBG}, {r.Latency.Canary, phaseLatencyCanary}} {
		if lr.run == nil {
			continue
		}
		lr.run.CPUSeconds = b.costs[lr.name].CPUSeconds / float64(lr.run.Updates)
		lr.run.Requests = float64(stats[lr.name].Total) / float64(lr.run.Updates)
	}
	if bg := r.Latency.BlueGreen; bg != nil {
		ours := promoteToService(log.bench, log.controller, blueGreenName, activeService(blueGreenName), bg.from, bg.to)
		ctrlFloor := promoteToService(log.bench, log.bench, ctrlFloorName, activeService(ctrlFloorName), bg.from, bg.to)
		bg.Audit, bg.Write = switchDists(ours)
		bg.Floor, bg.FloorWrite = switchDists(promoteToService(log.bench, log.bench, floorName, activeService(floorName), bg.from, bg.to))
		bg.CtrlFloor, bg.CtrlFloorWrite = switchDists(ctrlFloor)
		bg.OverCtrlFloor = pairedDifference(ours, ctrlFloor)
	}
	if !b.fleetPromote[0].IsZero() {
		if ds := fleetPromoteToService(log, activeService, b.fleetPromote[0], b.fleetPromote[1]); len(ds) > 0 {
			d := distOf(ds)
			r.Latency.Fleet = &d
		}
	}
	r.fillAnalysis(b, stats)
	r.targets(b)
}

// auditComplete: the audit log holds every write the bench sent in the
// phase, so it can be trusted to hold the controller's.
func (p *phaseResult) auditComplete() bool { return p.AuditedBenchWrites >= p.Rollouts }

func (p *phaseResult) auditNote() string {
	return fmt.Sprintf("audit log incomplete: %d of the bench's %d writes", p.AuditedBenchWrites, p.Rollouts)
}

// benchRolloutWrites counts the bench's writes to Rollouts the API server
// received from start to done (not the floors' status writes).
func benchRolloutWrites(log *auditLog, start, done time.Time) int {
	n := 0
	for i := range log.bench {
		e := &log.bench[i]
		t := e.RequestReceivedTimestamp.Time
		if e.UserAgent == benchAgent && strings.HasPrefix(e.Resource(), "rollouts") && !t.Before(start.Add(-time.Second)) && !t.After(done) {
			n++
		}
	}
	return n
}

// count fills in a phase's requests (from stats, its window's), the
// machine's CPU over it and the bench's writes the audit log holds.
func (p *phaseResult) count(b *bench, log *auditLog, stats map[string]*requestStats) {
	if c, ok := b.cpu.between(p.start, p.done); ok {
		p.CPU = &c
	}
	p.AuditedBenchWrites = benchRolloutWrites(log, p.start, p.done)
	p.Requests = *stats[p.Name]
	p.perRollout()
}

func (p *phaseResult) perRollout() {
	p.PerRollout = float64(p.Requests.Total) / float64(p.Rollouts)
	p.EventsPerRo = float64(p.Requests.EventCreates) / float64(p.Rollouts)
}

// releaseSum adds up the promote and scale-down phases of phases, as a
// phase named name.
func releaseSum(phases []*phaseResult, promoteName, downName, name string) *phaseResult {
	var promote, down *phaseResult
	for _, p := range phases {
		switch p.Name {
		case promoteName:
			promote = p
		case downName:
			down = p
		}
	}
	if promote == nil || down == nil {
		return nil
	}
	sum := &phaseResult{Name: name, Rollouts: promote.Rollouts, timing: down.timing,
		AuditedBenchWrites: min(promote.AuditedBenchWrites, down.AuditedBenchWrites)}
	sum.Controller = cost{
		CPUSeconds: promote.Controller.CPUSeconds + down.Controller.CPUSeconds,
		PeakRSSMiB: max(promote.Controller.PeakRSSMiB, down.Controller.PeakRSSMiB),
	}
	sum.Requests = requestStats{ByVerb: map[string]int{}}
	for _, p := range []*phaseResult{promote, down} {
		sum.Requests.Total += p.Requests.Total
		sum.Requests.EventCreates += p.Requests.EventCreates
		sum.Requests.EventWrites += p.Requests.EventWrites
		sum.Requests.Conflicts += p.Requests.Conflicts
		sum.Requests.Errors += p.Requests.Errors
		for k, v := range p.Requests.ByVerb {
			sum.Requests.ByVerb[k] += v
		}
	}
	sum.perRollout()
	return sum
}

// fillFloor counts the fleet floor's requests per phase and sets each
// fleet phase's time over the floor's.
func (r *results) fillFloor(b *bench, log *auditLog) {
	if len(r.Floor) == 0 {
		return
	}
	var floorReqs []auditEvent
	for _, e := range log.bench {
		if e.UserAgent == benchAgent+fleetFloorUASuffix {
			floorReqs = append(floorReqs, e)
		}
	}
	stats := attribute(floorReqs, b.windows)
	for _, p := range r.Floor {
		p.count(b, log, stats)
	}
	if sum := releaseSum(r.Floor, floorPhase(phasePromote), floorPhase(phaseScaleDown), floorPhase(phaseRelease)); sum != nil {
		r.Floor = append(r.Floor, sum)
	}
	for _, p := range r.Fleet {
		for _, f := range r.Floor {
			if f.Name == floorPhase(p.Name) && f.Seconds > 0 {
				p.FloorSeconds, p.FloorRatio = f.Seconds, p.Seconds/f.Seconds
				if p.CPU != nil && f.CPU != nil && f.CPU.ClusterCPU() > 0 {
					p.ClusterCPURatio = p.CPU.ClusterCPU() / f.CPU.ClusterCPU()
				}
				p.FloorPerRollout, p.FloorEventsPerRo = f.PerRollout, f.EventsPerRo
			}
		}
	}
}

func (r *results) targets(b *bench) {
	add := func(t target) { r.Targets = append(r.Targets, t) }
	for _, p := range r.Fleet {
		t := target{Figure: "API requests per Rollout, " + p.Name, Ours: p.PerRollout, Reference: p.ReferencePer, Target: p.TargetPer,
			Unit: "requests", Met: p.PerRollout <= p.TargetPer}
		if !p.auditComplete() {
			t.Met, t.Note = false, p.auditNote()
		}
		add(t)
	}
	if v, ok := r.idle(idleFresh); ok {
		add(target{Figure: "controller RSS idle, no Rollouts", Ours: v, Reference: refIdleMiB, Target: refIdleMiB * targetFraction, Unit: "MiB", Met: v <= refIdleMiB*targetFraction})
	}
	if v, ok := r.idle(fmt.Sprintf("idle, %d Rollouts Healthy", b.cfg.N)); ok {
		t := target{Figure: fmt.Sprintf("controller RSS with %d Rollouts", b.cfg.N), Ours: v, Unit: "MiB"}
		if b.cfg.N == 100 {
			t.Reference, t.Target, t.Met = refWith100MiB, refWith100MiB*targetFraction, v <= refWith100MiB*targetFraction
		} else {
			t.Note = "reference measured with 100 Rollouts only"
		}
		add(t)
	}
	if v, ok := r.idle(fmt.Sprintf("idle, %d Rollouts, after the cycle", b.cfg.N)); ok && b.cfg.N == 500 {
		add(target{Figure: "controller RSS after a 500-Rollout cycle", Ours: v, Reference: refAfter500MiB, Target: refAfter500MiB * targetFraction, Unit: "MiB", Met: v <= refAfter500MiB*targetFraction})
	}
	if after, ok := r.idleAfterCycle(); ok {
		if fresh, ok := r.idle(idleFresh); ok {
			note := fmt.Sprintf("%s; fresh %.1f MiB", after.Name, fresh)
			if b.cfg.Pprof {
				note += "; profiled, which adds to the readings after the fresh one"
			}
			add(target{Figure: "idle RSS after the cycle (all Rollouts deleted) vs fresh", Ours: after.RSSMiB, Target: fresh + targetIdleGrowthMiB, Unit: "MiB",
				Met: after.RSSMiB <= fresh+targetIdleGrowthMiB, Note: note})
		}
		if last, ok := r.idleAfterLastCycle(); ok {
			add(target{Figure: "idle RSS after the last cycle vs after the first (a leak grows with every cycle)", Ours: last.RSSMiB - after.RSSMiB, Target: targetCycleGrowthMiB, Unit: "MiB",
				Met: last.RSSMiB-after.RSSMiB <= targetCycleGrowthMiB, Note: fmt.Sprintf("%s %.1f MiB; %s %.1f MiB", after.Name, after.RSSMiB, last.Name, last.RSSMiB)})
		}
		if warm, ok := r.idle(idleWarm); ok {
			add(target{Figure: "idle RSS after the cycle vs warmed up (the fleet's own growth)", Ours: after.RSSMiB, Target: warm + targetIdleGrowthMiB, Unit: "MiB",
				Met: after.RSSMiB <= warm+targetIdleGrowthMiB, Note: fmt.Sprintf("%s; warmed up %.1f MiB", after.Name, warm)})
		}
	}
	if bg := r.Latency.BlueGreen; bg != nil {
		if bg.Audit != nil {
			floors := func(quantile func(*dist) float64) string {
				var notes []string
				if bg.Floor != nil {
					notes = append(notes, fmt.Sprintf("the floor (one watch event, one Service write) %.1f ms", quantile(bg.Floor)))
				}
				if bg.CtrlFloor != nil {
					notes = append(notes, fmt.Sprintf("the controller floor (controller-runtime, only the writes) %.1f ms", quantile(bg.CtrlFloor)))
				}
				return strings.Join(notes, "; ")
			}
			add(target{Figure: "blue-green promote → active Service, median (API server)", Ours: bg.Audit.P50, Reference: refPromoteMs, Target: targetPromoteP50Ms, Unit: "ms",
				Met: bg.Audit.P50 <= targetPromoteP50Ms, Note: floors(func(d *dist) float64 { return d.P50 })})
			add(target{Figure: "blue-green promote → active Service, p95 (API server)", Ours: bg.Audit.P95, Target: targetPromoteP95Ms, Unit: "ms",
				Met: bg.Audit.P95 <= targetPromoteP95Ms, Note: floors(func(d *dist) float64 { return d.P95 })})
		}
		add(target{Figure: "blue-green promote → active Service, median (seen by a watch)", Ours: bg.Watch.P50, Reference: refPromoteMs, Target: targetPromoteMs, Unit: "ms", Met: bg.Watch.P50 <= targetPromoteMs,
			Note: "includes the bench's own write round trip and watch delivery"})
	}
	for _, p := range r.Fleet {
		if p.Ratio > 0 {
			add(target{Figure: "fleet time / rig limit, " + p.Name, Ours: p.Ratio, Target: targetRigRatio, Unit: "x", Met: p.Ratio <= targetRigRatio})
		}
	}
	for _, p := range r.Fleet {
		if p.FloorRatio > 0 {
			add(target{Figure: "fleet time / the fleet's floor, " + p.Name, Ours: p.FloorRatio, Target: targetRigRatio, Unit: "x", Met: p.FloorRatio <= targetRigRatio,
				Note: fmt.Sprintf("floor %.2fs", p.FloorSeconds)})
		}
	}
}

// profileTops summarises the profiles with go tool pprof -top.
func (b *bench) profileTops(ctx context.Context) {
	bin := ""
	if b.ctrl != nil {
		bin = b.ctrl.binary
	}
	p := &b.res.Profiles
	var err error
	if p.CPU != "" {
		if p.CPUTop, err = pprofTop(ctx, bin, "", "", 30, p.CPU); err != nil {
			logf("%v", err)
		}
	}
	if p.Heap != "" {
		if p.HeapInuseTop, err = pprofTop(ctx, bin, "inuse_space", "", 20, p.Heap); err != nil {
			logf("%v", err)
		}
		if p.HeapAllocTop, err = pprofTop(ctx, bin, "alloc_space", "", 20, p.Heap); err != nil {
			logf("%v", err)
		}
	}
	if p.APIServerFloor != "" && p.APIServerFleet != "" {
		if p.APIServerDiffTop, err = pprofTop(ctx, "", "", p.APIServerFloor, 30, p.APIServerFleet); err != nil {
			logf("%v", err)
		}
	}
	if f := p.CPUByPhase[phasePromote]; f != "" {
		if p.PromoteCPUTop, err = pprofTop(ctx, bin, "", "", 30, f); err != nil {
			logf("%v", err)
		}
	}
	if p.LatencyBlueGreenCPU != "" {
		if p.LatencyBlueGreenCPUTop, err = pprofTop(ctx, bin, "", "", 30, p.LatencyBlueGreenCPU); err != nil {
			logf("%v", err)
		}
	}
	if floor, fleet := p.APIServerFloorByPhase[phasePromote], p.APIServerFleetByPhase[phasePromote]; floor != "" && fleet != "" {
		if p.PromoteAPIServerDiffTop, err = pprofTop(ctx, "", "", floor, 30, fleet); err != nil {
			logf("%v", err)
		}
	}
	if p.HeapAfterDelete != "" {
		if p.HeapAfterDeleteTop, err = pprofTop(ctx, bin, "inuse_space", "", 20, p.HeapAfterDelete); err != nil {
			logf("%v", err)
		}
		if p.HeapFresh != "" {
			if p.HeapHeldTop, err = pprofTop(ctx, bin, "inuse_space", p.HeapFresh, 20, p.HeapAfterDelete); err != nil {
				logf("%v", err)
			}
		}
	}
}

func (r *results) write(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func (r *results) print(out io.Writer) {
	n := r.Config.N
	fmt.Fprintf(out, "\nSWITCHYARD BENCHMARK: %d blue-green Rollouts (1 replica, active+preview Services, scaleDownDelaySeconds=%d)\n", n, r.Config.ScaleDownDelay)
	fmt.Fprintf(out, "cluster:    %s\n", r.Cluster)
	fmt.Fprintf(out, "controller: %s, pid %d, requests counted for %s\n", r.Controller, r.ControllerPID, r.Identity)
	fmt.Fprintf(out, "machine:    %d CPUs (shared), load average at start %s, at end %s\n", r.Machine.CPUs, r.Machine.LoadAvg, r.Machine.LoadAvgEnd)
	if r.Error != "" {
		fmt.Fprintf(out, "STOPPED EARLY: %s\n", r.Error)
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if len(r.Rig) > 0 {
		fmt.Fprintf(out, "\nRIG LIMITS (no Rollout controller involved)\n")
		fmt.Fprintln(tw, "  measurement\tall done\twrites sent in\tper object p50\tp95")
		for _, g := range r.Rig {
			fmt.Fprintf(tw, "  %s\t%.2fs\t%.2fs\t%.0fms\t%.0fms\n", g.What, g.Seconds, g.IssueSeconds, g.PerObject.P50, g.PerObject.P95)
		}
		tw.Flush()
	}

	fmt.Fprintf(out, "\nFLEET (%d Rollouts, every change sent at once)\n", n)
	fmt.Fprintln(tw, "  phase\tall done\tper Rollout p50/p95\trig limit\tratio (≤1.2)\tfloor\tratio (≤1.2)\tcluster CPU / floor's\tctrl CPU\tpeak RSS\treq/Rollout\ttarget\treference\tevent creates/Rollout\t409s")
	for _, p := range r.Fleet {
		rig, ratio, floor, floorRatio, clusterRatio := "—", "—", "—", "—", "—"
		if p.Ratio > 0 {
			rig, ratio = fmt.Sprintf("%.2fs", p.RigSeconds), fmt.Sprintf("%.2f%s", p.Ratio, mark(p.Ratio <= targetRigRatio))
		}
		if p.FloorRatio > 0 {
			floor, floorRatio = fmt.Sprintf("%.2fs", p.FloorSeconds), fmt.Sprintf("%.2f%s", p.FloorRatio, mark(p.FloorRatio <= targetRigRatio))
		}
		if p.ClusterCPURatio > 0 {
			clusterRatio = fmt.Sprintf("%.2f", p.ClusterCPURatio)
		}
		fmt.Fprintf(tw, "  %s\t%.2fs\t%.0f/%.0fms\t%s\t%s\t%s\t%s\t%s\t%.2fs\t%.1f MiB\t%.2f%s\t≤%.2f\t%.1f\t%.2f\t%d\n",
			p.Name, p.Seconds, p.PerObject.P50, p.PerObject.P95, rig, ratio, floor, floorRatio, clusterRatio, p.Controller.CPUSeconds, p.Controller.PeakRSSMiB,
			p.PerRollout, mark(p.PerRollout <= p.TargetPer), p.TargetPer, p.ReferencePer, p.EventsPerRo, p.Requests.Conflicts)
	}
	tw.Flush()
	fmt.Fprintf(out, "  (scale-down is timed from the first promote write; its rig limit is the Service-write limit + the delay + ReplicaSets scaled to 0)\n")
	if len(r.Floor) > 0 {
		statusWrites := "the status when a revision starts and when it is at rest"
		if !r.Config.FloorProgressing {
			statusWrites = "the status only when a revision is at rest"
		}
		fmt.Fprintf(out, "\nTHE FLEET'S FLOOR (the same release by a minimal controller in the bench: each required write once, %s, the reference's Events, no throttling; before the controller started)\n", statusWrites)
		fmt.Fprintln(tw, "  phase\tall done\tper Rollout p50/p95\trequests/Rollout\tof them Events\tbench CPU\tmachine busy")
		for _, p := range r.Floor {
			busy, cpu := "—", "—"
			if p.CPU != nil {
				busy, cpu = fmt.Sprintf("%.0f%%", 100*p.CPU.BusyFraction()), fmt.Sprintf("%.2fs", p.CPU.ByProcess["bench"])
			}
			fmt.Fprintf(tw, "  %s\t%.2fs\t%.0f/%.0fms\t%.2f\t%.2f\t%s\t%s\n", p.Name, p.Seconds, p.PerObject.P50, p.PerObject.P95, p.PerRollout, p.EventsPerRo, cpu, busy)
		}
		tw.Flush()
		for _, p := range r.Floor {
			if !p.auditComplete() {
				fmt.Fprintf(out, "  %s: %s; its request counts are not valid\n", p.Name, p.auditNote())
			}
		}
	}
	for _, p := range r.Fleet {
		if !p.auditComplete() {
			fmt.Fprintf(out, "  %s: %s; its request counts are not valid\n", p.Name, p.auditNote())
		}
	}
	r.printCPUSplit(out)

	fmt.Fprintf(out, "\nCONTROLLER REQUESTS BY VERB AND RESOURCE, per Rollout (audit log, %s)\n", r.Identity)
	keys := map[string]bool{}
	for _, p := range r.Fleet {
		for k := range p.Requests.ByVerb {
			keys[k] = true
		}
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	header := "  verb resource"
	for _, p := range r.Fleet {
		header += "\t" + p.Name
	}
	fmt.Fprintln(tw, header)
	for _, k := range ks {
		line := "  " + k
		for _, p := range r.Fleet {
			line += fmt.Sprintf("\t%.2f", float64(p.Requests.ByVerb[k])/float64(n))
		}
		fmt.Fprintln(tw, line)
	}
	line := "  total"
	for _, p := range r.Fleet {
		line += fmt.Sprintf("\t%.2f", p.PerRollout)
	}
	fmt.Fprintln(tw, line)
	tw.Flush()

	fmt.Fprintf(out, "\nPROMOTE LATENCY (%d updates each, one at a time, fleet idle)\n", r.Config.Updates)
	fmt.Fprintln(tw, "  measurement\tp50\tp95\tmax\ttarget\treference\tctrl CPU/update\treq/update")
	if bg := r.Latency.BlueGreen; bg != nil {
		if bg.Audit != nil {
			fmt.Fprintf(tw, "  blue-green: promote write → active Service write (API server, audit)\t%.1fms%s\t%.1fms%s\t%.1fms\t≤%d / %dms\t~%dms\t%.3fs\t%.1f\n",
				bg.Audit.P50, mark(bg.Audit.P50 <= targetPromoteP50Ms), bg.Audit.P95, mark(bg.Audit.P95 <= targetPromoteP95Ms), bg.Audit.Max,
				targetPromoteP50Ms, targetPromoteP95Ms, refPromoteMs, bg.CPUSeconds, bg.Requests)
			fmt.Fprintf(tw, "    of it the Service write itself (received → completed)\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", bg.Write.P50, bg.Write.P95, bg.Write.Max)
		}
		if bg.Floor != nil {
			fmt.Fprintf(tw, "  the floor: the same by a reactor that only switches (one watch event, one write)\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", bg.Floor.P50, bg.Floor.P95, bg.Floor.Max)
			fmt.Fprintf(tw, "    of it the Service write itself\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", bg.FloorWrite.P50, bg.FloorWrite.P95, bg.FloorWrite.Max)
		}
		if bg.CtrlFloor != nil {
			fmt.Fprintf(tw, "  the controller floor: the same by a controller-runtime controller doing only the writes, in its own process\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", bg.CtrlFloor.P50, bg.CtrlFloor.P95, bg.CtrlFloor.Max)
			fmt.Fprintf(tw, "    of it the Service write itself\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", bg.CtrlFloorWrite.P50, bg.CtrlFloorWrite.P95, bg.CtrlFloorWrite.Max)
		}
		if d := bg.OverCtrlFloor; d != nil {
			fmt.Fprintf(tw, "  Switchyard − the controller floor, promote by promote (the same iteration; mean %.2fms)\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", d.Mean, d.P50, d.P95, d.Max)
		}
		fmt.Fprintf(tw, "  blue-green: promote sent → active Service change seen by a watch\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", bg.Watch.P50, bg.Watch.P95, bg.Watch.Max)
	}
	if f := r.Latency.Fleet; f != nil {
		fmt.Fprintf(tw, "  blue-green, %d promoted at once: promote write → active Service write (audit)\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", n, f.P50, f.P95, f.Max)
	}
	if c := r.Latency.Canary; c != nil {
		fmt.Fprintf(tw, "  canary (%d replicas): promote --full sent → stable ReplicaSet at 0\t%.0fms\t%.0fms\t%.0fms\t\t\t%.3fs\t%.1f\n",
			r.Config.CanaryReplicas, c.Watch.P50, c.Watch.P95, c.Watch.Max, c.CPUSeconds, c.Requests)
		if c.Reaction != nil {
			fmt.Fprintf(tw, "  canary: new ReplicaSet available → stable at 0 (controller's share)\t%.1fms\t%.1fms\t%.1fms\t\t\t\t\n", c.Reaction.P50, c.Reaction.P95, c.Reaction.Max)
		}
	}
	tw.Flush()
	if bg := r.Latency.BlueGreen; bg != nil && bg.Way != nil {
		printWay(out, bg.Way)
	}

	r.printAnalysis(out)

	fmt.Fprintf(out, "\nCONTROLLER MEMORY (RSS after it went quiet)\n")
	fmt.Fprintln(tw, "  when\tRSS\tanonymous\tfile-backed\tGo heap live\tof it objects\tGo heap free, kept\tGo runtime's own")
	for _, i := range r.Idle {
		live, objects, kept, runtimeOwn := "—", "—", "—", "—"
		if i.HeapLiveMiB > 0 {
			live, kept = fmt.Sprintf("%.1f MiB", i.HeapLiveMiB), fmt.Sprintf("%.1f MiB", i.HeapKeptMiB)
		}
		if i.HeapObjectsMiB > 0 {
			objects = fmt.Sprintf("%.1f MiB", i.HeapObjectsMiB)
		}
		if i.RuntimeMiB > 0 {
			runtimeOwn = fmt.Sprintf("%.1f MiB", i.RuntimeMiB)
		}
		fmt.Fprintf(tw, "  %s\t%.1f MiB\t%.1f MiB\t%.1f MiB\t%s\t%s\t%s\t%s\n", i.Name, i.RSSMiB, i.AnonMiB, i.FileMiB, live, objects, kept, runtimeOwn)
	}
	tw.Flush()
	r.printMemoryFloor(out)

	fmt.Fprintf(out, "\nEVERY WINDOW (controller CPU, peak RSS and requests, settling time included)\n")
	fmt.Fprintln(tw, "  window\tseconds\tctrl CPU\tpeak RSS\trequests\tevent creates\t409s")
	for _, w := range r.Windows {
		fmt.Fprintf(tw, "  %s\t%.1f\t%.2fs\t%.1f MiB\t%d\t%d\t%d\n", w.Name, w.Seconds, w.Controller.CPUSeconds, w.Controller.PeakRSSMiB, w.Requests.Total, w.Requests.EventCreates, w.Requests.Conflicts)
	}
	tw.Flush()

	met := 0
	for _, t := range r.Targets {
		if t.Met {
			met++
		}
	}
	fmt.Fprintf(out, "\nTARGETS (issues 8 and 17): %d of %d met\n", met, len(r.Targets))
	fmt.Fprintln(tw, "  figure\tours\ttarget\treference\t")
	for _, t := range r.Targets {
		ref := ""
		if t.Reference > 0 {
			ref = fmt.Sprintf("%.4g %s", t.Reference, t.Unit)
		}
		goal, verdict := fmt.Sprintf("≤%.4g %s", t.Target, t.Unit), strings.TrimSpace(mark(t.Met))
		if t.Target == 0 {
			goal, verdict = "—", "("+t.Note+")"
		}
		fmt.Fprintf(tw, "  %s\t%.4g %s\t%s\t%s\t%s\n", t.Figure, t.Ours, t.Unit, goal, ref, verdict)
	}
	tw.Flush()

	p := r.Profiles
	for _, s := range []struct{ title, file, top string }{
		{"CPU PROFILE (fleet phases)", p.CPU, p.CPUTop},
		{"HEAP PROFILE, in use (idle with the fleet)", p.Heap, p.HeapInuseTop},
		{"HEAP PROFILE, in use (idle, every Rollout deleted, after -idle-wait if given)", p.HeapAfterDelete, p.HeapAfterDeleteTop},
		{"HEAP PROFILE, in use then less in use fresh (what the cycle left)", p.HeapAfterDelete, p.HeapHeldTop},
		{"HEAP PROFILE, allocated since start", p.Heap, p.HeapAllocTop},
		{"KUBE-APISERVER CPU PROFILE, the controller's release less the fleet floor's", p.APIServerFleet, p.APIServerDiffTop},
		{"CPU PROFILE (" + phasePromote + " alone)", p.CPUByPhase[phasePromote], p.PromoteCPUTop},
		{"KUBE-APISERVER CPU PROFILE, " + phasePromote + " alone, the controller's less the fleet floor's", p.APIServerFleetByPhase[phasePromote], p.PromoteAPIServerDiffTop},
		{"CPU PROFILE (" + phaseLatencyBG + ")", p.LatencyBlueGreenCPU, p.LatencyBlueGreenCPUTop},
	} {
		if s.top == "" {
			continue
		}
		fmt.Fprintf(out, "\n%s: %s\n", s.title, s.file)
		for _, l := range strings.Split(strings.TrimRight(s.top, "\n"), "\n") {
			fmt.Fprintln(out, "  "+l)
		}
	}
}

func mark(ok bool) string {
	if ok {
		return " ✓"
	}
	return " ✗"
}

// cpuColumns are the processes of the CPU split, in the order printed.
var cpuColumns = []string{"controller", "kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok", "bench"}

// printCPUSplit prints where the machine's CPU went in each rig step and
// fleet phase: a phase that used all of it waited on the machine, not on
// any one process.
func (r *results) printCPUSplit(out io.Writer) {
	type row struct {
		name string
		cpu  *cpuSplit
	}
	var rows []row
	for _, g := range r.Rig {
		rows = append(rows, row{"rig: " + g.Name, g.CPU})
	}
	for _, p := range r.Floor {
		rows = append(rows, row{p.Name, p.CPU})
	}
	for _, p := range r.Fleet {
		rows = append(rows, row{p.Name, p.CPU})
	}
	cpus, withMemoryFloor := 0, false
	for _, w := range rows {
		if w.cpu != nil {
			cpus = w.cpu.CPUs
			_, ok := w.cpu.ByProcess[memoryFloorProcess]
			withMemoryFloor = withMemoryFloor || ok
		}
	}
	if cpus == 0 {
		return
	}
	columns := cpuColumns
	if withMemoryFloor {
		columns = append(slices.Clip(cpuColumns), memoryFloorProcess)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(out, "\nWHERE THE CPU WENT (first write → last object done; CPU seconds; the machine has %d CPUs)\n", cpus)
	header := "  step\tseconds\tmachine busy"
	for _, c := range columns {
		header += "\t" + c
	}
	fmt.Fprintln(tw, header+"\toutside the run")
	for _, w := range rows {
		if w.cpu == nil {
			continue
		}
		line := fmt.Sprintf("  %s\t%.2f\t%.0f%%", w.name, w.cpu.Seconds, 100*w.cpu.BusyFraction())
		for _, c := range columns {
			if v, ok := w.cpu.ByProcess[c]; ok {
				line += fmt.Sprintf("\t%.2f", v)
			} else {
				line += "\t—"
			}
		}
		fmt.Fprintln(tw, line+fmt.Sprintf("\t%.2f", w.cpu.Other()))
	}
	tw.Flush()
}

// printMemoryFloor sets the fleet's floor's memory (-memory-floor) beside
// the controller's: each one's growth over its own fresh start.
func (r *results) printMemoryFloor(out io.Writer) {
	if len(r.MemoryFloor) == 0 {
		return
	}
	fresh := r.MemoryFloor[0]
	fmt.Fprintf(out, "\nTHE FLEET'S FLOOR'S MEMORY (-memory-floor: the floor in a process of its own, GOGC=%d)\n", memoryFloorGCPercent)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  when\tRSS\tanonymous\tfile-backed\tover its fresh start (anonymous)")
	for _, m := range r.MemoryFloor {
		g := m.growth(fresh)
		fmt.Fprintf(tw, "  %s\t%.1f MiB\t%.1f MiB\t%.1f MiB\t%+.1f MiB (%+.1f)\n", m.Name, m.RSSMiB, m.AnonMiB, m.FileMiB, g.RSSMiB, g.AnonMiB)
	}
	if ctrlFresh, ok := r.lastIdle(func(name string) bool { return name == idleFresh }); ok {
		if after, ok := r.idleAfterCycle(); ok {
			ctrl := after.growth(ctrlFresh.rssSplit)
			fmt.Fprintf(tw, "  the controller, %s, over its fresh start\t\t\t\t%+.1f MiB (%+.1f)\n", after.Name, ctrl.RSSMiB, ctrl.AnonMiB)
			if last := r.MemoryFloor[len(r.MemoryFloor)-1]; last.Name == memoryFloorLast {
				less := ctrl.growth(last.growth(fresh))
				fmt.Fprintf(tw, "  the controller's growth less the floor's\t\t\t\t%+.1f MiB (%+.1f)\n", less.RSSMiB, less.AnonMiB)
			}
		}
	}
	tw.Flush()
	if r.Config.Pprof {
		// Only the controller is profiled (CPU profiles through the
		// fleet, a heap profile at each reading): writing a profile pages
		// in its binary's symbol tables, and the CPU profiler's buffer is
		// on its heap while a profile runs.
		fmt.Fprintln(out, "  (profiled run: the controller's readings after its fresh one include the profiler's own memory, the floor's do not; compare the two without -pprof)")
	}
}
