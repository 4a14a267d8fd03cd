package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The promote's way through the controller, read from its execution trace
// (-exec-trace): from the Service patch of each promote, the goroutines
// that woke one another are followed back to the one the network woke. For
// each, the trace tells how long it waited for a core once woken and how
// long it ran until it woke the next.

// promoteWay is the report of the walk: one row per kind of goroutine on
// the way, in the order the way passes them, and the way's whole length.
type promoteWay struct {
	Promotes int       `json:"promotes"`
	Total    dist      `json:"total"`
	Steps    []wayStep `json:"steps"`
}

type wayStep struct {
	// Goroutine is the function the goroutine runs (its outermost frame
	// of interest).
	Goroutine string `json:"goroutine"`
	Wait      dist   `json:"wait"`
	Run       dist   `json:"run"`
}

// traceTransition is a goroutine's state change: actor is the goroutine
// that made it (the waker, for a wake-up; -1 for the runtime).
type traceTransition struct {
	at            time.Duration
	actor, g      int64
	from, to      string
	stack, tstack []string
}

var (
	traceEventLine = regexp.MustCompile(`^M=-?\d+ P=-?\d+ G=(-?\d+) (\w+) Time=(\d+)(.*)$`)
	traceGoState   = regexp.MustCompile(`GoID=(\d+) (\w+)->(\w+)`)
)

// readTransitions runs `go tool trace -d=parsed` and keeps the goroutine
// state transitions with their stacks' function names.
func readTransitions(ctx context.Context, path string) ([]traceTransition, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "trace", "-d=parsed", path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var (
		all    []traceTransition
		cur    *traceTransition
		frames *[]string
		names  = map[string]string{}
	)
	flush := func() {
		if cur != nil {
			all = append(all, *cur)
		}
		cur, frames = nil, nil
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := traceEventLine.FindStringSubmatch(line); m != nil {
			flush()
			st := traceGoState.FindStringSubmatch(m[4])
			if m[2] != "StateTransition" || st == nil {
				continue
			}
			actor, _ := strconv.ParseInt(m[1], 10, 64)
			at, _ := strconv.ParseInt(m[3], 10, 64)
			g, _ := strconv.ParseInt(st[1], 10, 64)
			cur = &traceTransition{at: time.Duration(at), actor: actor, g: g, from: st[2], to: st[3]}
			continue
		}
		switch {
		case cur == nil:
		case strings.HasPrefix(line, "Stack="):
			frames = &cur.stack
		case strings.HasPrefix(line, "TransitionStack="):
			frames = &cur.tstack
		case frames != nil && strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "\t\t"):
			fn, _, _ := strings.Cut(strings.TrimSpace(line), " @ ")
			if n, ok := names[fn]; ok {
				fn = n
			} else {
				names[fn] = fn
			}
			*frames = append(*frames, fn)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("go tool trace: %w: %s", err, stderr.String())
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	return all, nil
}

// wayRoles name the goroutines a promote passes, by a function each runs
// (first match wins: the informer's queue also calls the listeners' add).
var wayRoles = []struct{ frame, role string }{
	{"(*ClientConn).readLoop", "HTTP/2 connection reader (frames off the socket)"},
	{"(*StreamWatcher).receive", "watch decoder (the event's JSON into a Rollout)"},
	{"(*Reflector)", "reflector (cache transform: slimmed, encoded; queued)"},
	{"(*controller).processLoop", "informer (cache and indexes updated; handed to listeners)"},
	{"(*processorListener).pop", "listener's buffer"},
	{"(*processorListener).run", "event handler (predicate; work queue add)"},
	{"handleAddBuffer", "work queue: added"},
	{"handleReadyItems", "work queue: handed out"},
	{"processNextWorkItem", "reconcile worker: the pass, to its Service patch"},
}

// requestRole names the goroutine x/net/http2 starts for each request.
const requestRole = "request writer (x/net/http2's goroutine per request), to its write"

// goroutineRole names a goroutine by the functions seen on its stacks;
// failing a known role, by the outermost frame of interest of one stack.
func goroutineRole(frames map[string]bool, stack []string) string {
	for _, r := range wayRoles {
		for fn := range frames {
			if strings.Contains(fn, r.frame) {
				return r.role
			}
		}
	}
	return goroutineName(stack)
}

// goroutineName is the outermost frame of a stack that is neither the
// runtime's nor a wrapper's: what the goroutine was started to run.
func goroutineName(stack []string) string {
	for _, fn := range slices.Backward(stack) {
		if strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") || strings.Contains(fn, "wait.") {
			continue
		}
		// Shorten the package path to its last element.
		if i := strings.LastIndex(fn, "/"); i >= 0 {
			fn = fn[i+1:]
		}
		return fn
	}
	return "?"
}

// walkPromotes follows each promote's way back from the controller's
// Service patch (sent from pointService).
func walkPromotes(ts []traceTransition) *promoteWay {
	byG := map[int64][]traceTransition{}
	created := map[int64][]traceTransition{}
	frames := map[int64]map[string]bool{}
	stacks := map[int64][]string{}
	for _, t := range ts {
		byG[t.g] = append(byG[t.g], t)
		if t.from == "NotExist" && t.to == "Runnable" {
			created[t.actor] = append(created[t.actor], t)
		}
		if frames[t.g] == nil {
			frames[t.g] = map[string]bool{}
		}
		if stacks[t.g] == nil && len(t.tstack) > 0 {
			stacks[t.g] = t.tstack
		}
		for _, fn := range t.tstack {
			frames[t.g][fn] = true
		}
	}
	names := map[int64]string{}
	for g, fs := range frames {
		names[g] = goroutineRole(fs, stacks[g])
	}
	// lastWake is the index in byG[g] of g's last wake-up at or before at,
	// or -1.
	lastWake := func(g int64, at time.Duration) int {
		evs := byG[g]
		i := sort.Search(len(evs), func(i int) bool { return evs[i].at > at }) - 1
		for ; i >= 0; i-- {
			if e := evs[i]; e.to == "Runnable" && e.from != "Running" || e.from == "Syscall" {
				return i
			}
		}
		return -1
	}
	// waitRun splits g's time from its wake-up (byG[g][wake]) to until
	// into runnable (waiting for a core) and running.
	waitRun := func(g int64, wake int, until time.Duration) (wait, run time.Duration) {
		state, since := byG[g][wake].to, byG[g][wake].at
		for _, e := range byG[g][wake+1:] {
			if e.at > until {
				break
			}
			switch state {
			case "Running":
				run += e.at - since
			case "Runnable":
				wait += e.at - since
			}
			state, since = e.to, e.at
		}
		switch state {
		case "Running":
			run += until - since
		case "Runnable":
			wait += until - since
		}
		return wait, run
	}

	// stepTimes are a role's times on the ways, and its positions on them
	// (to list the roles in the order a way passes them).
	type stepTimes struct {
		wait, run []time.Duration
		positions float64
	}
	var (
		steps  = map[string]*stepTimes{}
		totals []time.Duration
		last   time.Duration = -time.Hour
	)
	add := func(name string, position float64, wait, run time.Duration) {
		st, ok := steps[name]
		if !ok {
			st = &stepTimes{}
			steps[name] = st
		}
		st.wait, st.run = append(st.wait, wait), append(st.run, run)
		st.positions += position
	}
	for _, send := range ts {
		if send.from != "Running" || (send.to != "Waiting" && send.to != "Syscall") ||
			!slices.ContainsFunc(append(slices.Clip(send.stack), send.tstack...), func(fn string) bool { return strings.HasSuffix(fn, ".(*Reconciler).pointService") }) {
			continue
		}
		// One promote's first patch; a second Service write of the same
		// pass follows within microseconds.
		if send.at-last < 200*time.Millisecond {
			continue
		}
		last = send.at
		type hop struct {
			name      string
			wait, run time.Duration
		}
		var way []hop
		g, at, start := send.g, send.at, send.at
		for range 30 {
			i := lastWake(g, at)
			if i < 0 {
				break
			}
			wait, run := waitRun(g, i, at)
			wake := byG[g][i]
			way = append(way, hop{names[g], wait, run})
			start = wake.at
			if wake.from == "Syscall" || wake.actor < 0 || wake.actor == g {
				break
			}
			g, at = wake.actor, wake.at
		}
		// x/net/http2 writes each request from a goroutine of its own,
		// started by the pass just before it blocks.
		end := send.at
		for _, c := range created[send.g] {
			if c.at > send.at || c.at < send.at-5*time.Millisecond {
				continue
			}
			evs := byG[c.g]
			var running, write time.Duration
			for _, e := range evs {
				if e.at >= c.at && e.to == "Running" && running == 0 {
					running = e.at
				}
				if e.at >= c.at && e.to == "Syscall" {
					write = e.at
					break
				}
			}
			if running > 0 && write > 0 {
				add(requestRole, float64(len(way)), running-c.at, write-running)
				end = write
			}
		}
		for i, h := range slices.Backward(way) {
			add(h.name, float64(len(way)-1-i), h.wait, h.run)
		}
		totals = append(totals, end-start)
	}
	if len(totals) == 0 {
		return nil
	}
	out := &promoteWay{Promotes: len(totals), Total: distOf(totals)}
	for name, st := range steps {
		out.Steps = append(out.Steps, wayStep{Goroutine: name, Wait: distOf(st.wait), Run: distOf(st.run)})
	}
	meanPosition := func(name string) float64 { return steps[name].positions / float64(len(steps[name].wait)) }
	sort.Slice(out.Steps, func(i, j int) bool {
		return meanPosition(out.Steps[i].Goroutine) < meanPosition(out.Steps[j].Goroutine)
	})
	return out
}
