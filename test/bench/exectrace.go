package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"
)

// execTrace is a Go execution trace of the controller being recorded
// (net/http/pprof's /debug/pprof/trace). It shows each goroutine's runs
// and waits, and which goroutine woke which: a promote's way from the
// watch stream to the Service patch, and how long each step waited for a
// core.
type execTrace struct {
	path string
	done chan error
}

// startExecTrace starts recording for -exec-trace; nil when not asked for
// or when the controller serves no pprof.
func (b *bench) startExecTrace(ctx context.Context) *execTrace {
	if b.cfg.ExecTrace <= 0 || b.ctrl.pprofURL == "" {
		return nil
	}
	t := &execTrace{path: filepath.Join(b.cfg.Out, b.stamp+"-promotes.trace"), done: make(chan error, 1)}
	url := fmt.Sprintf("%s/debug/pprof/trace?seconds=%g", b.ctrl.pprofURL, b.cfg.ExecTrace.Seconds())
	go func() {
		// Not tied to ctx's cancellation, as the CPU profile: a trace cut
		// short is lost.
		t.done <- fetch(context.WithoutCancel(ctx), url, t.path, b.cfg.ExecTrace+time.Minute)
	}()
	b.res.Profiles.PromotesTrace = t.path
	logf("recording the controller's execution trace for %s into %s", b.cfg.ExecTrace, t.path)
	return t
}

// walk waits for the recording to end (it runs its full length) and walks
// the promotes' way through the controller in it; nil without a trace.
func (t *execTrace) walk(ctx context.Context) (*promoteWay, error) {
	if t == nil {
		return nil, nil
	}
	if err := <-t.done; err != nil {
		return nil, fmt.Errorf("execution trace: %w", err)
	}
	return walkTrace(ctx, t.path)
}

func walkTrace(ctx context.Context, path string) (*promoteWay, error) {
	transitions, err := readTransitions(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read execution trace %s: %w", path, err)
	}
	way := walkPromotes(transitions)
	if way == nil {
		return nil, fmt.Errorf("execution trace %s: no promote's Service patch found", path)
	}
	return way, nil
}

// printWalk prints the promotes' way in an execution trace (-walk-trace).
func printWalk(ctx context.Context, out io.Writer, path string) error {
	way, err := walkTrace(ctx, path)
	if err != nil {
		return err
	}
	printWay(out, way)
	return nil
}

// printWay prints the promotes' way through the controller, step by step.
func printWay(out io.Writer, way *promoteWay) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(out, "\n  The promote's way through the controller (execution trace, %d promotes; the trace itself slows each step):\n", way.Promotes)
	fmt.Fprintln(tw, "    goroutine woken, in the way's order\twaits for a core p50 / p95\truns p50 / p95")
	for _, st := range way.Steps {
		fmt.Fprintf(tw, "    %s\t%.3f / %.3f ms\t%.3f / %.3f ms\n", st.Goroutine, st.Wait.P50, st.Wait.P95, st.Run.P50, st.Run.P95)
	}
	fmt.Fprintf(tw, "    the way, from the network's wake-up to the Service patch's write\t\t%.3f / %.3f ms\n", way.Total.P50, way.Total.P95)
	tw.Flush()
	fmt.Fprintln(out)
}
