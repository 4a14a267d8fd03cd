package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/syncbuf"
)

// The generated single-file installs and the namespaces they install into.
var installs = []struct{ file, namespace string }{
	{"install.yaml", "switchyard-system"},
	{"namespace-install.yaml", "switchyard"},
}

// The ServiceAccount of each binary, as config/rbac names them.
const (
	controllerServiceAccount   = "switchyard"
	imageUpdaterServiceAccount = "switchyard-image-updater"
)

// applyInstalls applies both generated installs with plain
// `kubectl apply -f` (idempotent: tests may each apply them).
func (e *testEnv) applyInstalls() {
	e.t.Helper()
	for _, in := range installs {
		e.mustKubectl("-n", in.namespace, "apply", "-f", filepath.Join(root, in.file))
	}
	e.g.Eventually(func() error {
		_, err := e.kubectl("wait", "--for=condition=Established", "crd/rollouts.argoproj.io", "--timeout=10s")
		return err
	}).Should(Succeed())
}

// TestInstallManifests applies the generated single-file installs and runs
// each binary with its own installed ServiceAccount's token: the
// least-privilege ClusterRoles must be enough for the controller to take
// the blue-green seed live and for the image updater to poll and report.
// The install namespaces enforce the restricted Pod Security Standard, so
// the Deployments becoming Available means kube-apiserver admitted their
// pods there.
func TestInstallManifests(t *testing.T) {
	e := newBareTestEnv(t)
	g := e.g
	e.applyInstalls()
	for _, in := range installs {
		g.Eventually(func() error {
			_, err := e.kubectl("-n", in.namespace, "wait", "--for=condition=Available", "deployment/switchyard-controller", "deployment/switchyard-image-updater", "--timeout=10s")
			return err
		}).Should(Succeed())
		// The same namespace refuses a pod that is not restricted.
		out, err := e.kubectl("-n", in.namespace, "run", "not-restricted", "--image=busybox", "--privileged", "--dry-run=server")
		g.Expect(err).To(HaveOccurred(), out)
		g.Expect(out).To(ContainSubstring(`violates PodSecurity "restricted:latest"`))
	}

	e.controller = e.startControllerAs(e.serviceAccountKubeconfig("switchyard-system", controllerServiceAccount))
	e.applySeed("bluegreen-rollout.yaml")
	g.Eventually(e.rollout("backend-bluegreen")).Should(WithTransform(phaseOf, Equal("Healthy")))
	g.Expect(e.controller.log()).NotTo(ContainSubstring("forbidden"))

	// The image updater reads its ImageUpdater and writes its status: a
	// registry that refuses connections is reported, nothing is forbidden.
	updater := e.startImageUpdaterAs(e.serviceAccountKubeconfig("switchyard-system", imageUpdaterServiceAccount))
	iu := &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "backend"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images:    []imagesv1.ImageSpec{{Name: "backend", Image: "127.0.0.1:1/backend", Strategy: imagesv1.StrategyDigest}},
			WriteBack: imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "Rollout", Name: "backend-bluegreen"}},
		},
	}
	g.Expect(e.client.Create(context.Background(), iu)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cur := &imagesv1.ImageUpdater{}
		g.Expect(e.client.Get(context.Background(), client.ObjectKeyFromObject(iu), cur)).To(Succeed())
		ready := meta.FindStatusCondition(cur.Status.Conditions, imagesv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(imagesv1.ReasonRegistryUnreachable))
	}).Should(Succeed())
	g.Expect(updater.String()).NotTo(ContainSubstring("forbidden"))
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates with a
// fresh token of the ServiceAccount namespace/name.
func (e *testEnv) serviceAccountKubeconfig(namespace, name string) string {
	e.t.Helper()
	token, err := e.kube.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	e.g.Expect(err).NotTo(HaveOccurred())
	admin, err := clientcmd.LoadFromFile(env.Kubeconfig)
	e.g.Expect(err).NotTo(HaveOccurred())
	cfg := clientcmdapi.NewConfig()
	for cluster, c := range admin.Clusters {
		cfg.Clusters[cluster] = c
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: name}
	}
	cfg.CurrentContext = name
	path := filepath.Join(e.t.TempDir(), name+".kubeconfig")
	e.g.Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	e.g.Expect(os.Chmod(path, 0o600)).To(Succeed())
	return path
}

// startImageUpdaterAs runs the image-updater binary for the test's
// namespace with the identity of kubeconfig, until the test ends; it
// returns the process's output.
func (e *testEnv) startImageUpdaterAs(kubeconfig string) *syncbuf.Buffer {
	e.t.Helper()
	out := &syncbuf.Buffer{}
	cmd := exec.Command(filepath.Join(binDir, "image-updater"),
		"--kubeconfig="+kubeconfig,
		"--namespace="+e.ns,
		"--leader-elect=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
	)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	e.g.Expect(cmd.Start()).To(Succeed())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		if e.t.Failed() {
			e.t.Logf("image updater log:\n%s", out.String())
		}
	})
	return out
}
