package webhooktest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/gitserver"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

const appDir = "apps/backend"

var ctx = context.Background()

// TestWebhookWriteBack: with polling set to an hour, the registry's own
// notification of a push of backend:latest makes the image updater commit
// the new digest at once; a burst of five pushes gives one commit, of the
// last digest; a wrong secret is refused and triggers nothing.
func TestWebhookWriteBack(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyPollingInterval(10 * time.Millisecond)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "webhook-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, ns) })

	reg := testregistry.StartWith(t, testregistry.Options{Notify: &testregistry.Notify{
		URL:     hookURL + "/webhook?type=distribution",
		Headers: map[string]string{"Authorization": "Bearer " + hookSecret},
	}})
	git := gitserver.Start(t)
	files := map[string]string{}
	for _, n := range []string{"kustomization.yaml", "rollout.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "app", n))
		g.Expect(err).NotTo(HaveOccurred())
		files[appDir+"/"+n] = string(data)
	}
	git.CreateRepo(t, "deploy", "main", files)
	for name, data := range map[string]map[string][]byte{
		"registry-ca": {"ca.crt": reg.CAPEM},
		"git":         {"username": []byte(git.Username), "password": []byte(git.Password)},
	} {
		g.Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name}, Data: data})).To(Succeed())
	}
	g.Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "pull"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: reg.DockerConfigJSON(reg.Username, reg.Password)},
	})).To(Succeed())

	digest1 := reg.PushRandom(t, "backend:latest").String()
	iu := &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "backend"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images: []imagesv1.ImageSpec{{
				Name: "backend", Image: reg.Repo("backend"), Strategy: imagesv1.StrategyDigest,
				PullSecret: "pull", CASecret: &imagesv1.KeyRef{Name: "registry-ca"}, KustomizeImageName: "backend",
			}},
			// Only the first poll and the webhook can write within the test.
			Interval: &metav1.Duration{Duration: time.Hour},
			WriteBack: imagesv1.WriteBackSpec{
				Method: imagesv1.WriteBackGit,
				Git: &imagesv1.GitWriteBack{
					URL: git.RepoURL("deploy"), Branch: "main", Path: appDir,
					SecretRef:       &imagesv1.LocalObjectReference{Name: "git"},
					MessageTemplate: "{{.Name}} is now {{.Digest}}",
				},
			},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	// The first poll (a new spec is due at once) commits digest1.
	g.Eventually(func() []gitserver.Commit { return git.Log(t, "deploy", "main") }, time.Minute).Should(HaveLen(2))
	g.Expect(git.Log(t, "deploy", "main")[0].Subject).To(Equal("backend is now " + digest1))
	g.Eventually(func(g Gomega) {
		cur := &imagesv1.ImageUpdater{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(iu), cur)).To(Succeed())
		g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
	}, time.Minute).Should(Succeed())

	// One push: the registry notifies, the image updater commits.
	digest2, received, latency := pushLatestUntilCommit(t, g, reg, git)
	t.Logf("push of :latest -> webhook event received: %s; -> commit on the branch: %s (debounce 500ms; polling interval 1h)",
		received.Round(time.Millisecond), latency.Round(time.Millisecond))
	log := git.Log(t, "deploy", "main")
	g.Expect(log).To(HaveLen(3))
	g.Expect(log[0].Subject).To(Equal("backend is now " + digest2))

	// A burst of five pushes of :latest (as a CI job re-tagging builds it
	// has uploaded by digest): one commit, of the last digest. The images
	// are uploaded first, so the burst is five manifest PUTs, well inside
	// the debounce even on a slow machine.
	var images []v1.Image
	for range 5 {
		img := testregistry.RandomImage(t, "linux/amd64", time.Now())
		d, err := img.Digest()
		g.Expect(err).NotTo(HaveOccurred())
		reg.PushImage(t, "backend@"+d.String(), img) // a push without a tag triggers nothing
		images = append(images, img)
	}
	g.Consistently(func() []gitserver.Commit { return git.Log(t, "deploy", "main") }, time.Second, 100*time.Millisecond).Should(HaveLen(3))
	var last string
	for _, img := range images {
		last = reg.PushImage(t, "backend:latest", img).String()
	}
	g.Eventually(func() []gitserver.Commit { return git.Log(t, "deploy", "main") }, 10*time.Second).Should(HaveLen(4))
	g.Consistently(func() []gitserver.Commit { return git.Log(t, "deploy", "main") }, 3*time.Second, 100*time.Millisecond).Should(HaveLen(4))
	g.Expect(git.Log(t, "deploy", "main")[0].Subject).To(Equal("backend is now " + last))
	content := git.ReadFile(t, "deploy", "main", appDir+"/kustomization.yaml")
	g.Expect(content).To(ContainSubstring(strings.TrimPrefix(last, "sha256:")))

	// A wrong secret: 401, nothing triggered, nothing written.
	triggers := counter(g, "switchyard_image_updater_webhook_triggers_total")
	rejected := counter(g, "switchyard_image_updater_webhook_requests_rejected_total")
	body := `{"events":[{"action":"push","target":{"repository":"backend","tag":"latest","digest":"sha256:00"},"request":{"host":"` + reg.Host + `"}}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL+"/webhook?type=distribution", strings.NewReader(body))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer not-the-secret")
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
	g.Expect(counter(g, "switchyard_image_updater_webhook_triggers_total")).To(Equal(triggers))
	g.Expect(counter(g, "switchyard_image_updater_webhook_requests_rejected_total")).To(Equal(rejected + 1))

	// A push of an image nobody tracks: accepted, nothing triggered.
	events := counter(g, "switchyard_image_updater_webhook_events_total")
	reg.PushRandom(t, "other:latest")
	g.Eventually(func() float64 { return counter(g, "switchyard_image_updater_webhook_events_total") }, 10*time.Second).Should(BeNumerically(">", events))
	g.Consistently(func() float64 { return counter(g, "switchyard_image_updater_webhook_triggers_total") }, time.Second).Should(Equal(triggers))
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(4))
}

// counter sums a counter's series in the controller-runtime registry.
func counter(g Gomega, name string) float64 {
	n, err := testutil.GatherAndCount(metrics.Registry, name)
	g.Expect(err).NotTo(HaveOccurred())
	if n == 0 {
		return 0
	}
	mfs, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// pushLatestUntilCommit pushes a new image as backend:latest (uploaded by
// digest first, so only the tag's push is timed) and waits for the
// registry's notification and then for a new commit on deploy's main. It
// returns the pushed digest and how long after the tag's push the event
// arrived and the commit landed.
func pushLatestUntilCommit(t *testing.T, g Gomega, reg *testregistry.Registry, git *gitserver.Server) (digest string, received, committed time.Duration) {
	t.Helper()
	head := git.Head(t, "deploy", "main")
	events := counter(g, "switchyard_image_updater_webhook_events_total")
	img := testregistry.RandomImage(t, "linux/amd64", time.Now())
	d, err := img.Digest()
	g.Expect(err).NotTo(HaveOccurred())
	reg.PushImage(t, "backend@"+d.String(), img)
	pushed := time.Now()
	digest = reg.PushImage(t, "backend:latest", img).String()
	g.Eventually(func() float64 { return counter(g, "switchyard_image_updater_webhook_events_total") }, 10*time.Second).Should(BeNumerically(">", events))
	received = time.Since(pushed)
	g.Eventually(func() string { return git.Head(t, "deploy", "main") }, 10*time.Second).ShouldNot(Equal(head))
	return digest, received, time.Since(pushed)
}
