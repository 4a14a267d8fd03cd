package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/promote"
	"github.com/switchyard-dev/switchyard/test/promserver"
)

// prometheus is a running Prometheus server scraping the controller.
type prometheus struct{ api promv1.API }

// startPrometheus runs prometheus (package promserver) on a free loopback port,
// scraping the controller's /metrics every second, until t ends.
func startPrometheus(t *testing.T) *prometheus {
	t.Helper()
	bin := promserver.Require(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: switchyard
  static_configs:
  - targets: [%q]
`, metricsAddr), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("prometheus log:\n%s", log)
		}
	})
	c, err := promapi.NewClient(promapi.Config{Address: "http://" + listen})
	if err != nil {
		t.Fatal(err)
	}
	return &prometheus{api: promv1.NewAPI(c)}
}

// query runs an instant query and returns its samples by the value of
// label ("" for a single unlabelled sample).
func (p *prometheus) query(q, label string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, err := p.api.Query(ctx, q, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s: a %s, not a vector", q, v.Type())
	}
	out := map[string]float64{}
	for _, s := range vec {
		out[string(s.Metric[model.LabelName(label)])] = float64(s.Value)
	}
	return out, nil
}

// eventually polls q until match holds for its samples.
func (p *prometheus) eventually(g *WithT, q, label string, match OmegaMatcher) {
	g.Eventually(func() (map[string]float64, error) { return p.query(q, label) }).
		WithTimeout(90*time.Second).WithPolling(500*time.Millisecond).
		Should(match, "PromQL: %s", q)
}

// TestDashboardQueries runs, through Prometheus, the queries an Argo
// Rollouts Grafana dashboard runs, over the blue-green seed taken through
// an update and a promote.
func TestDashboardQueries(t *testing.T) {
	prom := startPrometheus(t)
	g := NewWithT(t)
	prom.eventually(g, `up{job="switchyard"}`, "", Equal(map[string]float64{"": 1}))
	// The workqueues carry the reference's names.
	prom.eventually(g, `sum(workqueue_adds_total) by (name)`, "name",
		And(HaveKey("Rollouts"), HaveKey("AnalysisRuns"), HaveKey("Experiments")))

	t.Run("blue-green update and promote", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		ns := namespace(t, g, "metrics-bg")
		name := applySeed(t, g, ns, "bluegreen-rollout.yaml")
		sel := fmt.Sprintf(`namespace=%q,name=%q`, ns, name)

		// Rollout count by phase, as the dashboard's "Rollouts" panel.
		prom.eventually(g, fmt.Sprintf(`sum(rollout_info{namespace=%q}) by (phase)`, ns), "phase",
			Equal(map[string]float64{"Completed": 1}))
		prom.eventually(g, fmt.Sprintf(`rollout_info{%s}`, sel), "strategy", Equal(map[string]float64{"blueGreen": 1}))
		prom.eventually(g, fmt.Sprintf(`rollout_info_replicas_available{%s}`, sel), "", Equal(map[string]float64{"": 1}))
		prom.eventually(g, fmt.Sprintf(`rollout_info_replicas_desired{%s} - rollout_info_replicas_available{%s}`, sel, sel), "", Equal(map[string]float64{"": 0}))
		prom.eventually(g, fmt.Sprintf(`rollout_info_replicas_unavailable{%s}`, sel), "", Equal(map[string]float64{"": 0}))

		// A new image: blue-green without auto-promotion pauses.
		setImage(g, ns, name, "backend:v2")
		prom.eventually(g, fmt.Sprintf(`sum(rollout_info{namespace=%q}) by (phase)`, ns), "phase",
			Equal(map[string]float64{"Paused": 1}))
		prom.eventually(g, fmt.Sprintf(`rollout_phase{%s} == 1`, sel), "phase", Equal(map[string]float64{"Paused": 1}))
		prom.eventually(g, fmt.Sprintf(`switchyard_promote_to_service_switch_seconds_count{%s}`, sel), "", BeEmpty())

		// The plugin's promote.
		ro := &v1alpha1.Rollout{}
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, ro)).To(Succeed())
		patches := promote.Plan(ro, false)
		g.Expect(patches.Status).NotTo(BeNil())
		g.Expect(k8sClient.Status().Patch(context.Background(), ro, client.RawPatch(types.MergePatchType, patches.Status))).To(Succeed())

		prom.eventually(g, fmt.Sprintf(`sum(rollout_info{namespace=%q}) by (phase)`, ns), "phase",
			Equal(map[string]float64{"Completed": 1}))
		prom.eventually(g, fmt.Sprintf(`switchyard_promote_to_service_switch_seconds_count{%s}`, sel), "", Equal(map[string]float64{"": 1}))
		prom.eventually(g, fmt.Sprintf(`switchyard_promote_to_service_switch_seconds_sum{%s} > 0`, sel), "", HaveLen(1))

		// Reconcile rate and latency, as the dashboard's reconcile panels.
		prom.eventually(g, fmt.Sprintf(`sum(rate(rollout_reconcile_count{%s}[1m])) > 0`, sel), "", HaveLen(1))
		prom.eventually(g, fmt.Sprintf(`histogram_quantile(0.95, sum(rate(rollout_reconcile_bucket{%s}[1m])) by (le))`, sel), "",
			HaveKeyWithValue("", And(BeNumerically(">", 0), BeNumerically("<=", 1))))
		// Events by reason: the initial deploy and the promote each
		// completed an update, the promote switched the active Service.
		prom.eventually(g, fmt.Sprintf(`sum(rollout_events_total{%s}) by (reason)`, sel), "reason",
			And(HaveKeyWithValue("RolloutCompleted", BeNumerically(">=", 2)), HaveKeyWithValue("SwitchService", BeNumerically(">=", 1))))
		// API requests: the active Service's selector was patched.
		prom.eventually(g, fmt.Sprintf(`sum(controller_clientset_k8s_request_total{namespace=%q,kind="services",verb="Patch"}) by (status_code)`, ns), "status_code",
			HaveKeyWithValue("200", BeNumerically(">=", 1)))
	})

	t.Run("canary paused at 30%", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		ns := namespace(t, g, "metrics-canary")
		name := applySeed(t, g, ns, "canary-rollout.yaml")
		sel := fmt.Sprintf(`namespace=%q,name=%q`, ns, name)
		prom.eventually(g, fmt.Sprintf(`sum(rollout_info{namespace=%q,strategy="canary",traffic_router=""}) by (phase)`, ns), "phase",
			Equal(map[string]float64{"Completed": 1}))
		prom.eventually(g, fmt.Sprintf(`rollout_info_replicas_available{%s}`, sel), "", Equal(map[string]float64{"": 10}))

		setImage(g, ns, name, "backend:v2")
		prom.eventually(g, fmt.Sprintf(`sum(rollout_info{namespace=%q}) by (phase)`, ns), "phase",
			Equal(map[string]float64{"Paused": 1}))
		// 30% of 10 replicas run the new template.
		prom.eventually(g, fmt.Sprintf(`rollout_info_replicas_updated{%s}`, sel), "", Equal(map[string]float64{"": 3}))
		prom.eventually(g, fmt.Sprintf(`rollout_info_replicas_desired{%s}`, sel), "", Equal(map[string]float64{"": 10}))

		ro := &v1alpha1.Rollout{}
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, ro)).To(Succeed())
		patches := promote.Plan(ro, false)
		g.Expect(k8sClient.Status().Patch(context.Background(), ro, client.RawPatch(types.MergePatchType, patches.Status))).To(Succeed())
		prom.eventually(g, fmt.Sprintf(`sum(rollout_info{namespace=%q}) by (phase)`, ns), "phase",
			Equal(map[string]float64{"Completed": 1}))
		prom.eventually(g, fmt.Sprintf(`rollout_info_replicas_updated{%s}`, sel), "", Equal(map[string]float64{"": 10}))
		// The seed's canary names no stable Service: there is no switch
		// to time.
		prom.eventually(g, fmt.Sprintf(`switchyard_promote_to_service_switch_seconds_count{%s}`, sel), "", BeEmpty())
	})

	t.Run("reconcile errors", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		ns := namespace(t, g, "metrics-err")
		refuseReplicaSets(t, g, ns)
		name := applySeed(t, g, ns, "bluegreen-rollout.yaml")
		sel := fmt.Sprintf(`namespace=%q,name=%q`, ns, name)
		// Every pass fails creating the ReplicaSet.
		prom.eventually(g, fmt.Sprintf(`rollout_reconcile_error{%s}`, sel), "", HaveKeyWithValue("", BeNumerically(">=", 1)))
		prom.eventually(g, fmt.Sprintf(`sum(controller_clientset_k8s_request_total{namespace=%q,kind="replicasets",verb="Create"}) by (status_code)`, ns), "status_code",
			HaveKeyWithValue("422", BeNumerically(">=", 1)))
		// As the reference: Progressing=False by ReplicaSetCreateError, a
		// Warning event of that reason, and rollout_info's phase Error
		// (status.phase stays Progressing). The first pass may have found
		// the Services missing (they are created after the Rollout): that
		// InvalidSpec must go.
		prom.eventually(g, fmt.Sprintf(`sum(rollout_info{namespace=%q}) by (phase)`, ns), "phase",
			Equal(map[string]float64{"Error": 1}))
		prom.eventually(g, fmt.Sprintf(`sum(rollout_events_total{%s,type="Warning"}) by (reason)`, sel), "reason",
			HaveKeyWithValue("ReplicaSetCreateError", BeNumerically(">=", 1)))
		ro := &v1alpha1.Rollout{}
		g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, ro)).To(Succeed())
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhaseProgressing))
		g.Expect(ro.Status.GetCondition(v1alpha1.RolloutInvalidSpec)).To(BeNil())
		progressing := ro.Status.GetCondition(v1alpha1.RolloutProgressing)
		g.Expect(progressing).NotTo(BeNil())
		g.Expect(progressing.Reason).To(Equal(v1alpha1.FailedRSCreateReason))
		g.Expect(progressing.Message).To(And(HavePrefix("Failed to create new replica set"), ContainSubstring("ReplicaSets are refused in this namespace")))
		// The error rate a dashboard alerts on.
		prom.eventually(g, fmt.Sprintf(`sum(rate(rollout_reconcile_error{%s}[1m])) > 0`, sel), "", HaveLen(1))
	})
}

// namespace creates a namespace for one test and deletes it after.
func namespace(t *testing.T, g *WithT, prefix string) string {
	t.Helper()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	g.Expect(k8sClient.Create(context.Background(), nsObj)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), nsObj) })
	return nsObj.Name
}

// applySeed creates the Rollout and Services of a seed manifest from
// examples/ in ns, and returns the Rollout's name.
func applySeed(t *testing.T, g *WithT, ns, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "examples", file))
	g.Expect(err).NotTo(HaveOccurred())
	name := ""
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var meta metav1.TypeMeta
		g.Expect(yaml.Unmarshal(doc, &meta)).To(Succeed())
		var obj client.Object
		switch meta.Kind {
		case "Rollout":
			obj = &v1alpha1.Rollout{}
		case "Service":
			obj = &corev1.Service{}
		default:
			continue
		}
		g.Expect(yaml.UnmarshalStrict(doc, obj)).To(Succeed())
		obj.SetNamespace(ns)
		g.Expect(k8sClient.Create(context.Background(), obj)).To(Succeed())
		if meta.Kind == "Rollout" {
			name = obj.GetName()
		}
	}
	g.Expect(name).NotTo(BeEmpty(), "%s has no Rollout", file)
	return name
}

func setImage(g *WithT, ns, name, image string) {
	ro := &v1alpha1.Rollout{}
	g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, ro)).To(Succeed())
	patch := client.MergeFrom(ro.DeepCopy())
	ro.Spec.Template.Spec.Containers[0].Image = image
	g.Expect(k8sClient.Patch(context.Background(), ro, patch)).To(Succeed())
}

// refuseReplicaSets makes the API server refuse every ReplicaSet created in
// ns (a ValidatingAdmissionPolicy, evaluated in the API server), and waits
// until it does.
func refuseReplicaSets(t *testing.T, g *WithT, ns string) {
	t.Helper()
	ctx := context.Background()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-replicasets-" + ns},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"replicasets"}},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: "ReplicaSets are refused in this namespace (metrics test)"}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			},
		},
	}
	for _, obj := range []client.Object{policy, binding} {
		g.Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), obj) })
	}
	probe := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "probe"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "probe"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "probe"}}},
			},
		},
	}
	g.Eventually(func() bool {
		err := k8sClient.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		return apierrors.IsInvalid(err)
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(BeTrue(), "the policy never took effect")
}
