package clustertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/gitserver"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

const appDir = "apps/backend"

var ctx = context.Background()

func createSecret(g *WithT, ns, name string, typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: typ, Data: data}
	g.Expect(k8sClient.Create(ctx, s)).To(Succeed())
	return s
}

func setSecretData(g *WithT, s *corev1.Secret, key string, value []byte) {
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
	s.Data[key] = value
	g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
}

// registrySecrets creates the pull secret and the CA secret of reg.
func registrySecrets(g *WithT, ns string, reg *testregistry.Registry, password string) *corev1.Secret {
	createSecret(g, ns, "registry-ca", corev1.SecretTypeOpaque, map[string][]byte{"ca.crt": reg.CAPEM})
	return createSecret(g, ns, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{
		corev1.DockerConfigJsonKey: reg.DockerConfigJSON(reg.Username, password),
	})
}

func registryImage(name string, reg *testregistry.Registry, repo string) imagesv1.ImageSpec {
	return imagesv1.ImageSpec{
		Name:     name,
		Image:    reg.Repo(repo),
		Strategy: imagesv1.StrategyDigest,
		// The pull secret and the CA are what a user of a private
		// registry with its own CA sets.
		PullSecret: "pull",
		CASecret:   &imagesv1.KeyRef{Name: "registry-ca"},
	}
}

func getIU(g Gomega, key types.NamespacedName) *imagesv1.ImageUpdater {
	iu := &imagesv1.ImageUpdater{}
	g.Expect(k8sClient.Get(ctx, key, iu)).To(Succeed())
	return iu
}

func imageStatus(iu *imagesv1.ImageUpdater, name string) imagesv1.ImageStatus {
	for _, st := range iu.Status.Images {
		if st.Name == name {
			return st
		}
	}
	return imagesv1.ImageStatus{}
}

func ready(iu *imagesv1.ImageUpdater) metav1.Condition {
	if c := meta.FindStatusCondition(iu.Status.Conditions, imagesv1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// waitForPolls waits until the image has been polled n more times, judged
// by status.images[].lastCheckedAt (second precision, so the interval must
// be at least a second).
func waitForPolls(g *WithT, key types.NamespacedName, image string, n int) {
	for range n {
		last := imageStatus(getIU(g, key), image).LastCheckedAt
		g.Expect(last).NotTo(BeNil())
		g.Eventually(func(g Gomega) {
			now := imageStatus(getIU(g, key), image).LastCheckedAt
			g.Expect(now.After(last.Time)).To(BeTrue())
		}).Should(Succeed())
	}
}

// assertNoSecrets checks that no credential reaches the status, the events
// or the logs.
func assertNoSecrets(t *testing.T, g *WithT, key types.NamespacedName, secrets ...string) {
	t.Helper()
	status, err := json.Marshal(getIU(g, key).Status)
	g.Expect(err).NotTo(HaveOccurred())
	var evs eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &evs, client.InNamespace(key.Namespace))).To(Succeed())
	g.Expect(evs.Items).NotTo(BeEmpty())
	var events strings.Builder
	for _, e := range evs.Items {
		events.WriteString(e.Reason + " " + e.Note + "\n")
	}
	// The checks below mean something only if the failures were reported.
	g.Expect(logs.String()).To(ContainSubstring("Image changed"))
	for _, s := range secrets {
		g.Expect(string(status)).NotTo(ContainSubstring(s), "status holds a credential")
		g.Expect(events.String()).NotTo(ContainSubstring(s), "an event holds a credential")
		g.Expect(logs.String()).NotTo(ContainSubstring(s), "a log line holds a credential")
	}
}

func eventReasons(g Gomega, ns string) []string {
	var evs eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
	var reasons []string
	for _, e := range evs.Items {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

// TestGitWriteBack is the seed's flow: CI pushes backend:latest, the image
// updater commits the new digest to the kustomization, kustomize renders
// the Rollout with it. Then the failure modes: a wrong git password and a
// wrong registry password, each recovered when the Secret is fixed.
func TestGitWriteBack(t *testing.T) {
	ns, g := newNamespace(t)
	reg := testregistry.Start(t)
	git := gitserver.Start(t)
	files := map[string]string{}
	for _, n := range []string{"kustomization.yaml", "rollout.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "app", n))
		g.Expect(err).NotTo(HaveOccurred())
		files[appDir+"/"+n] = string(data)
	}
	git.CreateRepo(t, "deploy", "main", files)

	const wrongRegistryPassword, wrongGitPassword = "wrong-registry-pw-4711", "wrong-git-pw-0815"
	pull := registrySecrets(g, ns, reg, reg.Password)
	gitSecret := createSecret(g, ns, "git", corev1.SecretTypeBasicAuth, map[string][]byte{
		"username": []byte(git.Username), "password": []byte(git.Password),
	})

	digest1 := reg.PushRandom(t, "backend:latest").String()
	iu := &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images:   []imagesv1.ImageSpec{registryImage("backend", reg, "backend")},
			Interval: &metav1.Duration{Duration: 2 * time.Second},
			WriteBack: imagesv1.WriteBackSpec{
				Method: imagesv1.WriteBackGit,
				Git: &imagesv1.GitWriteBack{
					URL: git.RepoURL("deploy"), Branch: "main", Path: appDir,
					SecretRef:       &imagesv1.LocalObjectReference{Name: "git"},
					Author:          imagesv1.CommitAuthor{Name: "Image Bot", Email: "bot@example.com"},
					MessageTemplate: "chore(images): {{.Name}} {{.Tag}} is now {{.Digest}}",
				},
			},
		},
	}
	iu.Spec.Images[0].KustomizeImageName = "backend"
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	key := client.ObjectKeyFromObject(iu)

	// A new image under :latest: exactly one commit naming its digest.
	g.Eventually(func(g Gomega) {
		g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(2))
	}).Should(Succeed())
	head := git.Log(t, "deploy", "main")[0]
	g.Expect(head.Subject).To(Equal("chore(images): backend latest is now " + digest1))
	g.Expect(head.AuthorName).To(Equal("Image Bot"))
	assertRenders(t, g, git, "main", reg.Repo("backend")+":latest@"+digest1)
	g.Eventually(func(g Gomega) {
		cur := getIU(g, key)
		st := imageStatus(cur, "backend")
		g.Expect(st.Digest).To(Equal(digest1))
		g.Expect(st.LastWriteBack).NotTo(BeNil())
		g.Expect(st.LastWriteBack.Commit).To(Equal(head.Hash))
		g.Expect(st.LastWriteBack.Changed).To(BeTrue())
		g.Expect(ready(cur).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
	}).Should(Succeed())

	// Polling again with the same digest makes no commit.
	waitForPolls(g, key, "backend", 2)
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(2))

	// CI pushes again: one more commit.
	digest2 := reg.PushRandom(t, "backend:latest").String()
	g.Eventually(func(g Gomega) {
		g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(3))
	}).Should(Succeed())
	assertRenders(t, g, git, "main", reg.Repo("backend")+":latest@"+digest2)

	// A wrong git password: a clear condition, nothing committed...
	setSecretData(g, gitSecret, "password", []byte(wrongGitPassword))
	digest3 := reg.PushRandom(t, "backend:latest").String()
	g.Eventually(func(g Gomega) {
		cur := getIU(g, key)
		g.Expect(ready(cur).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready(cur).Reason).To(Equal(imagesv1.ReasonAuthFailed))
		g.Expect(ready(cur).Message).To(Equal("backend: git server refused the credentials to clone " + git.RepoURL("deploy") + " (branch main)"))
		// The poll itself succeeded: the new digest is known.
		g.Expect(imageStatus(cur, "backend").Digest).To(Equal(digest3))
	}).Should(Succeed())
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(3))
	// ...and recovery when the Secret is fixed.
	setSecretData(g, gitSecret, "password", []byte(git.Password))
	g.Eventually(func(g Gomega) {
		g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(4))
		g.Expect(ready(getIU(g, key)).Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())
	assertRenders(t, g, git, "main", reg.Repo("backend")+":latest@"+digest3)

	// A wrong registry password: AuthFailed, nothing committed, recovery.
	setSecretData(g, pull, corev1.DockerConfigJsonKey, reg.DockerConfigJSON(reg.Username, wrongRegistryPassword))
	reg.PushRandom(t, "backend:latest")
	g.Eventually(func(g Gomega) {
		c := ready(getIU(g, key))
		g.Expect(c.Reason).To(Equal(imagesv1.ReasonAuthFailed))
		g.Expect(c.Message).To(Equal("backend: registry " + reg.Host + " refused the credentials for " + reg.Repo("backend") + ":latest (401 Unauthorized)"))
	}).Should(Succeed())
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(4))
	setSecretData(g, pull, corev1.DockerConfigJsonKey, reg.DockerConfigJSON(reg.Username, reg.Password))
	g.Eventually(func(g Gomega) {
		g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(5))
		g.Expect(ready(getIU(g, key)).Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(eventReasons(g, ns)).To(ContainElements(imagesv1.ReasonAuthFailed, "ImageChanged", "Committed", "Recovered"))
	}).Should(Succeed())
	g.Expect(logs.String()).To(And(ContainSubstring("Write-back failed"), ContainSubstring("Image poll failed")))
	assertNoSecrets(t, g, key, reg.Password, wrongRegistryPassword, git.Password, wrongGitPassword)
	assertMetrics(g, ns, "backend")
}

// assertRenders runs kustomize on the branch's app directory: the Rollout's
// container and init container must run image.
func assertRenders(t *testing.T, g *WithT, git *gitserver.Server, rev, image string) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for _, n := range []string{"kustomization.yaml", "rollout.yaml"} {
		g.Expect(fs.WriteFile("/app/"+n, []byte(git.ReadFile(t, "deploy", rev, appDir+"/"+n)))).To(Succeed())
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/app")
	g.Expect(err).NotTo(HaveOccurred())
	out, err := resources.AsYaml()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Count(string(out), "image: "+image+"\n")).To(Equal(2), string(out))
}

// assertMetrics checks the counters of one ImageUpdater are served.
func assertMetrics(g *WithT, ns, name string) {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	found := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "namespace" && l.GetValue() == ns {
					found[f.GetName()] = true
				}
			}
		}
	}
	g.Expect(found).To(HaveKey("switchyard_image_updater_polls_total"))
	g.Expect(found).To(HaveKey("switchyard_image_updater_changes_total"))
	g.Expect(found).To(HaveKey("switchyard_image_updater_write_backs_total"))
	g.Expect(found).To(HaveKey("switchyard_image_updater_errors_total"))
}

// TestWorkloadDeployment sets a Deployment's image directly; a missing tag
// and an unreachable registry in the same ImageUpdater report their own
// conditions without holding back the good image.
func TestWorkloadDeployment(t *testing.T) {
	ns, g := newNamespace(t)
	reg := testregistry.Start(t)
	registrySecrets(g, ns, reg, reg.Password)
	closed, err := testregistry.ClosedPort()
	g.Expect(err).NotTo(HaveOccurred())

	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "web", Image: reg.Repo("web") + ":latest"},
					{Name: "proxy", Image: "envoyproxy/envoy:v1.31.0"},
				}},
			},
		},
	}
	g.Expect(k8sClient.Create(ctx, deploy)).To(Succeed())

	digest := reg.PushRandom(t, "web:latest").String()
	missing := registryImage("nightly", reg, "web")
	missing.Tag = "nightly"
	down := registryImage("down", reg, "web")
	down.Image = closed + "/web"
	iu := &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images:    []imagesv1.ImageSpec{registryImage("web", reg, "web"), missing, down},
			Interval:  &metav1.Duration{Duration: 2 * time.Second},
			WriteBack: imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "Deployment", Name: "web"}},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	key := client.ObjectKeyFromObject(iu)
	want := reg.Repo("web") + ":latest@" + digest

	g.Eventually(func(g Gomega) {
		cur := &appsv1.Deployment{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(deploy), cur)).To(Succeed())
		g.Expect(cur.Spec.Template.Spec.Containers[0].Image).To(Equal(want))
		g.Expect(cur.Spec.Template.Spec.Containers[1].Image).To(Equal("envoyproxy/envoy:v1.31.0"))
	}).Should(Succeed())
	// The real Deployment controller starts a new revision.
	g.Eventually(func(g Gomega) {
		var rss appsv1.ReplicaSetList
		g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
		var images []string
		for _, rs := range rss.Items {
			images = append(images, rs.Spec.Template.Spec.Containers[0].Image)
		}
		g.Expect(images).To(ContainElement(want))
	}).Should(Succeed())

	g.Eventually(func(g Gomega) {
		cur := getIU(g, key)
		web := imageStatus(cur, "web")
		g.Expect(web.Reason).To(BeEmpty())
		g.Expect(web.LastWriteBack).NotTo(BeNil())
		g.Expect(web.LastWriteBack.Object).To(Equal("Deployment " + ns + "/web"))
		g.Expect(web.LastWriteBack.Image).To(Equal(want))
		g.Expect(imageStatus(cur, "nightly").Reason).To(Equal(imagesv1.ReasonTagNotFound))
		g.Expect(imageStatus(cur, "down").Reason).To(Equal(imagesv1.ReasonRegistryUnreachable))
		c := ready(cur)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(imagesv1.ReasonTagNotFound))
		g.Expect(c.Message).To(Equal("nightly: " + reg.Repo("web") + ":nightly not found in registry " + reg.Host +
			"; down: cannot reach registry " + closed + ": connection refused"))
	}).Should(Succeed())

	// The failing images go; Ready follows.
	g.Eventually(func(g Gomega) {
		cur := getIU(g, key)
		cur.Spec.Images = cur.Spec.Images[:1]
		g.Expect(k8sClient.Update(ctx, cur)).To(Succeed())
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		cur := getIU(g, key)
		g.Expect(ready(cur).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cur.Status.Images).To(HaveLen(1))
	}).Should(Succeed())
	assertNoSecrets(t, g, key, reg.Password)
}

// TestWorkloadRollout sets a Rollout's template image (unstructured: the
// image updater does not depend on the Rollout Go types).
func TestWorkloadRollout(t *testing.T) {
	ns, g := newNamespace(t)
	reg := testregistry.Start(t)
	registrySecrets(g, ns, reg, reg.Password)
	data, err := os.ReadFile(filepath.Join("..", "testdata", "app", "rollout.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	ro := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal(data, &ro.Object)).To(Succeed())
	ro.SetNamespace(ns)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())

	digest := reg.PushIndex(t, "backend:latest", "linux/amd64", "linux/arm64").String()
	img := registryImage("backend", reg, "backend")
	img.KustomizeImageName = "backend"
	img.Platforms = []string{"linux/arm64"}
	iu := &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images:    []imagesv1.ImageSpec{img},
			WriteBack: imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "Rollout", Name: "backend"}},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	want := reg.Repo("backend") + ":latest@" + digest
	g.Eventually(func(g Gomega) {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(ro.GroupVersionKind())
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), cur)).To(Succeed())
		images := map[string]string{}
		for _, f := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(cur.Object, "spec", "template", "spec", f)
			for _, c := range cs {
				m := c.(map[string]any)
				images[m["name"].(string)] = m["image"].(string)
			}
		}
		g.Expect(images).To(Equal(map[string]string{"migrate": want, "backend": want, "sidecar": "envoyproxy/envoy:v1.31.0"}))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		st := imageStatus(getIU(g, client.ObjectKeyFromObject(iu)), "backend")
		g.Expect(st.LastWriteBack).NotTo(BeNil())
		g.Expect(st.LastWriteBack.Object).To(Equal("Rollout " + ns + "/backend"))
	}).Should(Succeed())
}

// TestArgoCDApplication writes the image as argocd-image-updater does, into
// spec.source.kustomize.images, keeping the other entries.
func TestArgoCDApplication(t *testing.T) {
	requireArgoCD(t)
	ns, g := newNamespace(t)
	reg := testregistry.Start(t)
	registrySecrets(g, ns, reg, reg.Password)
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata":   map[string]any{"name": "backend", "namespace": ns},
		"spec": map[string]any{
			// Argo CD's Application CRD requires a destination.
			"project":     "default",
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns},
			"source": map[string]any{
				"repoURL": "https://git.example.com/deploy.git", "path": appDir, "targetRevision": "main",
				"kustomize": map[string]any{"images": []any{"redis=redis:7.4", "backend=old/backend:v1"}},
			},
		},
	}}
	g.Expect(k8sClient.Create(ctx, app)).To(Succeed())

	digest := reg.PushRandom(t, "backend:latest").String()
	img := registryImage("backend", reg, "backend")
	img.KustomizeImageName = "backend"
	iu := &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images:    []imagesv1.ImageSpec{img},
			WriteBack: imagesv1.WriteBackSpec{Method: imagesv1.WriteBackArgoCD, ArgoCD: &imagesv1.ArgoCDWriteBack{ApplicationName: "backend"}},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(app.GroupVersionKind())
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), cur)).To(Succeed())
		images, _, _ := unstructured.NestedStringSlice(cur.Object, "spec", "source", "kustomize", "images")
		g.Expect(images).To(Equal([]string{"redis=redis:7.4", "backend=" + reg.Repo("backend") + ":latest@" + digest}))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		st := imageStatus(getIU(g, client.ObjectKeyFromObject(iu)), "backend")
		g.Expect(st.LastWriteBack).NotTo(BeNil())
		g.Expect(st.LastWriteBack.Object).To(Equal("Application " + ns + "/backend"))
	}).Should(Succeed())
}

// TestInvalidSpec: a spec that cannot work is Stalled, with the field.
func TestInvalidSpec(t *testing.T) {
	ns, g := newNamespace(t)
	iu := &imagesv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad"},
		Spec: imagesv1.ImageUpdaterSpec{
			Images:    []imagesv1.ImageSpec{{Name: "x", Image: "registry.example.com/x", AllowTags: "regexp:("}},
			WriteBack: imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "Deployment", Name: "x"}},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cur := getIU(g, client.ObjectKeyFromObject(iu))
		stalled := meta.FindStatusCondition(cur.Status.Conditions, imagesv1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(imagesv1.ReasonInvalidSpec))
		g.Expect(stalled.Message).To(ContainSubstring("spec.images[0]: allowTags"))
		g.Expect(ready(cur).Status).To(Equal(metav1.ConditionFalse))
	}).Should(Succeed())

	// The API server rejects what the CRD's rules catch.
	bad := iu.DeepCopy()
	bad.ResourceVersion, bad.Name = "", "bad-method"
	bad.Spec.WriteBack = imagesv1.WriteBackSpec{Method: imagesv1.WriteBackGit}
	err := k8sClient.Create(ctx, bad)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("writeBack.git is required with method git"))
}
