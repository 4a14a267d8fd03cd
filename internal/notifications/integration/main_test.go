// Package integration runs the notifier inside the real manager against a
// real kube-apiserver (test/cluster), with notifications delivered by
// notifications-engine's webhook service to HTTP servers on loopback.
package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/internal/notifications"
	"github.com/switchyard-dev/switchyard/test/cluster"
)

var (
	env       *cluster.Cluster
	k8sClient client.Client
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(runner{m}, &env)) }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	root, err := cluster.RepoRoot()
	if err != nil {
		panic(err)
	}
	ctrl.SetLogger(logr.Discard())
	scheme, err := manager.Scheme()
	if err != nil {
		panic(err)
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "config", "crd", "bases")},
	}); err != nil {
		panic(err)
	}
	if k8sClient, err = client.New(env.RESTConfig, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	return r.m.Run()
}

func newNamespace(t *testing.T) (string, *WithT) {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(90 * time.Second)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "notify-it-"}}
	g.Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return ns.Name, g
}

// startController runs the controller as shipped, serving namespace ns and
// reading its notification configuration there. stop stops it and waits
// until it has (the notifier drained).
func startController(t *testing.T, g *WithT, ns string, tune notifications.Options) (stop func()) {
	t.Helper()
	tune.Namespace = ns
	mgr, err := manager.New(env.RESTConfig, manager.Options{
		Namespaces: []string{ns}, MetricsAddr: "0", HealthAddr: "0",
		SkipControllerNameValidation: true,
		Notifications:                tune,
	})
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			g.Expect(<-done).To(Succeed())
		})
	}
	t.Cleanup(stop)
	return stop
}

// seedCanary is the seed canary of examples/ in ns (4 replicas) with the
// given annotations.
func seedCanary(g *WithT, ns string, annotations map[string]string) *v1alpha1.Rollout {
	root, err := cluster.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "examples", "canary-rollout.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	ro := &v1alpha1.Rollout{}
	g.Expect(yaml.Unmarshal(data, ro)).To(Succeed())
	ro.Namespace = ns
	four := int32(4)
	ro.Spec.Replicas = &four
	ro.Annotations = annotations
	return ro
}

func get(ns, name string) func() *v1alpha1.Rollout {
	return func() *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
			return nil
		}
		return ro
	}
}

// phase is the Rollout's phase once its status is up to date.
func phase(ns, name string) func() string {
	return func() string {
		ro := get(ns, name)()
		if ro == nil || ro.Status.ObservedGeneration != v1alpha1.ObservedGenerationString(ro.Generation) {
			return ""
		}
		return string(ro.Status.Phase)
	}
}

// promote clears the pause conditions, as `kubectl argo rollouts promote` does.
func promote(g *WithT, ns, name string) {
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`))
	g.Expect(k8sClient.Status().Patch(context.Background(), &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch)).To(Succeed())
}

func setImage(g *WithT, ns, name, image string) {
	patch := client.RawPatch(types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"`+image+`"}]`))
	g.Expect(k8sClient.Patch(context.Background(), &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch)).To(Succeed())
}

// receiver is a webhook receiver on loopback that keeps what it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	messages []string // "<path> <body>"
	headers  []http.Header
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.messages = append(r.messages, req.URL.Path+" "+string(body))
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.messages...)
}

// counter sums a counter's series of namespace ns from the controller's
// metrics registry.
func counter(g *WithT, name, ns string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "namespace") == ns {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// hangingReceiver accepts requests and answers none until released.
type hangingReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	count int
}

func newHangingReceiver(t *testing.T, release chan struct{}) *hangingReceiver {
	h := &hangingReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.mu.Lock()
		h.count++
		h.mu.Unlock()
		defer func() { h.mu.Lock(); h.count--; h.mu.Unlock() }()
		select {
		case <-release:
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		h.Close()
	})
	return h
}

// open is the number of requests waiting for an answer.
func (h *hangingReceiver) open() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}
