package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/tools"
)

// ArtifactsEnv names a directory for the browser tests' screenshots; by
// default they go to the test's temporary directory.
const ArtifactsEnv = "SWITCHYARD_ARTIFACTS"

// browser starts headless Chromium for the test, with a 1280x800 window.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		tools.Missing(t, "chromium not found: apt-get install -y chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		// Root in a container has no user namespaces for the sandbox.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	return ctx
}

// artifacts is where the test's screenshots go.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the browser's viewport as a PNG and logs its path.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// do runs browser actions with a deadline; on failure it saves a
// screenshot of what the page showed.
func do(t *testing.T, ctx context.Context, dir string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := chromedp.Do(actx, actions...); err != nil {
		if png, serr := chromedp.Run(ctx, chromedp.CaptureScreenshot()); serr == nil {
			path := filepath.Join(dir, "failure.png")
			if os.WriteFile(path, png, 0o644) == nil {
				t.Logf("screenshot at failure: %s", path)
			}
		}
		t.Fatalf("browser: %v", err)
	}
}

// until polls a JavaScript condition in the page until it holds.
func until(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", expr, err)
		}
		return nil
	})
}

// text reads the text a person sees in the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// js quotes s as a JavaScript string.
func js(s string) string { return fmt.Sprintf("%q", s) }

// field is the expression for the text of a rollout card's field.
func field(key, name string) string {
	return fmt.Sprintf(`(document.querySelector('section[data-key=%s] [data-field=%s]') || {}).textContent`, js(key), js(name))
}

// seedCanary creates the canary of examples/ in the fixture's namespace.
func (f *fixture) seedCanary() *v1alpha1.Rollout {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "examples", "canary-rollout.yaml"))
	f.g.Expect(err).NotTo(HaveOccurred())
	ro := &v1alpha1.Rollout{}
	f.g.Expect(yaml.UnmarshalStrict(data, ro)).To(Succeed())
	ro.Namespace = f.ns
	return f.create(ro)
}

// TestBrowserPromote is what a person does: open the dashboard while the
// seed canary is paused at 30% of an update, read its state, press
// Promote, confirm, and watch the page turn Healthy by itself.
func TestBrowserPromote(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	dir := artifacts(t)
	f := newFixture(t)
	f.startController()
	url, _ := f.serve(env.Kubeconfig, f.ns)

	ro := f.seedCanary()
	key := f.ns + "/" + ro.Name
	f.g.Eventually(func() v1alpha1.RolloutPhase { return f.get(ro.Name).Status.Phase }).Should(Equal(v1alpha1.RolloutPhaseHealthy))
	f.g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest := f.get(ro.Name)
		latest.Spec.Template.Spec.Containers[0].Image = "registry.example.com/backend:v2"
		return k8sClient.Update(f.ctx, latest)
	})).To(Succeed())
	f.g.Eventually(func() v1alpha1.RolloutPhase { return f.get(ro.Name).Status.Phase }).Should(Equal(v1alpha1.RolloutPhasePaused))

	card := `section[data-key="` + key + `"]`
	do(t, ctx, dir,
		chromedp.Navigate(url+"/"),
		until(field(key, "phase")+` === "Paused"`, 30*time.Second),
		until(field(key, "actualWeight")+` === "30"`, 30*time.Second),
	)
	pageID := eval[string](t, ctx, `window.dashboardPageId`)
	f.g.Expect(pageID).NotTo(BeEmpty())
	seen := text(t, ctx, card)
	f.g.Expect(seen).To(ContainSubstring("backend-canary"))
	f.g.Expect(seen).To(ContainSubstring("Paused"))
	f.g.Expect(seen).To(ContainSubstring("registry.example.com/backend:v2"))
	f.g.Expect(text(t, ctx, card+` [data-field="step"]`)).To(Equal("1/2"))
	f.g.Expect(text(t, ctx, card+` [data-field="setWeight"]`)).To(Equal("30"))
	screenshot(t, ctx, dir, "before-promote.png")

	do(t, ctx, dir,
		chromedp.Click(chromedp.CSS(card+` button[data-action="promote"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
	)
	f.g.Expect(text(t, ctx, "#confirm-title")).To(Equal("Promote backend-canary?"))
	f.g.Expect(eval[string](t, ctx, `document.activeElement.id`)).To(Equal("confirm-cancel"), "the dialog starts on the safe choice")
	f.g.Expect(eval[bool](t, ctx, `document.getElementById("image-name").checkVisibility()`)).To(BeFalse(), "promote asks for no image")
	screenshot(t, ctx, dir, "confirm-promote.png")

	do(t, ctx, dir,
		chromedp.Click(chromedp.ID("confirm-ok")),
		chromedp.WaitNotVisible(chromedp.ID("confirm")),
		until(field(key, "phase")+` === "Healthy"`, 2*time.Minute),
	)
	f.g.Expect(eval[bool](t, ctx, `window.dashboardPageId === `+js(pageID))).To(BeTrue(), "the page updated without a reload")
	f.g.Expect(eval[string](t, ctx, `document.activeElement.dataset.action || ""`)).To(Equal("promote"), "closing the dialog gives the focus back to its button")
	f.g.Expect(text(t, ctx, card)).To(ContainSubstring("Healthy"))
	f.g.Expect(f.get(ro.Name).Status.PauseConditions).To(BeEmpty())
	screenshot(t, ctx, dir, "after-promote.png")

	// The keyboard alone: focus Set image, Enter opens the dialog on the
	// image field, typing and Enter confirm; the next revision starts.
	do(t, ctx, dir,
		chromedp.Focus(chromedp.CSS(card+` button[data-action="set-image"]`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.ID("confirm")),
	)
	f.g.Expect(eval[string](t, ctx, `document.activeElement.id`)).To(Equal("image-name"))
	f.g.Expect(eval[string](t, ctx, `document.getElementById("image-container").value`)).To(Equal("backend-canary"))
	do(t, ctx, dir,
		chromedp.KeyEvent("registry.example.com/backend:v3\r"),
		chromedp.WaitNotVisible(chromedp.ID("confirm")),
		until(field(key, "revision")+` === "3"`, 30*time.Second),
	)
	f.g.Expect(f.get(ro.Name).Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example.com/backend:v3"))
	f.g.Expect(eval[string](t, ctx, `document.activeElement.dataset.action || ""`)).To(Equal("set-image"))
	f.g.Expect(eval[bool](t, ctx, `window.dashboardPageId === `+js(pageID))).To(BeTrue(), "the page updated without a reload")
}

// TestBrowserShowsAPIErrors: a page whose user may not read Rollouts, and
// an action on a Rollout deleted while its confirmation was open, both
// show the API server's message on the page.
func TestBrowserShowsAPIErrors(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	dir := artifacts(t)
	f := newFixture(t)

	nobody, _ := f.serve(nobodyKubeconfig(t), f.ns)
	do(t, ctx, dir,
		chromedp.Navigate(nobody+"/"),
		until(`!document.getElementById("errors").hidden && document.getElementById("errors").textContent.includes("forbidden")`, 30*time.Second),
	)
	f.g.Expect(text(t, ctx, "h1")).To(Equal("Rollouts"))
	f.g.Expect(text(t, ctx, "#errors")).To(ContainSubstring(`rollouts.argoproj.io is forbidden: User "nobody" cannot list resource "rollouts"`))
	f.g.Expect(text(t, ctx, "#empty")).To(Equal("Cannot show the Rollouts: see the errors above."))
	screenshot(t, ctx, dir, "forbidden.png")

	url, _ := f.serve(env.Kubeconfig, f.ns)
	ro := f.create(canary(f.ns, "web"))
	key := f.ns + "/web"
	do(t, ctx, dir,
		chromedp.Navigate(url+"/"),
		until(`document.querySelector('section[data-key=`+js(key)+`]') !== null`, 30*time.Second),
		chromedp.Click(chromedp.CSS(`section[data-key="`+key+`"] button[data-action="abort"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
	)
	f.g.Expect(k8sClient.Delete(f.ctx, ro)).To(Succeed())
	do(t, ctx, dir,
		// The card goes away behind the dialog; the person confirms anyway.
		until(`document.querySelector('section[data-key=`+js(key)+`]') === null`, 30*time.Second),
		chromedp.Click(chromedp.ID("confirm-ok")),
		until(`!document.getElementById("errors").hidden && document.getElementById("errors").textContent.includes("not found")`, 30*time.Second),
	)
	f.g.Expect(text(t, ctx, "#errors")).To(ContainSubstring(`abort ` + key + `: rollouts.argoproj.io "web" not found`))
	screenshot(t, ctx, dir, "not-found.png")
}

// TestBrowserShowsAnalysis: a Rollout's AnalysisRuns and Experiments are
// tables of its card, each run with its status and measurements.
func TestBrowserShowsAnalysis(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	dir := artifacts(t)
	f := newFixture(t)
	url, _ := f.serve(env.Kubeconfig, f.ns)
	f.analysisFixture(f.create(canary(f.ns, "web")))
	card := `section[data-key="` + f.ns + `/web"] `
	do(t, ctx, dir,
		chromedp.Navigate(url+"/"),
		until(`document.querySelector(`+js(card+`tr[data-experiment="web-1-0"]`)+`) !== null`, 30*time.Second),
	)
	cells := func(row string) []string {
		var out []string
		for i := 1; i <= eval[int](t, ctx, `document.querySelectorAll(`+js(row+` td`)+`).length`); i++ {
			out = append(out, text(t, ctx, fmt.Sprintf("%s td:nth-child(%d)", row, i)))
		}
		return out
	}
	f.g.Expect(text(t, ctx, card+`table.analysisruns caption`)).To(Equal("Analysis runs"))
	f.g.Expect(cells(card + `tr[data-analysisrun="web-1-success-rate"]`)).To(Equal([]string{"#1", "web-1-success-rate", "Running", "2 successful, 1 failed"}))
	f.g.Expect(cells(card + `tr[data-experiment="web-1-0"]`)).To(Equal([]string{"#1", "web-1-0", "Failed", `Metric "compare" assessed Failed`, "web-1-0-compare Failed"}))
	screenshot(t, ctx, dir, "analysis.png")
}
