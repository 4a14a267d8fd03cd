package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/switchyard-dev/switchyard/test/ctrlproc"
)

// controllerProc is the controller under test: one the bench built and
// started, or an external one known by its PID.
type controllerProc struct {
	proc
	// Name describes it in the report.
	Name string
	// binary is the executable, for pprof symbolisation ("" if unknown).
	binary string
	// pprofURL is the base URL of its net/http/pprof handlers, or "".
	pprofURL string
	// p is set when the bench started it.
	p *ctrlproc.Process
}

// buildController builds cmd/switchyard into dir.
func buildController(ctx context.Context, root, dir string) (string, error) {
	if err := ctrlproc.Build(ctx, root, dir, "./cmd/switchyard"); err != nil {
		return "", err
	}
	return filepath.Join(dir, "switchyard"), nil
}

// startController runs bin with kubeconfig, waits for its readiness
// endpoint and returns it. Its output goes to logPath.
func startController(ctx context.Context, bin, kubeconfig, logPath string, pprof bool, extra []string) (*controllerProc, error) {
	ports, err := ctrlproc.FreePorts(2)
	if err != nil {
		return nil, err
	}
	health := fmt.Sprintf("127.0.0.1:%d", ports[0])
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=" + health,
	}
	c := &controllerProc{Name: "switchyard (built from ./cmd/switchyard)", binary: bin}
	if pprof {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[1])
		args = append(args, "--pprof-address="+addr)
		c.pprofURL = "http://" + addr
	}
	args = append(args, extra...)
	if c.p, err = ctrlproc.Start(bin, args, logPath); err != nil {
		return nil, fmt.Errorf("start controller: %w", err)
	}
	c.pid = c.p.Pid
	if err := c.p.WaitReady(ctx, "http://"+health+"/readyz", time.Minute); err != nil {
		c.stop()
		return nil, fmt.Errorf("controller: %w (log in %s)", err, logPath)
	}
	return c, nil
}

// alive fails when the controller has exited.
func (c *controllerProc) alive() error {
	if c.p == nil {
		if err := syscall.Kill(c.pid, 0); err != nil {
			return fmt.Errorf("controller pid %d: %w", c.pid, err)
		}
		return nil
	}
	if err := c.p.Alive(); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	return nil
}

// stop ends a controller the bench started: SIGTERM, then SIGKILL.
func (c *controllerProc) stop() {
	if c.p != nil {
		c.p.Stop(30 * time.Second)
	}
}

// cpuProfiler takes back-to-back CPU profiles of a process (pprof cannot
// end a profile early), to be merged into one, or into one per phase from
// the chunks that overlap it.
type cpuProfiler struct {
	cancel context.CancelFunc
	done   chan struct{}
	chunks []profileChunkFile
	err    error
}

// profileChunkFile is one chunk and when it was asked for and received.
type profileChunkFile struct {
	path       string
	start, end time.Time
}

// profileChunk is short so that a phase of a few seconds (the promote at
// N=100) has a profile of its own rather than one shared with the next.
const profileChunk = time.Second

// profileFetch saves one CPU profile of the given seconds to path.
type profileFetch func(ctx context.Context, seconds int, path string) error

// startCPUProfile profiles the controller serving pprof at base.
func startCPUProfile(ctx context.Context, base, dir, prefix string) *cpuProfiler {
	return startProfiler(ctx, dir, prefix+"-cpu", func(ctx context.Context, seconds int, path string) error {
		return fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds), path, time.Duration(seconds)*time.Second+30*time.Second)
	})
}

// startAPIServerProfile profiles kube-apiserver through its own pprof
// endpoint (the bench's identity may read it).
func startAPIServerProfile(ctx context.Context, kube kubernetes.Interface, dir, prefix string) *cpuProfiler {
	return startProfiler(ctx, dir, prefix, func(ctx context.Context, seconds int, path string) error {
		data, err := kube.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", strconv.Itoa(seconds)).
			Timeout(time.Duration(seconds)*time.Second + 30*time.Second).DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("kube-apiserver CPU profile: %w", err)
		}
		return os.WriteFile(path, data, 0o644)
	})
}

func startProfiler(ctx context.Context, dir, prefix string, get profileFetch) *cpuProfiler {
	ctx, cancel := context.WithCancel(ctx)
	p := &cpuProfiler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ctx.Err() == nil; i++ {
			path := filepath.Join(dir, fmt.Sprintf("%s-%04d.pprof", prefix, i))
			start := time.Now()
			// The request is not tied to ctx: cancelling it mid-profile
			// would lose the chunk. stop waits for the last one.
			if err := get(context.WithoutCancel(ctx), int(profileChunk/time.Second), path); err != nil {
				p.err = err
				return
			}
			p.chunks = append(p.chunks, profileChunkFile{path: path, start: start, end: time.Now()})
		}
	}()
	return p
}

// phaseSpan is when a phase ran: its first write to its last object done.
type phaseSpan struct {
	phase      string
	start, end time.Time
}

// stop waits for the chunk in progress, merges every chunk into out and,
// for each span, the chunks that overlap it into a profile of its own (out
// with the span's file suffix before .pprof). It returns those profiles
// by phase, and removes the chunks.
func (p *cpuProfiler) stop(ctx context.Context, out string, spans ...phaseSpan) (map[string]string, error) {
	p.cancel()
	<-p.done
	defer func() {
		for _, c := range p.chunks {
			_ = os.Remove(c.path)
		}
	}()
	if p.err != nil {
		return nil, p.err
	}
	if len(p.chunks) == 0 {
		return nil, fmt.Errorf("no CPU profile taken")
	}
	if err := mergeProfiles(ctx, out, p.chunks); err != nil {
		return nil, err
	}
	byPhase := map[string]string{}
	for _, s := range spans {
		var in []profileChunkFile
		for _, c := range p.chunks {
			if c.start.Before(s.end) && c.end.After(s.start) {
				in = append(in, c)
			}
		}
		if len(in) == 0 {
			continue
		}
		path := strings.TrimSuffix(out, ".pprof") + "-" + phaseFileSuffix(s.phase) + ".pprof"
		if err := mergeProfiles(ctx, path, in); err != nil {
			return byPhase, err
		}
		byPhase[s.phase] = path
	}
	return byPhase, nil
}

// phaseFileSuffix is a phase's name as a file name's part.
func phaseFileSuffix(phase string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(phase), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}), "-")
}

// mergeProfiles merges chunks into one profile at out.
func mergeProfiles(ctx context.Context, out string, chunks []profileChunkFile) error {
	args := []string{"tool", "pprof", "-proto"}
	for _, c := range chunks {
		args = append(args, c.path)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = f, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("merge CPU profiles into %s: %w: %s", out, err, stderr.String())
	}
	return nil
}

func fetch(ctx context.Context, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pprofTop is `go tool pprof -top` of profiles.
func pprofTop(ctx context.Context, binary, sampleIndex, diffBase string, nodes int, profiles ...string) (string, error) {
	args := []string{"tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", nodes)}
	if diffBase != "" {
		args = append(args, "-diff_base="+diffBase)
	}
	if sampleIndex != "" {
		args = append(args, "-sample_index="+sampleIndex)
	} else {
		// CPU: by cumulative time, which shows where (which reconcile
		// step, decoding, events) rather than which leaf function.
		args = append(args, "-cum")
	}
	if binary != "" {
		args = append(args, binary)
	}
	args = append(args, profiles...)
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w: %s", err, out)
	}
	return string(out), nil
}

// memStats reads the runtime.MemStats lines ("# HeapInuse = 123") that
// net/http/pprof appends to a debug heap profile, after a GC.
func memStats(base string) (map[string]int64, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Get(base + "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("heap profile: %s", resp.Status)
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), " = ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	if _, ok := out["HeapInuse"]; !ok {
		return nil, fmt.Errorf("no runtime.MemStats in the heap profile")
	}
	return out, sc.Err()
}
