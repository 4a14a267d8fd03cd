package cmdtest

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/test/cluster"
)

// fixedNow is the plugin's clock in these tests, so restart times are exact.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is one test's namespace and an admin client.
type fixture struct {
	t   *testing.T
	g   *WithT
	ns  string
	c   client.Client
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(30 * time.Second)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	g.Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	c, err := client.New(env.RESTConfig, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "plugin-"}}
	g.Expect(c.Create(ctx, ns)).To(Succeed())
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	return &fixture{t: t, g: g, ns: ns.Name, c: c, ctx: ctx}
}

// result is what one plugin invocation printed and returned.
type result struct {
	out, err string
	code     int
}

// run runs the plugin in-process as admin, in the fixture's namespace.
func (f *fixture) run(args ...string) result {
	return f.runAs(env.Kubeconfig, args...)
}

func (f *fixture) runAs(kubeconfig string, args ...string) result {
	f.t.Helper()
	var out, errOut bytes.Buffer
	fac := cli.NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	fac.Clock = clocktesting.NewFakeClock(fixedNow)
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	code := plugin.Run(ctx, fac, append([]string{"--kubeconfig", kubeconfig, "-n", f.ns}, args...))
	return result{out: out.String(), err: errOut.String(), code: code}
}

// start runs the plugin in the background (for watches).
func (f *fixture) start(args ...string) *background {
	f.t.Helper()
	b := &background{out: &syncBuffer{}, errOut: &syncBuffer{}, done: make(chan int, 1)}
	fac := cli.NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: b.out, ErrOut: b.errOut})
	fac.Clock = clocktesting.NewFakeClock(fixedNow)
	var ctx context.Context
	ctx, b.cancel = context.WithTimeout(f.ctx, time.Minute)
	go func() {
		b.done <- plugin.Run(ctx, fac, append([]string{"--kubeconfig", env.Kubeconfig, "-n", f.ns}, args...))
	}()
	f.t.Cleanup(b.cancel)
	return b
}

// background is a plugin run in progress.
type background struct {
	out, errOut *syncBuffer
	// cancel interrupts the run, as Ctrl-C does.
	cancel context.CancelFunc
	done   chan int
}

// wait waits for the run to end.
func (b *background) wait() result {
	code := <-b.done
	return result{out: b.out.String(), err: b.errOut.String(), code: code}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// nobodyKubeconfig writes a kubeconfig for a user no RBAC rule mentions.
func nobodyKubeconfig(t *testing.T) string {
	t.Helper()
	cfg, err := env.UserConfig("nobody")
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["nobody"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "nobody"}
	kc.CurrentContext = "nobody"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func podTemplate(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "demo"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1"}},
			Containers:     []corev1.Container{{Name: "app", Image: image}, {Name: "sidecar", Image: "proxy:1"}},
		},
	}
}

func newRollout(name string) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "demo"}},
			Template: podTemplate("demo:1"),
		},
	}
}

func blueGreen(name string) *v1alpha1.Rollout {
	ro := newRollout(name)
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview", AutoPromotionEnabled: ptr.To(false)}
	return ro
}

func canary(name string) *v1alpha1.Rollout {
	ro := newRollout(name)
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](30)}, {Pause: &v1alpha1.RolloutPause{}}}}
	return ro
}

// create creates ro in the fixture's namespace and, if setStatus is not
// nil, writes the status it sets through the status subresource, as a
// controller would. Status fields that describe an observed spec get the
// current generation.
func (f *fixture) create(ro *v1alpha1.Rollout, setStatus func(*v1alpha1.RolloutStatus)) *v1alpha1.Rollout {
	f.t.Helper()
	ro.Namespace = f.ns
	f.g.Expect(f.c.Create(f.ctx, ro)).To(Succeed())
	if setStatus != nil {
		f.setStatus(ro.Name, setStatus)
	}
	return f.get(ro.Name)
}

func (f *fixture) setStatus(name string, setStatus func(*v1alpha1.RolloutStatus)) {
	f.t.Helper()
	ro := f.get(name)
	ro.Status.ObservedGeneration = v1alpha1.ObservedGenerationString(ro.Generation)
	setStatus(&ro.Status)
	f.g.Expect(f.c.Status().Update(f.ctx, ro)).To(Succeed())
}

func (f *fixture) get(name string) *v1alpha1.Rollout {
	f.t.Helper()
	ro := &v1alpha1.Rollout{}
	f.g.Expect(f.c.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, ro)).To(Succeed())
	return ro
}

// replicaSet creates a ReplicaSet of ro at revision rev, as the controller
// would have; replicas 0 keeps kube-controller-manager from making pods.
func (f *fixture) replicaSet(ro *v1alpha1.Rollout, rev, hash string, tmpl corev1.PodTemplateSpec, replicas int32) *appsv1.ReplicaSet {
	f.t.Helper()
	return f.replicaSetOwnedBy(ro.Name, ro.UID, rev, hash, tmpl, replicas)
}

// replicaSetOwnedBy is replicaSet with an explicit controller, to make
// ReplicaSets that match a Rollout's labels but belong to something else.
func (f *fixture) replicaSetOwnedBy(name string, owner types.UID, rev, hash string, tmpl corev1.PodTemplateSpec, replicas int32) *appsv1.ReplicaSet {
	f.t.Helper()
	tmpl = *tmpl.DeepCopy()
	tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name + "-" + hash, Namespace: f.ns,
			Labels:      tmpl.Labels,
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: rev},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Name: name, UID: owner,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels},
			Template: tmpl,
		},
	}
	f.g.Expect(f.c.Create(f.ctx, rs)).To(Succeed())
	return rs
}

func pausedAt(reason v1alpha1.PauseReason) func(*v1alpha1.RolloutStatus) {
	return func(st *v1alpha1.RolloutStatus) {
		st.Phase, st.Message = v1alpha1.RolloutPhasePaused, string(reason)
		st.PauseConditions = []v1alpha1.PauseCondition{{Reason: reason, StartTime: metav1.Now()}}
		st.ControllerPause = true
		st.CurrentPodHash, st.StableRS = "new", "old"
	}
}

func healthy(st *v1alpha1.RolloutStatus) {
	st.Phase, st.Message = v1alpha1.RolloutPhaseHealthy, ""
	st.CurrentPodHash, st.StableRS = "h1", "h1"
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = 1, 1, 1, 1
}

func progressing(st *v1alpha1.RolloutStatus) {
	st.Phase, st.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	st.CurrentPodHash, st.StableRS = "new", "old"
}

func degraded(st *v1alpha1.RolloutStatus) {
	st.Phase, st.Message = v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2"
	st.Abort = true
	st.Conditions = []v1alpha1.RolloutCondition{{
		Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse,
		Reason: v1alpha1.RolloutAbortedReason, Message: "Rollout aborted update to revision 2",
		LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
	}}
}

func key(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
