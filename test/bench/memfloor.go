package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/ctrlproc"
)

// The memory floor (-memory-floor): the fleet's floor run in a process of
// its own, so that its resident memory can be read as the controller's
// is. It is this binary again (-floor-child), a controller built
// on controller-runtime's cache and client-go as any controller of the API
// would be, that makes each required write once and keeps nothing else.
// Its RSS is read before its fleet's release, once its fleet is deleted
// and at the controller's last idle reading, when its own fleet has long
// been deleted: what it still holds over its fresh start is what Go's runtime,
// client-go and the kernel keep of a controller for having driven a fleet
// at all, whatever the controller's own choices.
const (
	// memoryFloorProcess names it in the CPU split.
	memoryFloorProcess = "memory floor"
	// memoryFloorGCPercent is the controller's default GOGC, so the two
	// collect alike.
	memoryFloorGCPercent = 50
)

// The floor's readings.
const (
	memoryFloorFresh   = "fresh, before its fleet"
	memoryFloorDeleted = "its fleet deleted"
	memoryFloorLast    = "at the controller's last idle reading"
)

// floorRole is what a floor's process serves (-floor-child-role): the
// fleet's floor (-memory-floor), or the latency phase's controller floor
// (floor.go), which runs in a process of its own as the controller does, so
// that a promote wakes it as it wakes the controller rather than finding it
// in the bench's busy process.
type floorRole struct {
	// flag is its -floor-child-role value.
	flag string
	// id tells its objects and requests from another floor's.
	id floorIdentity
	// name is its name in messages and, dashed, in file names.
	name string
	// trackCPU counts its CPU in the CPU split, under its name (the
	// memory floor's phases report it beside the controller's).
	trackCPU bool
}

// The floors that run in a process of their own.
var (
	fleetFloorRole   = floorRole{flag: "fleet", id: fleetFloorIdentity, name: memoryFloorProcess, trackCPU: true}
	latencyFloorRole = floorRole{flag: "latency", id: ctrlFloorIdentity, name: "latency floor"}
)

// floorRoleOf is the floor a -floor-child-role value names.
func floorRoleOf(flag string) (floorRole, error) {
	for _, r := range []floorRole{fleetFloorRole, latencyFloorRole} {
		if r.flag == flag {
			return r, nil
		}
	}
	return floorRole{}, fmt.Errorf("unknown -floor-child-role %q (%s or %s)", flag, fleetFloorRole.flag, latencyFloorRole.flag)
}

// floorProcess is a floor's process as the bench sees it.
type floorProcess struct {
	p *ctrlproc.Process
	// url answers 500 once the floor has failed; settledURL 503 while
	// it has work queued or Events unsent.
	url, settledURL string
	// name is the floor's in messages, logs the file of its output.
	name, logs string
}

// runFloorProcess is the child's main: the floor of cfg's role on the
// namespace of cfg, answering on cfg.floorChildAddress's /readyz (500
// once it has failed) and /settled until SIGTERM.
func runFloorProcess(cfg config, role floorRole) error {
	debug.SetGCPercent(memoryFloorGCPercent)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rest, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load %s: %w", cfg.Kubeconfig, err)
	}
	// As the bench's own floor: no client-side throttling.
	rest.QPS, rest.Burst = benchQPS, benchBurst
	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cl, err := client.New(rest, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	// The floor reads of the bench only what this gives it.
	b := &bench{cfg: cfg, ns: cfg.floorChildNamespace, rest: rest, cl: cl}
	f, err := startFleetFloor(ctx, b, role.id)
	if err != nil {
		return err
	}
	defer f.close()
	ln, err := net.Listen("tcp", cfg.floorChildAddress)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := f.err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/settled", func(w http.ResponseWriter, _ *http.Request) {
		switch idle, err := f.idle(); {
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case !idle:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return f.err()
}

// startFloorProcess starts the floor of role in a process of its own and
// waits until its caches are synced.
func (b *bench) startFloorProcess(ctx context.Context, role floorRole) (*floorProcess, error) {
	kubeconfig := b.cfg.Kubeconfig
	name := strings.ReplaceAll(role.name, " ", "-")
	if b.local != nil {
		user, err := b.local.UserConfig("switchyard-bench-"+name, "system:masters")
		if err != nil {
			return nil, fmt.Errorf("issue the %s's client certificate: %w", name, err)
		}
		kubeconfig = filepath.Join(b.tmp, name+".kubeconfig")
		if err := ctrlproc.WriteKubeconfig(kubeconfig, user); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ports, err := ctrlproc.FreePorts(1)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	m := &floorProcess{
		url: "http://" + addr + "/readyz", settledURL: "http://" + addr + "/settled", name: role.name,
		logs: filepath.Join(b.cfg.Out, b.stamp+"-"+name+".log"),
	}
	args := []string{
		"-floor-child", "-floor-child-role", role.flag, "-kubeconfig", kubeconfig,
		"-floor-child-namespace", b.ns, "-floor-child-address", addr,
		"-n", fmt.Sprint(b.cfg.N), "-scale-down-delay", fmt.Sprint(b.cfg.ScaleDownDelay),
		fmt.Sprintf("-floor-progressing=%t", b.cfg.FloorProgressing),
	}
	if m.p, err = ctrlproc.Start(self, args, m.logs); err != nil {
		return nil, fmt.Errorf("start the %s: %w", name, err)
	}
	if err := m.p.WaitReady(ctx, m.url, time.Minute); err != nil {
		m.p.Stop(5 * time.Second)
		return nil, fmt.Errorf("%s: %w (log in %s)", name, err, m.logs)
	}
	if role.trackCPU {
		b.cpu.track(role.name, m.p.Pid)
	}
	return m, nil
}

// settled waits until the floor's process is idle and no Event has
// arrived for a second (settleFloor), as fleetFloor.settle does in the
// bench's process.
func (m *floorProcess) settled(ctx context.Context, lastEvent *atomic.Int64) error {
	return settleFloor(ctx, fmt.Sprintf("%s (log in %s)", m.name, m.logs), lastEvent, func() (bool, error) {
		// /settled answers 500 once the floor has failed, as /readyz does.
		code, err := m.get(ctx, m.settledURL)
		if err != nil {
			return false, err
		}
		return code == http.StatusOK, nil
	})
}

// healthy fails once the floor's process has exited or its floor failed.
func (m *floorProcess) healthy(ctx context.Context) error {
	code, err := m.get(ctx, m.url)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("%s failed (log in %s)", m.name, m.logs)
	}
	return err
}

// get asks one of the floor's process's endpoints and returns its status
// code; it fails if the process has exited or answers 500 (its floor
// failed).
func (m *floorProcess) get(ctx context.Context, url string) (int, error) {
	if err := m.p.Alive(); err != nil {
		return 0, fmt.Errorf("%s: %w (log in %s)", m.name, err, m.logs)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", m.name, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusInternalServerError {
		return 0, fmt.Errorf("%s failed (log in %s)", m.name, m.logs)
	}
	return resp.StatusCode, nil
}

// memoryFloorSettle waits until the floor's process has been quiet for a
// second (at most 20ms of CPU, no Event written in the namespace), as the
// bench waits for the controller's.
func (b *bench) memoryFloorSettle(ctx context.Context) error {
	m := b.memoryFloor
	return settleProcess(ctx, proc{pid: m.p.Pid}, func() error { return m.healthy(ctx) }, &b.lastEvent, memoryFloorProcess)
}

// memoryFloorFailed is the floor's failure, if any.
func (b *bench) memoryFloorFailed() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.memoryFloor.healthy(ctx)
}

// readMemoryFloor records the floor's resident memory under name.
func (b *bench) readMemoryFloor(name string) {
	if b.memoryFloor == nil {
		return
	}
	rec, err := proc{pid: b.memoryFloor.p.Pid}.rss()
	if err != nil {
		logf("read the memory floor's RSS: %v", err)
		return
	}
	logf("memory floor RSS %s: %.1f MiB (%.1f anonymous, %.1f file)", name, rec.RSSMiB, rec.AnonMiB, rec.FileMiB)
	rec.Name = name
	b.res.MemoryFloor = append(b.res.MemoryFloor, rec)
}
