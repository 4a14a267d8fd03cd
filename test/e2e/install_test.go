package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// TestInstallManifests applies the generated single-file installs with plain
// `kubectl apply -f` and runs the controller with the installed
// ServiceAccount's own token: the least-privilege ClusterRole must be enough
// to take the blue-green seed live.
func TestInstallManifests(t *testing.T) {
	e := newBareTestEnv(t)
	g := e.g
	for _, tc := range []struct{ file, namespace string }{
		{"install.yaml", "switchyard-system"},
		{"namespace-install.yaml", "switchyard"},
	} {
		e.mustKubectl("-n", tc.namespace, "apply", "-f", filepath.Join(root, tc.file))
		g.Eventually(func() error {
			_, err := e.kubectl("-n", tc.namespace, "wait", "--for=condition=Available", "deployment/switchyard-controller", "deployment/switchyard-image-updater", "--timeout=10s")
			return err
		}).Should(Succeed())
	}
	g.Eventually(func() error {
		_, err := e.kubectl("wait", "--for=condition=Established", "crd/rollouts.argoproj.io", "--timeout=10s")
		return err
	}).Should(Succeed())

	token, err := e.kube.CoreV1().ServiceAccounts("switchyard-system").CreateToken(context.Background(), "switchyard",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	admin, err := clientcmd.LoadFromFile(env.Kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	cfg := clientcmdapi.NewConfig()
	for name, c := range admin.Clusters {
		cfg.Clusters[name] = c
		cfg.AuthInfos["switchyard"] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
		cfg.Contexts["switchyard"] = &clientcmdapi.Context{Cluster: name, AuthInfo: "switchyard"}
	}
	cfg.CurrentContext = "switchyard"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	g.Expect(os.Chmod(path, 0o600)).To(Succeed())

	e.controller = e.startControllerAs(path)
	e.applySeed("bluegreen-rollout.yaml")
	g.Eventually(e.rollout("backend-bluegreen")).Should(WithTransform(phaseOf, Equal("Healthy")))
	g.Expect(e.controller.log()).NotTo(ContainSubstring("forbidden"))
}
