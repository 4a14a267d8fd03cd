package clustertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/gitserver"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

// The tests below configure the seed's story (backend:latest tracked by
// digest) the way argocd-image-updater's documentation does, through its
// own API group and annotations, against Argo CD's real Application CRD,
// a real registry and a real git server.

const annPrefix = "argocd-image-updater.argoproj.io/"

// seedRegistry starts a registry whose CA the image updater trusts
// (argocd-image-updater's /app/config/tls/<host>) and a pull secret in ns.
func seedRegistry(t *testing.T, g *WithT, ns string) *testregistry.Registry {
	t.Helper()
	reg := testregistry.Start(t)
	ca := filepath.Join(caDir, reg.Host)
	g.Expect(os.WriteFile(ca, reg.CAPEM, 0o600)).To(Succeed())
	t.Cleanup(func() { _ = os.Remove(ca) })
	createSecret(g, ns, "pull", corev1.SecretTypeDockerConfigJson, map[string][]byte{
		corev1.DockerConfigJsonKey: reg.DockerConfigJSON(reg.Username, reg.Password),
	})
	return reg
}

// seedRepo creates the deploy repository with the seed's app and the git
// credentials Secret as the reference documents it.
func seedRepo(t *testing.T, g *WithT, ns string) *gitserver.Server {
	t.Helper()
	git := gitserver.Start(t)
	files := map[string]string{}
	for _, n := range []string{"kustomization.yaml", "rollout.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "app", n))
		g.Expect(err).NotTo(HaveOccurred())
		files[appDir+"/"+n] = string(data)
	}
	git.CreateRepo(t, "deploy", "main", files)
	createSecret(g, ns, "git-creds", corev1.SecretTypeOpaque, map[string][]byte{
		"username": []byte(git.Username), "password": []byte(git.Password),
	})
	return git
}

// application creates an Argo CD Application with the status Argo CD
// would have given it after a sync (Argo CD's CRD has no status
// subresource, so it is created with the object).
func application(g *WithT, ns, name string, annotations, labels map[string]string, spec, status map[string]any) *unstructured.Unstructured {
	spec["project"] = "default"
	spec["destination"] = map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns}
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       spec,
		"status":     status,
	}}
	app.SetAnnotations(annotations)
	app.SetLabels(labels)
	g.Expect(k8sClient.Create(ctx, app)).To(Succeed())
	return app
}

func getApp(g Gomega, key types.NamespacedName) *unstructured.Unstructured {
	app := &unstructured.Unstructured{}
	app.SetAPIVersion("argoproj.io/v1alpha1")
	app.SetKind("Application")
	g.Expect(k8sClient.Get(ctx, key, app)).To(Succeed())
	return app
}

func getAIU(g Gomega, key types.NamespacedName) *aiuv1.ImageUpdater {
	iu := &aiuv1.ImageUpdater{}
	g.Expect(k8sClient.Get(ctx, key, iu)).To(Succeed())
	return iu
}

func condition(iu *aiuv1.ImageUpdater, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(iu.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func appStatus(iu *aiuv1.ImageUpdater, name string) aiuv1.ApplicationStatus {
	for _, a := range iu.Status.Applications {
		if a.Name == name {
			return a
		}
	}
	return aiuv1.ApplicationStatus{}
}

func aliasStatus(a aiuv1.ApplicationStatus, alias string) aiuv1.ImageStatus {
	for _, is := range a.Images {
		if is.Alias == alias {
			return is
		}
	}
	return aiuv1.ImageStatus{}
}

// waitForChecks waits until the ImageUpdater has been checked n more
// times (status.lastCheckedAt, second precision: appInterval is 2s).
func waitForChecks(g *WithT, key types.NamespacedName, n int) {
	for range n {
		last := getAIU(g, key).Status.LastCheckedAt
		g.Expect(last).NotTo(BeNil())
		g.Eventually(func(g Gomega) {
			g.Expect(getAIU(g, key).Status.LastCheckedAt.After(last.Time)).To(BeTrue())
		}).Should(Succeed())
	}
}

// seedStatus is what Argo CD reports for the synced seed app.
func seedStatus(image string) map[string]any {
	return map[string]any{"sourceType": "Kustomize", "summary": map[string]any{"images": []any{image}}}
}

func seedMessage(old, digest string) string {
	return "build: automatic update of backend-prod\n\nupdates image backend tag '" + old + "' to '" + digest + "'\n"
}

// TestReferenceCRDGitKustomization is the reference documentation's
// minimal example: digest strategy on backend:latest, kustomize target,
// git write-back into a kustomization directory on main with a Secret's
// credentials. Each new :latest push gives exactly one commit, with the
// reference's message and kustomization entry.
func TestReferenceCRDGitKustomization(t *testing.T) {
	requireArgoCD(t)
	ns, g := newNamespace(t)
	reg := seedRegistry(t, g, ns)
	git := seedRepo(t, g, ns)
	backend := reg.Repo("backend")
	d1 := reg.PushRandom(t, "backend:latest").String()

	app := application(g, ns, "backend-prod", nil, nil, map[string]any{
		"source": map[string]any{"repoURL": git.RepoURL("deploy"), "path": appDir, "targetRevision": "main"},
	}, seedStatus(backend+":latest"))
	iu := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend-latest"},
		Spec: aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{{
			NamePattern: "backend-prod",
			WriteBackConfig: &aiuv1.WriteBackConfig{
				Method: "git:secret:git-creds",
				GitConfig: &aiuv1.GitConfig{
					Repository: git.RepoURL("deploy"), Branch: "main",
					WriteBackTarget: "kustomization:/" + appDir,
				},
			},
			Images: []aiuv1.ImageConfig{{
				Alias: "backend", ImageName: backend + ":latest",
				CommonUpdateSettings: &aiuv1.CommonUpdateSettings{
					UpdateStrategy: ptr.To("digest"),
					PullSecret:     ptr.To("pullsecret:" + ns + "/pull"),
				},
				ManifestTarget: &aiuv1.ManifestTarget{Kustomize: &aiuv1.KustomizeTarget{Name: "backend"}},
			}},
		}}},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	key := client.ObjectKeyFromObject(iu)

	kustomization := func(digest string) string {
		return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n# The seed's backend, deployed as an Argo Rollout.\nresources:\n- rollout.yaml\n" +
			"images:\n- name: backend # set by the image updater\n  newName: " + backend + "\n  newTag: latest\n  digest: " + digest + "\n"
	}
	g.Eventually(func(g Gomega) { g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(2)) }).Should(Succeed())
	head := git.Log(t, "deploy", "main")[0]
	g.Expect(git.ReadFile(t, "deploy", "main", appDir+"/kustomization.yaml")).To(Equal(kustomization(d1)))
	g.Expect(git.Message(t, "deploy", head.Hash)).To(Equal(seedMessage("latest", d1)))
	g.Expect(head.AuthorName).To(Equal("argocd-image-updater"))
	assertRenders(t, g, git, "main", backend+":latest@"+d1)
	g.Eventually(func(g Gomega) {
		cur := getAIU(g, key)
		g.Expect(condition(cur, aiuv1.ConditionReady).Reason).To(Equal(aiuv1.ReasonReconcileSucceeded))
		g.Expect(condition(cur, aiuv1.ConditionError).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cur.Status.ApplicationsMatched).To(Equal(int32(1)))
		g.Expect(cur.Status.ImagesManaged).To(Equal(int32(1)))
		is := aliasStatus(appStatus(cur, "backend-prod"), "backend")
		g.Expect(is.Digest).To(Equal(d1))
		g.Expect(is.Written).To(Equal(backend + ":latest@" + d1))
		g.Expect(is.Commit).To(Equal(head.Hash))
		g.Expect(cur.Status.RecentUpdates).To(ContainElement(And(
			HaveField("Alias", "backend"), HaveField("NewVersion", d1), HaveField("ApplicationsUpdated", int32(1)))))
	}).Should(Succeed())

	// Checks with the same digest commit nothing.
	waitForChecks(g, key, 2)
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(2))

	// One new push: exactly one more commit, with the new digest.
	d2 := reg.PushRandom(t, "backend:latest").String()
	g.Eventually(func(g Gomega) { g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(3)) }).Should(Succeed())
	g.Expect(git.ReadFile(t, "deploy", "main", appDir+"/kustomization.yaml")).To(Equal(kustomization(d2)))
	g.Expect(git.Message(t, "deploy", git.Log(t, "deploy", "main")[0].Hash)).To(Equal(seedMessage("latest", d2)))
	waitForChecks(g, key, 2)
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(3))
	// The git method leaves the Application alone.
	src, _, _ := unstructured.NestedMap(getApp(g, client.ObjectKeyFromObject(app)).Object, "spec", "source")
	g.Expect(src).To(Equal(map[string]any{"repoURL": git.RepoURL("deploy"), "path": appDir, "targetRevision": "main"}))
	assertAppMetrics(g, ns, iu.Name)
}

// TestReferenceAnnotationsGitOverrideFile: the same story in the
// annotation form (useAnnotations), with the default git target, Argo
// CD's .argocd-source-<app>.yaml in the app's path, byte for byte what the
// reference writes.
func TestReferenceAnnotationsGitOverrideFile(t *testing.T) {
	requireArgoCD(t)
	ns, g := newNamespace(t)
	reg := seedRegistry(t, g, ns)
	git := seedRepo(t, g, ns)
	backend := reg.Repo("backend")
	d1 := reg.PushRandom(t, "backend:latest").String()

	application(g, ns, "backend-prod", map[string]string{
		annPrefix + "image-list":                     "backend=" + backend + ":latest",
		annPrefix + "backend.update-strategy":        "digest",
		annPrefix + "backend.pull-secret":            "pullsecret:" + ns + "/pull",
		annPrefix + "backend.kustomize.image-name":   "backend",
		annPrefix + "write-back-method":              "git:secret:" + ns + "/git-creds",
		annPrefix + "git-branch":                     "main",
		"notes.argoproj.io/unrelated-annotation-key": "kept out of it",
	}, nil, map[string]any{
		"source": map[string]any{"repoURL": git.RepoURL("deploy"), "path": appDir, "targetRevision": "main"},
	}, seedStatus(backend+":latest"))
	iu := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "annotated"},
		Spec:       aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{{NamePattern: "backend-*", UseAnnotations: ptr.To(true)}}},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	key := client.ObjectKeyFromObject(iu)

	file := appDir + "/.argocd-source-backend-prod.yaml"
	g.Eventually(func(g Gomega) { g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(2)) }).Should(Succeed())
	g.Expect(git.ReadFile(t, "deploy", "main", file)).To(Equal("kustomize:\n  images:\n  - backend=" + backend + ":latest@" + d1 + "\n"))
	g.Expect(git.Message(t, "deploy", git.Log(t, "deploy", "main")[0].Hash)).To(Equal(seedMessage("latest", d1)))
	g.Eventually(func(g Gomega) {
		g.Expect(aliasStatus(appStatus(getAIU(g, key), "backend-prod"), "backend").Written).To(Equal(backend + ":latest@" + d1))
	}).Should(Succeed())

	waitForChecks(g, key, 2)
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(2))
	d2 := reg.PushRandom(t, "backend:latest").String()
	g.Eventually(func(g Gomega) { g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(3)) }).Should(Succeed())
	g.Expect(git.ReadFile(t, "deploy", "main", file)).To(Equal("kustomize:\n  images:\n  - backend=" + backend + ":latest@" + d2 + "\n"))
	waitForChecks(g, key, 2)
	g.Expect(git.Log(t, "deploy", "main")).To(HaveLen(3))
	// The kustomization itself is untouched: the override file carries it.
	g.Expect(git.ReadFile(t, "deploy", "main", appDir+"/kustomization.yaml")).NotTo(ContainSubstring("digest"))
	g.Eventually(func(g Gomega) {
		cur := getAIU(g, key)
		g.Expect(condition(cur, aiuv1.ConditionReady).Reason).To(Equal(aiuv1.ReasonReconcileSucceeded))
		g.Expect(aliasStatus(appStatus(cur, "backend-prod"), "backend").Digest).To(Equal(d2))
	}).Should(Succeed())
}

// TestReferenceArgoCDMethod: the default write-back patches the
// Application: kustomize images of the kustomize source of a multi-source
// Application, Helm parameters of a Helm one; label selectors choose.
func TestReferenceArgoCDMethod(t *testing.T) {
	requireArgoCD(t)
	ns, g := newNamespace(t)
	reg := seedRegistry(t, g, ns)
	backend := reg.Repo("backend")
	d := reg.PushRandom(t, "backend:latest").String()

	multi := application(g, ns, "backend-multi", nil, map[string]string{"team": "shop"}, map[string]any{
		"sources": []any{
			map[string]any{"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "1.0.0", "helm": map[string]any{"releaseName": "redis"}},
			map[string]any{"repoURL": "https://git.example.com/deploy.git", "path": appDir, "targetRevision": "main", "kustomize": map[string]any{"images": []any{"nginx:1.27"}}},
		},
	}, map[string]any{"sourceTypes": []any{"Helm", "Kustomize"}, "summary": map[string]any{"images": []any{backend + ":latest", "nginx:1.27"}}})
	helm := application(g, ns, "backend-helm", nil, map[string]string{"team": "shop"}, map[string]any{
		"source": map[string]any{"repoURL": "https://charts.example.com", "chart": "backend", "targetRevision": "1.0.0",
			"helm": map[string]any{"parameters": []any{map[string]any{"name": "replicaCount", "value": "2"}}}},
	}, map[string]any{"sourceType": "Helm", "summary": map[string]any{"images": []any{backend + ":latest"}}})
	other := application(g, ns, "backend-other-team", nil, map[string]string{"team": "other"}, map[string]any{
		"source": map[string]any{"repoURL": "https://git.example.com/deploy.git", "path": appDir, "kustomize": map[string]any{}},
	}, seedStatus(backend+":latest"))

	iu := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: aiuv1.ImageUpdaterSpec{
			CommonUpdateSettings: &aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("digest"), PullSecret: ptr.To("pullsecret:" + ns + "/pull")},
			ApplicationRefs: []aiuv1.ApplicationRef{{
				NamePattern:    "backend-*",
				LabelSelectors: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}},
				Images:         []aiuv1.ImageConfig{{Alias: "backend", ImageName: backend + ":latest"}},
			}, {
				// More specific (no wildcard): it takes backend-multi,
				// though it is listed last.
				NamePattern: "backend-multi",
				Images: []aiuv1.ImageConfig{{
					Alias: "backend", ImageName: backend + ":latest",
					ManifestTarget: &aiuv1.ManifestTarget{Kustomize: &aiuv1.KustomizeTarget{Name: "backend"}},
				}},
			}},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	key := client.ObjectKeyFromObject(iu)

	g.Eventually(func(g Gomega) {
		cur := getApp(g, client.ObjectKeyFromObject(multi))
		sources, _, _ := unstructured.NestedSlice(cur.Object, "spec", "sources")
		images, _, _ := unstructured.NestedStringSlice(sources[1].(map[string]any), "kustomize", "images")
		g.Expect(images).To(Equal([]string{"nginx:1.27", "backend=" + backend + ":latest@" + d}))
		g.Expect(sources[0].(map[string]any)["helm"]).To(Equal(map[string]any{"releaseName": "redis"}))

		cur = getApp(g, client.ObjectKeyFromObject(helm))
		params, _, _ := unstructured.NestedSlice(cur.Object, "spec", "source", "helm", "parameters")
		g.Expect(params).To(Equal([]any{
			map[string]any{"name": "replicaCount", "value": "2"},
			map[string]any{"name": "image.name", "value": backend, "forceString": true},
			map[string]any{"name": "image.tag", "value": "latest@" + d, "forceString": true},
		}))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		cur := getAIU(g, key)
		g.Expect(cur.Status.ApplicationsMatched).To(Equal(int32(2)))
		g.Expect(cur.Status.RecentUpdates).To(ConsistOf(HaveField("ApplicationsUpdated", int32(2))))
	}).Should(Succeed())
	// The other team's Application is not selected.
	images, _, _ := unstructured.NestedStringSlice(getApp(g, client.ObjectKeyFromObject(other)).Object, "spec", "source", "kustomize", "images")
	g.Expect(images).To(BeEmpty())
	g.Expect(eventReasons(g, ns)).To(ContainElement("ImagesUpdated"))
}

// TestReferenceBadInput: an ImageUpdater that matches nothing, an invalid
// glob, an Application that is neither Kustomize nor Helm and an unknown
// annotation value each get a clear status, nothing is written for them,
// and the good image next to them keeps flowing.
func TestReferenceBadInput(t *testing.T) {
	requireArgoCD(t)
	ns, g := newNamespace(t)
	reg := seedRegistry(t, g, ns)
	backend, worker := reg.Repo("backend"), reg.Repo("worker")
	d := reg.PushRandom(t, "backend:latest").String()
	reg.PushRandom(t, "worker:latest")

	// Matches nothing.
	none := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "none"},
		Spec: aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{{
			NamePattern: "frontend-*", Images: []aiuv1.ImageConfig{{Alias: "frontend", ImageName: reg.Repo("frontend") + ":latest"}},
		}}},
	}
	g.Expect(k8sClient.Create(ctx, none)).To(Succeed())
	// An invalid glob fails the whole ImageUpdater.
	glob := none.DeepCopy()
	glob.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: "glob"}
	glob.Spec.ApplicationRefs[0].NamePattern = "backend-[a"
	g.Expect(k8sClient.Create(ctx, glob)).To(Succeed())
	// The CRD refuses a ref with neither images nor useAnnotations.
	empty := none.DeepCopy()
	empty.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: "empty"}
	empty.Spec.ApplicationRefs[0].Images = nil
	err := k8sClient.Create(ctx, empty)
	g.Expect(err).To(MatchError(ContainSubstring("Either useAnnotations must be true, or images must be provided with at least one item")))
	// Nor an image written to kustomize and Helm at once, nor a write-back
	// method it does not know.
	both := none.DeepCopy()
	both.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: "both"}
	both.Spec.ApplicationRefs[0].Images[0].ManifestTarget = &aiuv1.ManifestTarget{
		Kustomize: &aiuv1.KustomizeTarget{Name: "frontend"}, Helm: &aiuv1.HelmTarget{Name: "image.name"},
	}
	g.Expect(k8sClient.Create(ctx, both)).To(MatchError(ContainSubstring("Exactly one of helm, kustomize, or plugin must be specified")))
	method := none.DeepCopy()
	method.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: "method"}
	method.Spec.WriteBackConfig = &aiuv1.WriteBackConfig{Method: "svn"}
	g.Expect(k8sClient.Create(ctx, method)).To(MatchError(ContainSubstring("spec.writeBackConfig.method")))

	plain := application(g, ns, "backend-plain", map[string]string{
		annPrefix + "image-list":              "backend=" + backend + ":latest",
		annPrefix + "backend.update-strategy": "digest",
		annPrefix + "backend.pull-secret":     "pullsecret:" + ns + "/pull",
	}, nil, map[string]any{
		"source": map[string]any{"repoURL": "https://git.example.com/deploy.git", "path": appDir, "directory": map[string]any{"recurse": true}},
	}, map[string]any{"sourceType": "Directory"})
	mixed := application(g, ns, "backend-mixed", map[string]string{
		annPrefix + "image-list":                   "backend=" + backend + ":latest, worker=" + worker + ":latest",
		annPrefix + "update-strategy":              "digest",
		annPrefix + "pull-secret":                  "pullsecret:" + ns + "/pull",
		annPrefix + "worker.update-strategy":       "newest",
		annPrefix + "backend.kustomize.image-name": "backend",
	}, nil, map[string]any{
		"source": map[string]any{"repoURL": "https://git.example.com/deploy.git", "path": appDir, "kustomize": map[string]any{}},
	}, map[string]any{"sourceType": "Kustomize", "summary": map[string]any{"images": []any{backend + ":latest", worker + ":latest"}}})
	iu := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "annotated"},
		Spec:       aiuv1.ImageUpdaterSpec{ApplicationRefs: []aiuv1.ApplicationRef{{NamePattern: "backend-*", UseAnnotations: ptr.To(true)}}},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())

	g.Eventually(func(g Gomega) {
		cur := getAIU(g, client.ObjectKeyFromObject(none))
		g.Expect(condition(cur, aiuv1.ConditionReady)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", aiuv1.ReasonNoApplicationMatched)))
		g.Expect(condition(cur, aiuv1.ConditionReady).Message).To(ContainSubstring("No Application in namespace " + ns))

		cur = getAIU(g, client.ObjectKeyFromObject(glob))
		g.Expect(condition(cur, aiuv1.ConditionReady)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", aiuv1.ReasonReconcileFailed)))
		g.Expect(condition(cur, aiuv1.ConditionReady).Message).To(ContainSubstring("spec.applicationRefs[0].namePattern"))
		g.Expect(condition(cur, aiuv1.ConditionError).Reason).To(Equal(aiuv1.ReasonReconcileError))
	}).Should(Succeed())

	// The good image of the mixed Application is written.
	g.Eventually(func(g Gomega) {
		images, _, _ := unstructured.NestedStringSlice(getApp(g, client.ObjectKeyFromObject(mixed)).Object, "spec", "source", "kustomize", "images")
		g.Expect(images).To(Equal([]string{"backend=" + backend + ":latest@" + d}))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		cur := getAIU(g, client.ObjectKeyFromObject(iu))
		g.Expect(condition(cur, aiuv1.ConditionReady).Reason).To(Equal(aiuv1.ReasonReconcileCompletedWithErrors))
		g.Expect(condition(cur, aiuv1.ConditionError)).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", aiuv1.ReasonPartialErrors)))
		a := appStatus(cur, "backend-plain")
		g.Expect(a.Reason).To(Equal(aiuv1.ReasonUnsupportedSource))
		g.Expect(a.Message).To(ContainSubstring("Directory"))
		w := aliasStatus(appStatus(cur, "backend-mixed"), "worker")
		g.Expect(w.Reason).To(Equal(aiuv1.ReasonInvalidAnnotation))
		g.Expect(w.Message).To(ContainSubstring(`updateStrategy "newest"`))
		g.Expect(aliasStatus(appStatus(cur, "backend-mixed"), "backend").Digest).To(Equal(d))
	}).Should(Succeed())
	// Nothing was written to the Directory Application.
	waitForChecks(g, client.ObjectKeyFromObject(iu), 1)
	src, _, _ := unstructured.NestedMap(getApp(g, client.ObjectKeyFromObject(plain)).Object, "spec", "source")
	g.Expect(src).NotTo(HaveKey("kustomize"))
	g.Expect(src).NotTo(HaveKey("helm"))
	images, _, _ := unstructured.NestedStringSlice(getApp(g, client.ObjectKeyFromObject(mixed)).Object, "spec", "source", "kustomize", "images")
	g.Expect(strings.Join(images, ",")).NotTo(ContainSubstring("worker"))
}

// assertAppMetrics checks the reference's metric names are served for
// the ImageUpdater.
func assertAppMetrics(g *WithT, ns, name string) {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	found := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["image_updater_cr_namespace"] == ns && labels["image_updater_cr_name"] == name {
				found[f.GetName()] = true
			}
		}
	}
	for _, n := range []string{"argocd_image_updater_applications_watched_total", "argocd_image_updater_images_watched_total", "argocd_image_updater_images_updated_total", "argocd_image_updater_images_errors_total"} {
		g.Expect(found).To(HaveKey(n))
	}
}

// TestReferenceHelmValuesBranch: a Helm Application written back to its
// values file on a branch named by a <base>:<target> template.
func TestReferenceHelmValuesBranch(t *testing.T) {
	requireArgoCD(t)
	ns, g := newNamespace(t)
	reg := seedRegistry(t, g, ns)
	git := gitserver.Start(t)
	values := "# backend chart values\nreplicaCount: 2\nimage:\n  repository: registry.example.com/backend # set by CI\n  tag: latest\n"
	git.CreateRepo(t, "deploy", "main", map[string]string{"charts/backend/values.yaml": values})
	createSecret(g, ns, "git-creds", corev1.SecretTypeOpaque, map[string][]byte{
		"username": []byte(git.Username), "password": []byte(git.Password),
	})
	backend := reg.Repo("backend")
	d := reg.PushRandom(t, "backend:latest").String()
	application(g, ns, "backend-helm", nil, nil, map[string]any{
		"source": map[string]any{"repoURL": git.RepoURL("deploy"), "path": "charts/backend", "targetRevision": "main", "helm": map[string]any{}},
	}, map[string]any{"sourceType": "Helm", "summary": map[string]any{"images": []any{backend + ":latest"}}})
	iu := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "helm"},
		Spec: aiuv1.ImageUpdaterSpec{
			WriteBackConfig: &aiuv1.WriteBackConfig{Method: "git:secret:git-creds", GitConfig: &aiuv1.GitConfig{
				Branch: "main:image-updater/{{.AppName}}", WriteBackTarget: "helmvalues",
			}},
			ApplicationRefs: []aiuv1.ApplicationRef{{
				NamePattern: "backend-*",
				Images: []aiuv1.ImageConfig{{
					Alias: "backend", ImageName: backend + ":latest",
					CommonUpdateSettings: &aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("digest"), PullSecret: ptr.To("pullsecret:" + ns + "/pull")},
					ManifestTarget:       &aiuv1.ManifestTarget{Helm: &aiuv1.HelmTarget{Name: "image.repository", Tag: "image.tag"}},
				}},
			}},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())

	const target = "image-updater/backend-helm"
	g.Eventually(func(g Gomega) {
		out, err := gitserver.GitE("", "--git-dir", filepath.Join(git.Root, "deploy.git"), "rev-parse", "--verify", "refs/heads/"+target)
		g.Expect(err).NotTo(HaveOccurred(), out)
	}).Should(Succeed())
	g.Expect(git.ReadFile(t, "deploy", target, "charts/backend/values.yaml")).To(Equal(
		"# backend chart values\nreplicaCount: 2\nimage:\n  repository: " + backend + " # set by CI\n  tag: latest@" + d + "\n"))
	g.Expect(git.ReadFile(t, "deploy", "main", "charts/backend/values.yaml")).To(Equal(values))
	g.Eventually(func(g Gomega) {
		cur := getAIU(g, client.ObjectKeyFromObject(iu))
		g.Expect(condition(cur, aiuv1.ConditionReady).Reason).To(Equal(aiuv1.ReasonReconcileSucceeded))
		g.Expect(aliasStatus(appStatus(cur, "backend-helm"), "backend").Written).To(Equal(backend + ":latest@" + d))
	}).Should(Succeed())
	waitForChecks(g, client.ObjectKeyFromObject(iu), 2)
	g.Expect(git.Log(t, "deploy", target)).To(HaveLen(2))
}

// TestReferencePullSecretForms: an image whose pullSecret is
// secret:<ns>/<name>#<field> (user:password in one field of a Secret of
// the namespace) reads the private registry and is written back; env: is
// the image updater's own credential, which this namespace may not use
// (no --ambient-credentials-namespaces here), so that image gets
// AmbientCredentialsNotAllowed and is not written.
func TestReferencePullSecretForms(t *testing.T) {
	requireArgoCD(t)
	ns, g := newNamespace(t)
	reg := seedRegistry(t, g, ns)
	backend, worker := reg.Repo("backend"), reg.Repo("worker")
	d := reg.PushRandom(t, "backend:latest").String()
	reg.PushRandom(t, "worker:latest")
	createSecret(g, ns, "registry-login", corev1.SecretTypeOpaque, map[string][]byte{
		"credentials": []byte(reg.Username + ":" + reg.Password + "\n"),
	})

	app := application(g, ns, "backend-prod", nil, nil, map[string]any{
		"source": map[string]any{"repoURL": "https://git.example.com/deploy.git", "path": appDir, "kustomize": map[string]any{}},
	}, map[string]any{"sourceType": "Kustomize", "summary": map[string]any{"images": []any{backend + ":latest", worker + ":latest"}}})
	iu := &aiuv1.ImageUpdater{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "forms"},
		Spec: aiuv1.ImageUpdaterSpec{
			CommonUpdateSettings: &aiuv1.CommonUpdateSettings{UpdateStrategy: ptr.To("digest")},
			ApplicationRefs: []aiuv1.ApplicationRef{{
				NamePattern: "backend-prod",
				Images: []aiuv1.ImageConfig{{
					Alias: "backend", ImageName: backend + ":latest",
					CommonUpdateSettings: &aiuv1.CommonUpdateSettings{PullSecret: ptr.To("secret:" + ns + "/registry-login#credentials")},
				}, {
					Alias: "worker", ImageName: worker + ":latest",
					CommonUpdateSettings: &aiuv1.CommonUpdateSettings{PullSecret: ptr.To("env:SWITCHYARD_TEST_REGISTRY_CREDS")},
				}},
			}},
		},
	}
	g.Expect(k8sClient.Create(ctx, iu)).To(Succeed())
	key := client.ObjectKeyFromObject(iu)

	g.Eventually(func(g Gomega) {
		images, _, _ := unstructured.NestedStringSlice(getApp(g, client.ObjectKeyFromObject(app)).Object, "spec", "source", "kustomize", "images")
		g.Expect(images).To(Equal([]string{backend + ":latest@" + d}))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		cur := getAIU(g, key)
		a := appStatus(cur, "backend-prod")
		g.Expect(aliasStatus(a, "backend").Digest).To(Equal(d))
		g.Expect(aliasStatus(a, "backend").Reason).To(BeEmpty())
		w := aliasStatus(a, "worker")
		g.Expect(w.Reason).To(Equal("AmbientCredentialsNotAllowed"))
		g.Expect(w.Message).To(ContainSubstring("--ambient-credentials-namespaces"))
		g.Expect(w.Digest).To(BeEmpty())
		g.Expect(condition(cur, aiuv1.ConditionError).Reason).To(Equal(aiuv1.ReasonPartialErrors))
	}).Should(Succeed())
	g.Expect(logs.String()).NotTo(ContainSubstring(reg.Password))
}
