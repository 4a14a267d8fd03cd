package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// Targets of issue 17 for the scale model.
const (
	modelProjectN       = 10000
	targetRSSAt1000MiB  = 120
	targetRSSAt10000MiB = 300
)

// scalePoint is what the scale model takes from one run.
type scalePoint struct {
	file string
	n    int
	load string
	// rssMiB, anonMiB and heapMiB are the controller's idle RSS, the
	// anonymous part of it (the mapped binary's pages excluded) and its
	// live Go heap with the N Rollouts Healthy; peakMiB the peak RSS over
	// the fleet's phases.
	rssMiB, anonMiB, heapMiB, peakMiB float64
	// cpu is the controller's CPU seconds over one full cycle (created,
	// image changed, promoted, scaled down); requests its API requests
	// over the update (image changed, promoted, scaled down), events the
	// Event writes among them.
	cpu              float64
	requests, events int
}

// fit is y = a + b·N by least squares.
type fit struct{ a, b float64 }

func (f fit) at(n float64) float64 { return f.a + f.b*n }

func leastSquares(xs, ys []float64) fit {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return fit{a: sy / n}
	}
	b := (n*sxy - sx*sy) / d
	return fit{a: (sy - b*sx) / n, b: b}
}

// readScalePoint reads one run's JSON.
func readScalePoint(path string) (scalePoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return scalePoint{}, err
	}
	var r results
	if err := json.Unmarshal(data, &r); err != nil {
		return scalePoint{}, fmt.Errorf("%s: %w", path, err)
	}
	p := scalePoint{file: path, n: r.Config.N, load: r.Machine.LoadAvg}
	if r.Machine.LoadAvgEnd != "" {
		p.load += " → " + r.Machine.LoadAvgEnd
	}
	for _, i := range r.Idle {
		if strings.HasSuffix(i.Name, "Rollouts Healthy") {
			p.rssMiB, p.anonMiB, p.heapMiB = i.RSSMiB, i.AnonMiB, i.HeapLiveMiB
		}
	}
	cycle := []string{phaseCreate, phaseImage, phasePromote, phaseScaleDown}
	for _, ph := range r.Fleet {
		for _, name := range cycle {
			if ph.Name == name {
				p.cpu += ph.Controller.CPUSeconds
				p.peakMiB = max(p.peakMiB, ph.Controller.PeakRSSMiB)
				if name != phaseCreate {
					// The update's requests: at 1,000 Rollouts on a
					// busy machine the audit log lost most of the
					// creation's.
					p.requests += ph.Requests.Total
					p.events += ph.Requests.EventWrites
				}
			}
		}
	}
	if p.rssMiB == 0 || p.requests == 0 {
		return p, fmt.Errorf("%s: no idle RSS with the fleet or no fleet phases (a run that stopped early?)", path)
	}
	return p, nil
}

// printScaleModel fits memory, CPU and requests against N over runs of
// different N and projects them to modelProjectN Rollouts.
func printScaleModel(out io.Writer, files []string) error {
	var points []scalePoint
	for _, f := range files {
		p, err := readScalePoint(f)
		if err != nil {
			return err
		}
		points = append(points, p)
	}
	sort.Slice(points, func(i, j int) bool { return points[i].n < points[j].n })
	if len(points) < 2 || points[0].n == points[len(points)-1].n {
		return fmt.Errorf("the scale model needs runs of at least two fleet sizes")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(out, "\nSCALE MODEL (one full cycle per run: created, image changed, promoted, scaled down)")
	fmt.Fprintln(tw, "  N\tidle RSS, N Healthy\tGo heap live\tpeak RSS\tctrl CPU/cycle\tCPU ms/Rollout\trequests/update\tper Rollout\twithout Events\tload average (start → end)")
	var ns, rss, anon, peak, cpu, reqs []float64
	// The heap is read from a heap profile: only runs with -pprof have it.
	var heapNs, heap []float64
	for _, p := range points {
		n := float64(p.n)
		heapCell := "—"
		if p.heapMiB > 0 {
			heapCell = fmt.Sprintf("%.1f MiB", p.heapMiB)
		}
		fmt.Fprintf(tw, "  %d\t%.1f MiB\t%s\t%.1f MiB\t%.2fs\t%.2f\t%d\t%.2f\t%.2f\t%s\n",
			p.n, p.rssMiB, heapCell, p.peakMiB, p.cpu, 1000*p.cpu/n, p.requests, float64(p.requests)/n, float64(p.requests-p.events)/n, p.load)
		ns = append(ns, n)
		rss, anon, peak = append(rss, p.rssMiB), append(anon, p.anonMiB), append(peak, p.peakMiB)
		if p.heapMiB > 0 {
			heapNs, heap = append(heapNs, n), append(heap, p.heapMiB)
		}
		cpu, reqs = append(cpu, p.cpu), append(reqs, float64(p.requests))
	}
	tw.Flush()
	fmt.Fprintf(out, "\n  least-squares fits y = a + b·N over N = %v, projected to N = %d:\n", ints(points), modelProjectN)
	fmt.Fprintln(tw, "  figure\ta (fixed)\tb (per Rollout)\tat 1,000\tat 10,000\ttarget")
	row := func(name, unit string, f fit, perUnit float64, perName, target string) {
		fmt.Fprintf(tw, "  %s\t%.1f %s\t%.3f %s\t%.1f %s\t%.1f %s\t%s\n", name, f.a, unit, f.b*perUnit, perName, f.at(1000), unit, f.at(modelProjectN), unit, target)
	}
	fRSS := leastSquares(ns, rss)
	row("idle RSS with N Healthy", "MiB", fRSS, 1024, "KiB", fmt.Sprintf("≤%d MiB at 1,000 %s, ≤%d MiB at 10,000 %s",
		targetRSSAt1000MiB, mark(fRSS.at(1000) <= targetRSSAt1000MiB), targetRSSAt10000MiB, mark(fRSS.at(modelProjectN) <= targetRSSAt10000MiB)))
	// The binary's file-backed pages vary by a few MiB between runs with
	// what the page cache keeps; the anonymous part is what the
	// controller holds.
	row("anonymous RSS with N Healthy", "MiB", leastSquares(ns, anon), 1024, "KiB", "")
	if len(heapNs) >= 2 {
		row("Go heap live with N Healthy", "MiB", leastSquares(heapNs, heap), 1024, "KiB", fmt.Sprintf("(runs with -pprof: N = %v)", heapNs))
	}
	fPeak := leastSquares(ns, peak)
	row("peak RSS over the cycle", "MiB", fPeak, 1024, "KiB", fmt.Sprintf("≤%d MiB at 10,000 %s", targetRSSAt10000MiB, mark(fPeak.at(modelProjectN) <= targetRSSAt10000MiB)))
	row("controller CPU per cycle", "s", leastSquares(ns, cpu), 1000, "ms", "")
	row("API requests per update", "req", leastSquares(ns, reqs), 1, "req", "")
	return tw.Flush()
}

func ints(points []scalePoint) []int {
	var out []int
	for _, p := range points {
		out = append(out, p.n)
	}
	return out
}
