package webhooktest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/gitserver"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
	"github.com/switchyard-dev/switchyard/test/tools"
)

const annPrefix = "argocd-image-updater.argoproj.io/"

// TestWebhookReferenceAnnotations: argocd-image-updater's API in its
// annotation form (the images are in the Application's image-list
// annotation), --interval at an hour: the registry's own notification of
// a push of backend:latest makes the image updater write the new digest
// to the Application's .argocd-source-<app>.yaml at once, in one commit,
// in a check of the pushed image only (status.lastCheckedAt, the time of
// the last full check, stays).
func TestWebhookReferenceAnnotations(t *testing.T) {
	if argoCDMissing != nil {
		tools.Missing(t, "Argo CD's Application CRD: %v", argoCDMissing)
	}
	g := NewWithT(t)
	g.SetDefaultEventuallyPollingInterval(10 * time.Millisecond)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "webhook-ref-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, ns) })

	reg := testregistry.StartWith(t, testregistry.Options{Notify: &testregistry.Notify{
		URL:     hookURL + "/webhook?type=distribution",
		Headers: map[string]string{"Authorization": "Bearer " + hookSecret},
	}})
	ca := filepath.Join(caDir, reg.Host)
	g.Expect(os.WriteFile(ca, reg.CAPEM, 0o600)).To(Succeed())
	t.Cleanup(func() { _ = os.Remove(ca) })
	git := gitserver.Start(t)
	files := map[string]string{}
	for _, n := range []string{"kustomization.yaml", "rollout.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "app", n))
		g.Expect(err).NotTo(HaveOccurred())
		files[appDir+"/"+n] = string(data)
	}
	git.CreateRepo(t, "deploy", "main", files)
	g.Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "git-creds"},
		Data:       map[string][]byte{"username": []byte(git.Username), "password": []byte(git.Password)},
	})).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "pull"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: reg.DockerConfigJSON(reg.Username, reg.Password)},
	})).To(Succeed())

	backend := reg.Repo("backend")
	d1 := reg.PushRandom(t, "backend:latest").String()
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata":   map[string]any{"name": "backend-prod", "namespace": ns.Name},
		"spec": map[string]any{
			"project":     "default",
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns.Name},
			"source":      map[string]any{"repoURL": git.RepoURL("deploy"), "path": appDir, "targetRevision": "main"},
		},
		"status": map[string]any{"sourceType": "Kustomize", "summary": map[string]any{"images": []any{backend + ":latest"}}},
	}}
	app.SetAnnotations(map[string]string{
		annPrefix + "image-list":                   "backend=" + backend + ":latest",
		annPrefix + "backend.update-strategy":      "digest",
		annPrefix + "backend.pull-secret":          "pullsecret:" + ns.Name + "/pull",
		annPrefix + "backend.kustomize.image-name": "backend",
		annPrefix + "write-back-method":            "git:secret:git-creds",
		annPrefix + "git-branch":                   "main",
	})
	g.Expect(k8sClient.Create(ctx, app)).To(Succeed())
	iu := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "annotated"},
		Spec:       aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{{NamePattern: "backend-*", UseAnnotations: ptr(true)}}},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	key := client.ObjectKeyFromObject(iu)
	file := appDir + "/.argocd-source-backend-prod.yaml"
	source := func(digest string) string {
		return "kustomize:\n  images:\n  - backend=" + backend + ":latest@" + digest + "\n"
	}

	// The first check commits d1.
	g.Eventually(func() []gitserver.Commit { return git.Log(t, "deploy", "main") }, time.Minute).Should(HaveLen(2))
	g.Expect(git.ReadFile(t, "deploy", "main", file)).To(Equal(source(d1)))
	var checked *metav1.Time
	g.Eventually(func(g Gomega) {
		cur := &aiuv1.ImageUpdater{}
		g.Expect(k8sClient.Get(ctx, key, cur)).To(Succeed())
		g.Expect(cur.Status.LastCheckedAt).NotTo(BeNil())
		g.Expect(cur.Status.Applications).To(HaveLen(1))
		g.Expect(cur.Status.Applications[0].Images).To(HaveLen(1))
		g.Expect(cur.Status.Applications[0].Images[0].Digest).To(Equal(d1))
		checked = cur.Status.LastCheckedAt
	}, time.Minute).Should(Succeed())

	// One push: the registry notifies, the image updater commits once.
	d2, received, latency := pushLatestUntilCommit(t, g, reg, git)
	t.Logf("argocd-image-updater API, annotations: push of :latest -> webhook event received: %s; -> commit of %s: %s (debounce 500ms; --interval 1h)",
		received.Round(time.Millisecond), file, latency.Round(time.Millisecond))
	g.Expect(git.ReadFile(t, "deploy", "main", file)).To(Equal(source(d2)))
	g.Consistently(func() []gitserver.Commit { return git.Log(t, "deploy", "main") }, 2*time.Second, 100*time.Millisecond).Should(HaveLen(3))
	g.Eventually(func(g Gomega) {
		cur := &aiuv1.ImageUpdater{}
		g.Expect(k8sClient.Get(ctx, key, cur)).To(Succeed())
		is := cur.Status.Applications[0].Images[0]
		g.Expect(is.Digest).To(Equal(d2))
		g.Expect(is.Written).To(Equal(backend + ":latest@" + d2))
		g.Expect(cur.Status.LastCheckedAt.Equal(checked)).To(BeTrue(), "a push's check is not a full check")
		g.Expect(cur.Status.RecentUpdates).To(ContainElement(HaveField("NewVersion", d2)))
	}, 10*time.Second).Should(Succeed())
}
