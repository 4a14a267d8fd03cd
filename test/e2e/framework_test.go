package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
)

const (
	timeout = 2 * time.Minute
	poll    = 100 * time.Millisecond
)

// testEnv is one test's namespace with its own controller process.
type testEnv struct {
	t          *testing.T
	g          *WithT
	ns         string
	kube       kubernetes.Interface
	client     client.Client
	controller *controllerProcess
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newBareTestEnv(t)
	e.controller = e.startController()
	return e
}

// newBareTestEnv is a namespace without a controller.
func newBareTestEnv(t *testing.T) *testEnv {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(timeout)
	g.SetDefaultEventuallyPollingInterval(poll)
	g.SetDefaultConsistentlyPollingInterval(poll)
	kube, err := kubernetes.NewForConfig(env.RESTConfig)
	g.Expect(err).NotTo(HaveOccurred())
	scheme, err := manager.Scheme()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(imagesv1.AddToScheme(scheme)).To(Succeed())
	c, err := client.New(env.RESTConfig, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ns, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	e := &testEnv{t: t, g: g, ns: ns.Name, kube: kube, client: c}
	t.Cleanup(func() {
		if e.controller == nil {
			return
		}
		e.controller.stop()
		if t.Failed() {
			t.Logf("controller log:\n%s", e.controller.log())
			out, _ := e.kubectl("get", "rollouts,rs,svc,pods", "-o", "wide")
			t.Logf("objects:\n%s", out)
		}
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return e
}

// controllerProcess is the switchyard binary watching one namespace.
type controllerProcess struct {
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
}

func (e *testEnv) startController() *controllerProcess {
	return e.startControllerAs(env.Kubeconfig)
}

// startControllerAs runs the controller with the identity of kubeconfig.
func (e *testEnv) startControllerAs(kubeconfig string, extraArgs ...string) *controllerProcess {
	e.t.Helper()
	out := &syncbuf.Buffer{}
	cmd := exec.Command(filepath.Join(binDir, "switchyard"), append([]string{
		"--kubeconfig=" + kubeconfig,
		"--namespace=" + e.ns,
		"--leader-elect=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
		"--zap-log-level=debug",
	}, extraArgs...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	e.g.Expect(cmd.Start()).To(Succeed())
	p := &controllerProcess{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p
}

// kill SIGKILLs the controller: no graceful shutdown, as in a node crash.
func (p *controllerProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *controllerProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.kill()
	}
}

func (p *controllerProcess) log() string { return p.out.String() }

// restartController kills the controller and starts a new one.
func (e *testEnv) restartController() {
	e.controller.kill()
	e.controller = e.startController()
}

func (e *testEnv) kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig=" + env.Kubeconfig, "-n", e.ns}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *testEnv) mustKubectl(args ...string) string {
	e.t.Helper()
	out, err := e.kubectl(args...)
	e.g.Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

// applySeed applies a seed manifest from examples/ verbatim.
func (e *testEnv) applySeed(file string) {
	e.t.Helper()
	e.mustKubectl("apply", "-f", filepath.Join(root, "examples", file))
}

func (e *testEnv) rollout(name string) func() *v1alpha1.Rollout {
	return func() *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		if err := e.client.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: name}, ro); err != nil {
			return nil
		}
		return ro
	}
}

func (e *testEnv) service(name string) func() *corev1.Service {
	return func() *corev1.Service {
		svc, err := e.kube.CoreV1().Services(e.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return svc
	}
}

func (e *testEnv) replicaSets() []appsv1.ReplicaSet {
	list, err := e.kube.AppsV1().ReplicaSets(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil
	}
	return list.Items
}

// replicaSetCounts maps each ReplicaSet's pod-template hash to its
// spec.replicas/ready, e.g. {"abc": "1/1"}.
func (e *testEnv) replicaSetCounts() map[string]string {
	out := map[string]string{}
	for _, rs := range e.replicaSets() {
		out[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = fmt.Sprintf("%d/%d", ptr.Deref(rs.Spec.Replicas, 0), rs.Status.ReadyReplicas)
	}
	return out
}

// setImage changes the first container's image, as a new build would.
func (e *testEnv) setImage(name, image string) {
	e.t.Helper()
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image)
	e.mustKubectl("patch", "rollout", name, "--type=json", "-p", patch)
}

// promote does what `kubectl argo rollouts promote` does to a paused rollout.
func (e *testEnv) promote(name string) {
	e.t.Helper()
	e.mustKubectl("patch", "rollout", name, "--subresource=status", "--type=merge", "-p", `{"status":{"pauseConditions":null}}`)
}

func phaseOf(ro *v1alpha1.Rollout) string {
	if ro == nil || ro.Status.ObservedGeneration != v1alpha1.ObservedGenerationString(ro.Generation) {
		return ""
	}
	return string(ro.Status.Phase)
}

// endpointWatcher records, from the moment a Service first has a ready
// endpoint, every moment it has none: what a client would see as downtime.
type endpointWatcher struct {
	mu      sync.Mutex
	started bool
	gaps    []string
	minSeen int
	cancel  context.CancelFunc
	done    chan struct{}
}

func (e *testEnv) watchEndpoints(service string) *endpointWatcher {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &endpointWatcher{cancel: cancel, done: make(chan struct{}), minSeen: -1}
	watcher, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Watch(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	e.g.Expect(err).NotTo(HaveOccurred())
	slices := map[string]*discoveryv1.EndpointSlice{}
	go func() {
		defer close(w.done)
		for ev := range watcher.ResultChan() {
			slice, ok := ev.Object.(*discoveryv1.EndpointSlice)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(slices, slice.Name)
			} else {
				slices[slice.Name] = slice
			}
			ready := 0
			for _, s := range slices {
				for _, ep := range s.Endpoints {
					if ptr.Deref(ep.Conditions.Ready, false) {
						ready++
					}
				}
			}
			w.mu.Lock()
			if ready > 0 {
				w.started = true
			}
			if w.started {
				if w.minSeen < 0 || ready < w.minSeen {
					w.minSeen = ready
				}
				if ready == 0 {
					w.gaps = append(w.gaps, fmt.Sprintf("%s: no ready endpoint after %s of slice %s", time.Now().Format(time.RFC3339Nano), ev.Type, slice.Name))
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// stop ends the watch and returns the gaps seen.
func (w *endpointWatcher) stop() []string {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gaps
}

func (w *endpointWatcher) hasStarted() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started
}

// selectorWatcher records each distinct pod-template hash a Service selects,
// in order.
type selectorWatcher struct {
	mu     sync.Mutex
	seen   []string
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *testEnv) watchSelector(service string) *selectorWatcher {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &selectorWatcher{cancel: cancel, done: make(chan struct{})}
	watcher, err := e.kube.CoreV1().Services(e.ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + service})
	e.g.Expect(err).NotTo(HaveOccurred())
	go func() {
		defer close(w.done)
		for ev := range watcher.ResultChan() {
			svc, ok := ev.Object.(*corev1.Service)
			if !ok {
				continue
			}
			h := svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
			w.mu.Lock()
			if len(w.seen) == 0 || w.seen[len(w.seen)-1] != h {
				w.seen = append(w.seen, h)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *selectorWatcher) stop() []string {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}
