package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/metrics"
)

// reference is the table of the reference's metrics (section 5.1 of
// argo-traffic-and-spec.md): name, type, label names. The notification_send
// metrics and client-go's workqueue metrics are exported by other parts.
var reference = []struct {
	name   string
	typ    dto.MetricType
	labels []string
}{
	{"rollout_info", dto.MetricType_GAUGE, []string{"namespace", "name", "strategy", "traffic_router", "phase"}},
	{"rollout_info_replicas_available", dto.MetricType_GAUGE, []string{"namespace", "name"}},
	{"rollout_info_replicas_unavailable", dto.MetricType_GAUGE, []string{"namespace", "name"}},
	{"rollout_info_replicas_desired", dto.MetricType_GAUGE, []string{"namespace", "name"}},
	{"rollout_info_replicas_updated", dto.MetricType_GAUGE, []string{"namespace", "name"}},
	{"rollout_phase", dto.MetricType_GAUGE, []string{"namespace", "name", "strategy", "phase"}},
	{"rollout_reconcile", dto.MetricType_HISTOGRAM, []string{"namespace", "name"}},
	{"rollout_reconcile_error", dto.MetricType_COUNTER, []string{"namespace", "name"}},
	{"rollout_events_total", dto.MetricType_COUNTER, []string{"namespace", "name", "type", "reason"}},
	{"experiment_info", dto.MetricType_GAUGE, []string{"namespace", "name", "phase"}},
	{"experiment_phase", dto.MetricType_GAUGE, []string{"namespace", "name", "phase"}},
	{"experiment_reconcile", dto.MetricType_HISTOGRAM, []string{"namespace", "name"}},
	{"experiment_reconcile_error", dto.MetricType_COUNTER, []string{"namespace", "name"}},
	{"analysis_run_info", dto.MetricType_GAUGE, []string{"namespace", "name", "phase"}},
	{"analysis_run_phase", dto.MetricType_GAUGE, []string{"namespace", "name", "phase"}},
	{"analysis_run_metric_type", dto.MetricType_GAUGE, []string{"namespace", "name", "metric", "type"}},
	{"analysis_run_metric_phase", dto.MetricType_GAUGE, []string{"namespace", "name", "metric", "type", "dry_run", "phase"}},
	{"analysis_run_reconcile", dto.MetricType_HISTOGRAM, []string{"namespace", "name"}},
	{"analysis_run_reconcile_error", dto.MetricType_COUNTER, []string{"namespace", "name"}},
	{"analysis_template_info", dto.MetricType_GAUGE, []string{"namespace", "name"}},
	{"analysis_template_metric_info", dto.MetricType_GAUGE, []string{"namespace", "name", "type", "metric"}},
	{"controller_clientset_k8s_request_total", dto.MetricType_COUNTER, []string{"kind", "namespace", "name", "verb", "status_code"}},
	{"argo_rollouts_controller_info", dto.MetricType_GAUGE, []string{"version"}},
	{"build_info", dto.MetricType_GAUGE, []string{"version", "goversion", "goarch", "commit"}},
	// Listed in the reference's docs, not in its table.
	{"rollout_created_time", dto.MetricType_GAUGE, []string{"namespace", "name"}},
	// Switchyard's own.
	{"switchyard_promote_to_service_switch_seconds", dto.MetricType_HISTOGRAM, []string{"namespace", "name", "strategy"}},
}

func canary(ns, name string, edit func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1, CreationTimestamp: metav1.Unix(1700000000, 0)},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}},
		},
	}
	if edit != nil {
		edit(ro)
	}
	return ro
}

func healthy(ro *v1alpha1.Rollout) {
	ro.Status = v1alpha1.RolloutStatus{
		Replicas: 4, UpdatedReplicas: 4, AvailableReplicas: 4, ReadyReplicas: 4,
		StableRS: "abc", CurrentPodHash: "abc",
	}
}

// scraped builds Metrics over objs, feeds each recorder once and gathers a
// fresh registry.
func scraped(t *testing.T, objs ...client.Object) (*prometheus.Registry, *metrics.Metrics, client.Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	requests := metrics.NewRequestCounter()
	m := metrics.New(metrics.Options{
		Reader: reader, Requests: requests, AnalysisRuns: true, Experiments: true, ClusterTemplates: true,
		Version: "v0.0.0-test", Log: logr.Discard(),
	})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fail := reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, errors.New("boom")
	})
	for kind, name := range map[metrics.Kind]string{metrics.Rollout: "app", metrics.AnalysisRun: "app-run", metrics.Experiment: "app-exp"} {
		if _, err := m.Observe(kind, fail).Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}); err == nil {
			t.Fatal("the wrapped reconciler's error was lost")
		}
	}
	rec := m.CountEvents(events.NewFakeRecorder(10))
	rec.Eventf(objs[0], nil, corev1.EventTypeNormal, "RolloutUpdated", "Update", "revision %d", 2)
	m.ObservePromoteToSwitch(objs[0].(*v1alpha1.Rollout), 1500*time.Millisecond)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	defer srv.Close()
	hc := &http.Client{Transport: requests.WrapTransport(http.DefaultTransport)}
	resp, err := hc.Get(srv.URL + "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/app")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return reg, m, reader
}

func fixtures() []client.Object {
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app-run"},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{
			{Name: "success", Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: "up"}}},
			{Name: "smoke", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://x"}}},
		}},
		Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, MetricResults: []v1alpha1.MetricResult{
			{Name: "success", Phase: v1alpha1.AnalysisPhaseSuccessful},
			{Name: "smoke", Phase: v1alpha1.AnalysisPhaseFailed, DryRun: true},
		}},
	}
	return []client.Object{
		canary("ns", "app", healthy),
		run,
		&v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app-exp"}},
		&v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "tpl"}, Spec: v1alpha1.AnalysisTemplateSpec{Metrics: run.Spec.Metrics[:1]}},
		&v1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "ctpl"}, Spec: v1alpha1.AnalysisTemplateSpec{Metrics: run.Spec.Metrics[1:]}},
	}
}

// TestReferenceTable asserts every metric of the reference's table is
// exported under its name, type and label names, and nothing else.
func TestReferenceTable(t *testing.T) {
	reg, _, _ := scraped(t, fixtures()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	for _, want := range reference {
		t.Run(want.name, func(t *testing.T) {
			f := got[want.name]
			if f == nil {
				t.Fatalf("%s is not exported", want.name)
			}
			if f.GetType() != want.typ {
				t.Errorf("type %s, want %s", f.GetType(), want.typ)
			}
			if len(f.GetMetric()) == 0 {
				t.Fatal("no series")
			}
			for _, m := range f.GetMetric() {
				var names []string
				for _, l := range m.GetLabel() {
					names = append(names, l.GetName())
				}
				wantNames := slices.Clone(want.labels)
				slices.Sort(names)
				slices.Sort(wantNames)
				if !slices.Equal(names, wantNames) {
					t.Errorf("labels %v, want %v", names, wantNames)
				}
			}
			delete(got, want.name)
		})
	}
	for name := range got {
		t.Errorf("%s is exported but not in the table", name)
	}
}

// TestReconcileBuckets: the reference's buckets.
func TestReconcileBuckets(t *testing.T) {
	reg, _, _ := scraped(t, fixtures()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !strings.HasSuffix(f.GetName(), "_reconcile") {
			continue
		}
		var bounds []float64
		for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		if want := []float64{0.01, 0.15, 0.25, 0.5, 1}; !slices.Equal(bounds, want) {
			t.Errorf("%s buckets %v, want %v", f.GetName(), bounds, want)
		}
	}
}

// TestValues checks the series' values for the fixtures: what a dashboard
// reads.
func TestValues(t *testing.T) {
	reg, _, _ := scraped(t, fixtures()...)
	for _, tc := range []struct {
		name, metric, text string
	}{
		{"info", "rollout_info", `rollout_info{name="app",namespace="ns",phase="Completed",strategy="canary",traffic_router=""} 1`},
		{"available", "rollout_info_replicas_available", `rollout_info_replicas_available{name="app",namespace="ns"} 4`},
		{"desired", "rollout_info_replicas_desired", `rollout_info_replicas_desired{name="app",namespace="ns"} 4`},
		{"created", "rollout_created_time", `rollout_created_time{name="app",namespace="ns"} 1.7e+09`},
		{"reconcile errors", "rollout_reconcile_error", `rollout_reconcile_error{name="app",namespace="ns"} 1`},
		{"events", "rollout_events_total", `rollout_events_total{name="app",namespace="ns",reason="RolloutUpdated",type="Normal"} 1`},
		{"requests", "controller_clientset_k8s_request_total", `controller_clientset_k8s_request_total{kind="rollouts",name="app",namespace="ns",status_code="404",verb="Get"} 1`},
		{"experiment pending", "experiment_info", `experiment_info{name="app-exp",namespace="ns",phase="Pending"} 1`},
		{"run", "analysis_run_info", `analysis_run_info{name="app-run",namespace="ns",phase="Running"} 1`},
		{"metric types", "analysis_run_metric_type", `analysis_run_metric_type{metric="smoke",name="app-run",namespace="ns",type="Web"} 1
analysis_run_metric_type{metric="success",name="app-run",namespace="ns",type="Prometheus"} 1`},
		{"templates", "analysis_template_metric_info", `analysis_template_metric_info{metric="smoke",name="ctpl",namespace="",type="Web"} 1
analysis_template_metric_info{metric="success",name="tpl",namespace="ns",type="Prometheus"} 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := series(t, reg, tc.metric); got != tc.text {
				t.Errorf("got\n%s\nwant\n%s", got, tc.text)
			}
		})
	}
	t.Run("rollout_phase has one series per phase, 1 for the current one", func(t *testing.T) {
		if n, err := testutil.GatherAndCount(reg, "rollout_phase"); err != nil || n != 7 {
			t.Errorf("%d series (%v), want 7", n, err)
		}
		if got, want := series(t, reg, "rollout_phase"), `rollout_phase{name="app",namespace="ns",phase="Completed",strategy="canary"} 1`; !strings.Contains(got, want) {
			t.Errorf("got\n%s\nwant a line\n%s", got, want)
		}
		if n := strings.Count(series(t, reg, "rollout_phase"), "} 1"); n != 1 {
			t.Errorf("%d phases at 1, want 1", n)
		}
	})
	t.Run("a dry-run metric's phase says so", func(t *testing.T) {
		families, _ := reg.Gather()
		found := false
		for _, f := range families {
			if f.GetName() != "analysis_run_metric_phase" {
				continue
			}
			for _, s := range f.GetMetric() {
				l := labels(s)
				if l["metric"] == "smoke" && l["phase"] == "Failed" {
					found = true
					if l["dry_run"] != "true" || s.GetGauge().GetValue() != 1 {
						t.Errorf("smoke/Failed: %v = %v", l, s.GetGauge().GetValue())
					}
				}
			}
		}
		if !found {
			t.Error("no analysis_run_metric_phase series for smoke/Failed")
		}
	})
}

// TestDeletedObjectLosesSeries: a pass that finds its object gone removes
// the object's reconcile, error and event series, as the reference does on
// deletion; another object's stay.
func TestDeletedObjectLosesSeries(t *testing.T) {
	objs := append(fixtures(), canary("ns", "other", healthy))
	reg, m, c := scraped(t, objs...)
	ok := reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return reconcile.Result{}, nil })
	pass := func(name string) {
		t.Helper()
		if _, err := m.Observe(metrics.Rollout, ok).Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	pass("other")
	for _, name := range []string{"rollout_reconcile", "rollout_reconcile_error", "rollout_events_total", "switchyard_promote_to_service_switch_seconds"} {
		if n, _ := testutil.GatherAndCount(reg, name); n == 0 {
			t.Fatalf("%s has no series before the deletion", name)
		}
	}
	if err := c.Delete(context.Background(), objs[0]); err != nil {
		t.Fatal(err)
	}
	pass("app")
	for name, want := range map[string]int{"rollout_reconcile": 1, "rollout_reconcile_error": 0, "rollout_events_total": 0, "switchyard_promote_to_service_switch_seconds": 0} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != want {
			t.Errorf("%s: %d series (%v) after app's deletion, want %d", name, n, err, want)
		}
	}
}

func TestPhaseLabel(t *testing.T) {
	cond := func(typ v1alpha1.RolloutConditionType, reason string) func(*v1alpha1.Rollout) {
		return func(ro *v1alpha1.Rollout) {
			healthy(ro)
			ro.Status.Conditions = append(ro.Status.Conditions, v1alpha1.RolloutCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason})
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*v1alpha1.Rollout)
		want string
	}{
		{"new Rollout, nothing reconciled", nil, metrics.PhaseProgressing},
		{"healthy", healthy, metrics.PhaseCompleted},
		{"paused by a step", func(ro *v1alpha1.Rollout) {
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
		}, metrics.PhasePaused},
		{"manually paused", func(ro *v1alpha1.Rollout) { ro.Spec.Paused = true }, metrics.PhasePaused},
		{"aborted", cond(v1alpha1.RolloutProgressing, v1alpha1.RolloutAbortedReason), metrics.PhaseAbort},
		{"timed out", cond(v1alpha1.RolloutProgressing, v1alpha1.TimedOutReason), metrics.PhaseTimeout},
		{"invalid spec", cond(v1alpha1.RolloutInvalidSpec, v1alpha1.InvalidSpecReason), metrics.PhaseInvalidSpec},
		{"new ReplicaSet refused", func(ro *v1alpha1.Rollout) {
			ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.FailedRSCreateReason}}
		}, metrics.PhaseError},
		{"new ReplicaSet refused, spec invalid since", func(ro *v1alpha1.Rollout) {
			ro.Status.Conditions = []v1alpha1.RolloutCondition{
				{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.FailedRSCreateReason},
				{Type: v1alpha1.RolloutInvalidSpec, Status: corev1.ConditionTrue, Reason: v1alpha1.InvalidSpecReason},
			}
		}, metrics.PhaseInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := metrics.Phase(canary("ns", "app", tc.edit)); got != tc.want {
				t.Errorf("Phase = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTrafficRouterLabel(t *testing.T) {
	raw := &apiextensionsv1.JSON{Raw: []byte(`{}`)}
	for _, tc := range []struct {
		name string
		tr   *v1alpha1.RolloutTrafficRouting
		want string
	}{
		{"none", nil, ""},
		{"nginx", &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{}}, "Nginx"},
		{"istio and SMI: the last in the reference's order wins", &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{}, SMI: raw}, "SMI"},
		{"ALB and AppMesh", &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{}, AppMesh: raw}, "AppMesh"},
		{"traefik (empty in the reference)", &v1alpha1.RolloutTrafficRouting{Traefik: raw}, "Traefik"},
		{"apisix (empty in the reference)", &v1alpha1.RolloutTrafficRouting{Apisix: raw}, "APISIX"},
		{"plugin (empty in the reference)", &v1alpha1.RolloutTrafficRouting{Plugins: map[string]apiextensionsv1.JSON{"argoproj-labs/gatewayAPI": *raw}}, "argoproj-labs/gatewayAPI"},
		{"a reference router beats a plugin", &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{}, Plugins: map[string]apiextensionsv1.JSON{"p": *raw}}, "Nginx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := canary("ns", "app", func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.TrafficRouting = tc.tr })
			if got := metrics.TrafficRouter(ro); got != tc.want {
				t.Errorf("TrafficRouter = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		watch        bool
		want         metrics.RequestInfo
	}{
		{"GET", "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/app", false, metrics.RequestInfo{Kind: "rollouts", Namespace: "ns", Name: "app", Verb: "Get"}},
		{"GET", "/apis/argoproj.io/v1alpha1/rollouts", false, metrics.RequestInfo{Kind: "rollouts", Name: "N/A", Verb: "List"}},
		{"GET", "/apis/apps/v1/namespaces/ns/replicasets", true, metrics.RequestInfo{Kind: "replicasets", Namespace: "ns", Name: "N/A", Verb: "Watch"}},
		{"PUT", "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/app/status", false, metrics.RequestInfo{Kind: "rollouts/status", Namespace: "ns", Name: "app", Verb: "Update"}},
		{"POST", "/apis/events.k8s.io/v1/namespaces/ns/events", false, metrics.RequestInfo{Kind: "events", Namespace: "ns", Name: "N/A", Verb: "Create"}},
		{"PATCH", "/api/v1/namespaces/ns/services/svc", false, metrics.RequestInfo{Kind: "services", Namespace: "ns", Name: "svc", Verb: "Patch"}},
		{"DELETE", "/apis/apps/v1/namespaces/ns/replicasets/rs", false, metrics.RequestInfo{Kind: "replicasets", Namespace: "ns", Name: "rs", Verb: "Delete"}},
		{"DELETE", "/apis/apps/v1/namespaces/ns/replicasets", false, metrics.RequestInfo{Kind: "replicasets", Namespace: "ns", Name: "N/A", Verb: "DeleteCollection"}},
		{"GET", "/api/v1/namespaces/ns", false, metrics.RequestInfo{Kind: "namespaces", Name: "ns", Verb: "Get"}},
		{"OPTIONS", "/api/v1/namespaces/ns/pods", false, metrics.RequestInfo{Kind: "Unknown", Namespace: "Unknown", Name: "Unknown", Verb: "Unknown"}},
		{"GET", "/healthz", false, metrics.RequestInfo{Kind: "Unknown", Namespace: "Unknown", Name: "Unknown", Verb: "Unknown"}},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if got := metrics.ParseRequest(tc.method, tc.path, tc.watch); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRunnableRegistersWhileRunning: registered on Start, unregistered when
// the manager stops, and a second live registration is refused by name.
func TestRunnableRegistersWhileRunning(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := metrics.New(metrics.Options{Reader: fake.NewClientBuilder().Build(), Log: logr.Discard()})
	b := metrics.New(metrics.Options{Reader: fake.NewClientBuilder().Build(), Log: logr.Discard()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Runnable(reg).Start(ctx) }()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		n, _ := testutil.GatherAndCount(reg, "argo_rollouts_controller_info")
		return n == 1, nil
	})
	if err != nil {
		t.Fatal("never registered")
	}
	if err := b.Runnable(reg).Start(context.Background()); err == nil || !strings.Contains(err.Error(), "already exports") {
		t.Errorf("second registration: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.GatherAndCount(reg, "argo_rollouts_controller_info"); n != 0 {
		t.Errorf("still registered after the manager stopped")
	}
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// series renders a gauge or counter family as sorted exposition lines
// without HELP and TYPE.
func series(t *testing.T, reg prometheus.Gatherer, name string) string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var pairs []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue()
			if m.GetCounter() != nil {
				v = m.GetCounter().GetValue()
			}
			lines = append(lines, fmt.Sprintf("%s{%s} %g", name, strings.Join(pairs, ","), v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
