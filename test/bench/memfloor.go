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
	"syscall"
	"time"

	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/ctrlproc"
)

// The memory floor (-memory-floor): the fleet's floor run in a process of
// its own, so that its resident memory can be read as the controller's
// is. It is this binary again (-memory-floor-child), a controller built
// on controller-runtime's cache and client-go as any controller of the API
// would be, that makes each required write once and keeps nothing else.
// Its RSS is read before its fleet's release, once its fleet is deleted
// and at the controller's last idle reading, when its own fleet has long
// been deleted: what it still holds over its fresh start is what Go's runtime,
// client-go and the kernel keep of a controller for having driven a fleet
// at all, whatever the controller's own choices.
const (
	memoryFloorUser = "switchyard-bench-memory-floor"
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

// memoryFloorChild is the floor's process as the bench sees it.
type memoryFloorChild struct {
	p    *ctrlproc.Process
	url  string
	logs string
}

// runMemoryFloor is the child's main: the fleet's floor on the namespace
// of cfg, answering on cfg.memoryFloorAddress's /readyz (500 once it has
// failed) until SIGTERM.
func runMemoryFloor(cfg config) error {
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
	b := &bench{cfg: cfg, ns: cfg.memoryFloorNamespace, rest: rest, cl: cl}
	f, err := startFleetFloor(ctx, b)
	if err != nil {
		return err
	}
	defer f.close()
	ln, err := net.Listen("tcp", cfg.memoryFloorAddress)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := f.err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return f.err()
}

// startMemoryFloor starts the fleet's floor in a process of its own and
// waits until its caches are synced.
func (b *bench) startMemoryFloor(ctx context.Context, local *cluster.Cluster, tmp string) (*memoryFloorChild, error) {
	kubeconfig := b.cfg.Kubeconfig
	if local != nil {
		user, err := local.UserConfig(memoryFloorUser, "system:masters")
		if err != nil {
			return nil, fmt.Errorf("issue the memory floor's client certificate: %w", err)
		}
		kubeconfig = filepath.Join(tmp, "memory-floor.kubeconfig")
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
	m := &memoryFloorChild{url: "http://" + addr + "/readyz", logs: filepath.Join(b.cfg.Out, b.stamp+"-memory-floor.log")}
	args := []string{
		"-memory-floor-child", "-kubeconfig", kubeconfig,
		"-memory-floor-namespace", b.ns, "-memory-floor-address", addr,
		"-n", fmt.Sprint(b.cfg.N), "-scale-down-delay", fmt.Sprint(b.cfg.ScaleDownDelay),
		fmt.Sprintf("-floor-progressing=%t", b.cfg.FloorProgressing),
	}
	if m.p, err = ctrlproc.Start(self, args, m.logs); err != nil {
		return nil, fmt.Errorf("start the memory floor: %w", err)
	}
	if err := m.p.WaitReady(ctx, m.url, time.Minute); err != nil {
		m.p.Stop(5 * time.Second)
		return nil, fmt.Errorf("memory floor: %w (log in %s)", err, m.logs)
	}
	b.cpu.track(memoryFloorProcess, m.p.Pid)
	return m, nil
}

// healthy fails once the floor's process has exited or its floor failed.
func (m *memoryFloorChild) healthy(ctx context.Context) error {
	if err := m.p.Alive(); err != nil {
		return fmt.Errorf("memory floor: %w (log in %s)", err, m.logs)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("memory floor: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("memory floor failed (log in %s)", m.logs)
	}
	return nil
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
