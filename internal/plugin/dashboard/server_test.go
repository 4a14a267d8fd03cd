package dashboard_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/dashboard"
)

func canary(ns, name string) *v1alpha1.Rollout {
	labels := map[string]string{"app": name}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, "demo:1"),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}, {Pause: &v1alpha1.RolloutPause{}}},
			}},
		},
	}
}

func podTemplate(labels map[string]string, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

func (f *fixture) create(ro *v1alpha1.Rollout) *v1alpha1.Rollout {
	f.t.Helper()
	f.g.Expect(k8sClient.Create(f.ctx, ro)).To(Succeed())
	return ro
}

func (f *fixture) get(name string) *v1alpha1.Rollout {
	f.t.Helper()
	ro := &v1alpha1.Rollout{}
	f.g.Expect(k8sClient.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, ro)).To(Succeed())
	return ro
}

// snapshot reads the dashboard's JSON endpoint.
func snapshot(g Gomega, url string) *dashboard.Snapshot {
	resp, err := httpClient.Get(url + "/api/rollouts")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	snap := &dashboard.Snapshot{}
	g.Expect(json.NewDecoder(resp.Body).Decode(snap)).To(Succeed())
	return snap
}

// shown returns the Rollout called name in snap, or nil.
func shown(snap *dashboard.Snapshot, name string) *dashboard.Rollout {
	for i := range snap.Rollouts {
		if snap.Rollouts[i].Name == name {
			return &snap.Rollouts[i]
		}
	}
	return nil
}

// page returns the page's HTML and the token it embeds.
func page(g Gomega, url string) (string, string) {
	resp, err := httpClient.Get(url + "/")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	m := regexp.MustCompile(`<meta name="switchyard-token" content="([0-9a-f]+)">`).FindSubmatch(body)
	g.Expect(m).NotTo(BeNil(), "the page embeds the token")
	return string(body), string(m[1])
}

// post sends an action as the page does (token and same Origin) unless
// headers say otherwise; a header set to "" is left out.
func post(g Gomega, url, token, ns, name, action string, body any, headers map[string]string) (int, dashboard.ActionResponse) {
	data, err := json.Marshal(body)
	g.Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequest(http.MethodPost, url+"/api/namespaces/"+ns+"/rollouts/"+name+"/"+action, bytes.NewReader(data))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(dashboard.TokenHeader, token)
	req.Header.Set("Origin", url)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := httpClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var out dashboard.ActionResponse
	g.Expect(json.NewDecoder(resp.Body).Decode(&out)).To(Succeed())
	return resp.StatusCode, out
}

// TestButtonsRunTheCommands drives a canary through every button with the
// controller running: each action answers with what the CLI command
// prints, and the controller acts on what it wrote.
func TestButtonsRunTheCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.startController()
	url, _ := f.serve(env.Kubeconfig, f.ns)
	_, token := page(f.g, url)
	f.create(canary(f.ns, "web"))
	phase := func(g Gomega) string {
		ro := shown(snapshot(g, url), "web")
		g.Expect(ro).NotTo(BeNil())
		return string(ro.Phase)
	}
	f.g.Eventually(phase).Should(Equal("Healthy"))

	act := func(action string, body any, want string) {
		t.Helper()
		code, resp := post(f.g, url, token, f.ns, "web", action, body, nil)
		f.g.Expect(resp).To(Equal(dashboard.ActionResponse{Message: want}), action)
		f.g.Expect(code).To(Equal(http.StatusOK))
	}

	act(dashboard.ActionSetImage, dashboard.ActionRequest{Container: "app", Image: "demo:2"}, `rollout "web" image updated`)
	f.g.Eventually(func(g Gomega) {
		ro := shown(snapshot(g, url), "web")
		g.Expect(ro).NotTo(BeNil())
		g.Expect(ro.Phase).To(BeEquivalentTo("Paused"))
		g.Expect(ro.Step).To(Equal("1/2"))
		g.Expect(ro.SetWeight).To(Equal("50"))
		g.Expect(ro.Revision).To(Equal("2"))
		g.Expect(ro.ReplicaSets).To(HaveLen(2))
		g.Expect(ro.Containers).To(Equal([]string{"app"}))
	}).Should(Succeed())

	act(dashboard.ActionPromote, nil, "rollout 'web' promoted")
	f.g.Eventually(phase).Should(Equal("Healthy"))
	f.g.Expect(f.get("web").Spec.Template.Spec.Containers[0].Image).To(Equal("demo:2"))

	act(dashboard.ActionSetImage, dashboard.ActionRequest{Container: "*", Image: "demo:3"}, `rollout "web" image updated`)
	f.g.Eventually(phase).Should(Equal("Paused"))
	act(dashboard.ActionAbort, nil, "rollout 'web' aborted")
	f.g.Eventually(phase).Should(Equal("Degraded"))
	f.g.Expect(f.get("web").Status.Abort).To(BeTrue())
	act(dashboard.ActionRetry, nil, "rollout 'web' retried")
	f.g.Eventually(phase).Should(Equal("Paused"))
	act(dashboard.ActionPromoteFull, nil, "rollout 'web' fully promoted")
	f.g.Eventually(func(g Gomega) {
		ro := shown(snapshot(g, url), "web")
		g.Expect(ro).NotTo(BeNil())
		g.Expect(ro.Phase).To(BeEquivalentTo("Healthy"))
		g.Expect(ro.Images).To(HaveLen(1))
		g.Expect(ro.Images[0].Name).To(Equal("demo:3"))
	}).Should(Succeed())

	act(dashboard.ActionRestart, nil, "rollout 'web' restarts in 0s")
	f.g.Expect(f.get("web").Spec.RestartAt).NotTo(BeNil())
}

// TestActionsOnlyFromThePage: an action without the page's token, with
// another site's Origin, or addressed to a name other than localhost is
// refused and changes nothing.
func TestActionsOnlyFromThePage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	url, srv := f.serve(env.Kubeconfig, f.ns)
	html, token := page(f.g, url)
	f.g.Expect(token).To(Equal(srv.Token()))
	f.g.Expect(html).NotTo(ContainSubstring("http://"), "the page loads nothing from elsewhere")
	f.g.Expect(html).NotTo(ContainSubstring("https://"), "the page loads nothing from elsewhere")
	f.create(canary(f.ns, "web"))

	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"no token", map[string]string{dashboard.TokenHeader: ""}, "missing or wrong X-Switchyard-Token header"},
		{"wrong token", map[string]string{dashboard.TokenHeader: strings.Repeat("0", len(token))}, "missing or wrong X-Switchyard-Token header"},
		{"other origin", map[string]string{"Origin": "http://evil.example"}, `origin "http://evil.example" refused`},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:1"}, `origin "http://127.0.0.1:1" refused`},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, "cross-site request refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			code, resp := post(g, url, token, f.ns, "web", dashboard.ActionAbort, nil, tc.headers)
			g.Expect(code).To(Equal(http.StatusForbidden))
			g.Expect(resp.Error).To(ContainSubstring(tc.want))
		})
	}
	f.g.Expect(f.get("web").Status.Abort).To(BeFalse(), "no refused request aborted the rollout")

	// A page of another site resolving its own name to 127.0.0.1 (DNS
	// rebinding) gets neither the page (and its token) nor the data.
	for _, path := range []string{"/", "/api/rollouts", "/api/events"} {
		req, err := http.NewRequest(http.MethodGet, url+path, nil)
		f.g.Expect(err).NotTo(HaveOccurred())
		req.Host = "evil.example:3100"
		resp, err := httpClient.Do(req)
		f.g.Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		f.g.Expect(resp.StatusCode).To(Equal(http.StatusForbidden), path)
		f.g.Expect(string(body)).NotTo(ContainSubstring(token))
	}

	// From the page itself, the same request goes through.
	code, resp := post(f.g, url, token, f.ns, "web", dashboard.ActionAbort, nil, nil)
	f.g.Expect(code).To(Equal(http.StatusOK))
	f.g.Expect(resp.Message).To(Equal("rollout 'web' aborted"))
	f.g.Expect(f.get("web").Status.Abort).To(BeTrue())
}

// TestAPIErrorsAreMessages: what the API server refuses reaches the page
// as a message naming the object: a Rollout that is gone, a user who may
// not read or write Rollouts, bad set-image input.
func TestAPIErrorsAreMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	url, _ := f.serve(env.Kubeconfig, f.ns)
	_, token := page(f.g, url)
	f.create(canary(f.ns, "web"))

	code, resp := post(f.g, url, token, f.ns, "gone", dashboard.ActionPromote, nil, nil)
	f.g.Expect(code).To(Equal(http.StatusNotFound))
	f.g.Expect(resp.Error).To(Equal(`promote ` + f.ns + `/gone: rollouts.argoproj.io "gone" not found`))

	code, resp = post(f.g, url, token, f.ns, "web", dashboard.ActionSetImage, dashboard.ActionRequest{Container: "nope", Image: "demo:2"}, nil)
	f.g.Expect(code).To(Equal(http.StatusInternalServerError))
	f.g.Expect(resp.Error).To(Equal(`set-image ` + f.ns + `/web: unable to find container named "nope"`))

	code, resp = post(f.g, url, token, f.ns, "web", dashboard.ActionSetImage, dashboard.ActionRequest{Container: "Not A Name", Image: "demo:2"}, nil)
	f.g.Expect(code).To(Equal(http.StatusBadRequest))
	f.g.Expect(resp.Error).To(HavePrefix(`set-image ` + f.ns + `/web: container "Not A Name": `))

	code, resp = post(f.g, url, token, f.ns, "web", dashboard.ActionSetImage, dashboard.ActionRequest{Container: "app", Image: ""}, nil)
	f.g.Expect(code).To(Equal(http.StatusBadRequest))
	f.g.Expect(resp.Error).To(ContainSubstring(`image "": must be a non-empty image reference`))
	f.g.Expect(f.get("web").Spec.Template.Spec.Containers[0].Image).To(Equal("demo:1"), "bad input changes nothing")

	code, resp = post(f.g, url, token, f.ns, "web", "delete", nil, nil)
	f.g.Expect(code).To(Equal(http.StatusNotFound))
	f.g.Expect(resp.Error).To(ContainSubstring("unknown action"))

	code, resp = post(f.g, url, token, "kube-system", "web", dashboard.ActionAbort, nil, nil)
	f.g.Expect(code).To(Equal(http.StatusForbidden))
	f.g.Expect(resp.Error).To(Equal(`namespace "kube-system" is not shown by this dashboard (it shows "` + f.ns + `")`))

	// A user without any permission: the page still loads, the snapshot
	// says what was refused, and an action answers with the API's 403.
	nobody, _ := f.serve(nobodyKubeconfig(t), f.ns)
	_, nobodyToken := page(f.g, nobody)
	f.g.Eventually(func(g Gomega) {
		snap := snapshot(g, nobody)
		g.Expect(snap.Synced).To(BeFalse())
		g.Expect(snap.Rollouts).To(BeEmpty())
		g.Expect(snap.Errors).To(ContainElement(And(
			HavePrefix("read rollouts: "),
			ContainSubstring(`rollouts.argoproj.io is forbidden: User "nobody" cannot list resource "rollouts"`))))
		g.Expect(snap.Errors).To(ContainElement(HavePrefix("read pods: ")))
	}).Should(Succeed())
	code, resp = post(f.g, nobody, nobodyToken, f.ns, "web", dashboard.ActionAbort, nil, nil)
	f.g.Expect(code).To(Equal(http.StatusForbidden))
	f.g.Expect(resp.Error).To(ContainSubstring(`rollouts.argoproj.io "web" is forbidden: User "nobody" cannot patch resource "rollouts/status"`))
}

// TestEventsFollowTheRollout: the event stream sends a new snapshot when a
// Rollout changes and when it is deleted, without the page asking.
func TestEventsFollowTheRollout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	url, _ := f.serve(env.Kubeconfig, f.ns)
	f.create(canary(f.ns, "web"))

	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/events", nil)
	f.g.Expect(err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	f.g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	f.g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	f.g.Expect(resp.Header.Get("Content-Type")).To(Equal("text/event-stream"))
	events := make(chan *dashboard.Snapshot, 100)
	go readEvents(resp.Body, events)
	next := func(want func(*dashboard.Snapshot) bool) *dashboard.Snapshot {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case snap, ok := <-events:
				f.g.Expect(ok).To(BeTrue(), "the stream stays open")
				if want(snap) {
					return snap
				}
			case <-deadline:
				t.Fatal("no matching event within 30s")
			}
		}
	}

	snap := next(func(s *dashboard.Snapshot) bool { return s.Synced && shown(s, "web") != nil })
	f.g.Expect(snap.Namespace).To(Equal(f.ns))
	f.g.Expect(shown(snap, "web").Strategy).To(Equal("Canary"))

	// No controller runs here: the test writes the status a paused canary has.
	ro := f.get("web")
	ro.Status.ObservedGeneration = v1alpha1.ObservedGenerationString(ro.Generation)
	ro.Status.Phase = v1alpha1.RolloutPhasePaused
	ro.Status.CurrentStepIndex = ptr.To[int32](1)
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.Now()}}
	f.g.Expect(k8sClient.Status().Update(f.ctx, ro)).To(Succeed())
	snap = next(func(s *dashboard.Snapshot) bool { r := shown(s, "web"); return r != nil && r.Phase == "Paused" })
	f.g.Expect(shown(snap, "web").Step).To(Equal("1/2"))
	f.g.Expect(shown(snap, "web").SetWeight).To(Equal("50"))

	f.g.Expect(k8sClient.Delete(f.ctx, ro)).To(Succeed())
	next(func(s *dashboard.Snapshot) bool { return shown(s, "web") == nil })
}

// readEvents decodes the "state" events of an event stream.
func readEvents(r io.Reader, out chan<- *dashboard.Snapshot) {
	defer close(out)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "state":
			snap := &dashboard.Snapshot{}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), snap); err != nil {
				return
			}
			out <- snap
		}
	}
}

// TestAllNamespaces: with -A the page shows the Rollouts of every
// namespace, each with its namespace, and actions reach any of them.
func TestAllNamespaces(t *testing.T) {
	t.Parallel()
	a, b := newFixture(t), newFixture(t)
	a.create(canary(a.ns, "web"))
	b.create(canary(b.ns, "web"))
	url, _ := a.serve(env.Kubeconfig, "")
	_, token := page(a.g, url)
	a.g.Eventually(func(g Gomega) {
		snap := snapshot(g, url)
		g.Expect(snap.Namespace).To(BeEmpty())
		var namespaces []string
		for _, ro := range snap.Rollouts {
			if ro.Name == "web" {
				namespaces = append(namespaces, ro.Namespace)
			}
		}
		g.Expect(namespaces).To(ContainElements(a.ns, b.ns))
	}).Should(Succeed())
	code, resp := post(a.g, url, token, b.ns, "web", dashboard.ActionAbort, nil, nil)
	a.g.Expect(code).To(Equal(http.StatusOK))
	a.g.Expect(resp.Message).To(Equal("rollout 'web' aborted"))
	b.g.Expect(b.get("web").Status.Abort).To(BeTrue())
	a.g.Expect(a.get("web").Status.Abort).To(BeFalse())
}

// analysisFixture gives the Rollout ro a background AnalysisRun of its
// revision 1 with two measurements counted, and an Experiment (step) with
// a run of its own, as the controllers would own them; no controller runs
// here, so the test writes their status (the kinds have no status
// subresource, as in the reference's CRDs, so it is created with them).
func (f *fixture) analysisFixture(ro *v1alpha1.Rollout) {
	f.t.Helper()
	owner := []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))}
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: ro.Name + "-1-success-rate", OwnerReferences: owner,
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "1"}},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
			Name: "success-rate", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://example.invalid"}},
		}}},
		Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, MetricResults: []v1alpha1.MetricResult{
			{Name: "success-rate", Phase: v1alpha1.AnalysisPhaseRunning, Count: 3, Successful: 2, Failed: 1},
		}},
	}
	f.g.Expect(k8sClient.Create(f.ctx, run)).To(Succeed())

	l := map[string]string{"app": ro.Name, "role": "baseline"}
	ex := &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: ro.Name + "-1-0", OwnerReferences: owner,
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "1"}},
		Spec: v1alpha1.ExperimentSpec{Templates: []v1alpha1.TemplateSpec{{
			Name: "baseline", Selector: &metav1.LabelSelector{MatchLabels: l}, Template: podTemplate(l, "demo:1"),
		}}},
		Status: v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseFailed, Message: "Metric \"compare\" assessed Failed"},
	}
	f.g.Expect(k8sClient.Create(f.ctx, ex)).To(Succeed())
	exRun := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: ex.Name + "-compare",
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, v1alpha1.GroupVersion.WithKind("Experiment"))}},
		Spec:   run.Spec,
		Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseFailed},
	}
	f.g.Expect(k8sClient.Create(f.ctx, exRun)).To(Succeed())
}

// TestAnalysisAndExperimentsShown: the page's model has the Rollout's
// AnalysisRuns, with their measurements counted, and its Experiments with
// their own runs, as `get rollout` shows them; another Rollout's are not.
func TestAnalysisAndExperimentsShown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	url, _ := f.serve(env.Kubeconfig, f.ns)
	f.analysisFixture(f.create(canary(f.ns, "web")))
	f.create(canary(f.ns, "other"))

	f.g.Eventually(func(g Gomega) {
		snap := snapshot(g, url)
		g.Expect(snap.Synced).To(BeTrue())
		web := shown(snap, "web")
		g.Expect(web).NotTo(BeNil())
		g.Expect(web.AnalysisRuns).To(HaveLen(1))
		run := web.AnalysisRuns[0]
		g.Expect(run.Name).To(Equal("web-1-success-rate"))
		g.Expect(run.Revision).To(Equal(1))
		g.Expect(run.Status).To(Equal("Running"))
		g.Expect([]int32{run.Successful, run.Failed, run.Inconclusive, run.Error}).To(Equal([]int32{2, 1, 0, 0}))
		g.Expect(web.Experiments).To(HaveLen(1))
		ex := web.Experiments[0]
		g.Expect(ex.Name).To(Equal("web-1-0"))
		g.Expect(string(ex.Phase)).To(Equal("Failed"))
		g.Expect(ex.Runs).To(HaveLen(1))
		g.Expect(ex.Runs[0].Name).To(Equal("web-1-0-compare"))
		g.Expect(ex.Runs[0].Status).To(Equal("Failed"))
		other := shown(snap, "other")
		g.Expect(other).NotTo(BeNil())
		g.Expect(other.AnalysisRuns).To(BeEmpty())
		g.Expect(other.Experiments).To(BeEmpty())
	}).Should(Succeed())
}
