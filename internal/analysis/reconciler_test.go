package analysis

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
	"github.com/switchyard-dev/switchyard/internal/analysis/providers/web"
)

// TestReconcileTiming drives passes by hand with a fake clock: each pass
// measures what is due and asks to come back exactly when the next
// measurement is. (The integration tests run the same reconciler against
// a real API server in real time.)
func TestReconcileTiming(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
		fmt.Fprint(w, `{"value":1}`)
	}))
	defer srv.Close()

	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "timed"},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
			Name: "rate", InitialDelay: "10s", Interval: "30s", Count: ptr.To(intstr.FromInt32(3)), SuccessCondition: "result.value == 1",
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: srv.URL}},
		}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(run).Build()
	clk := clocktesting.NewFakePassiveClock(t0)
	r := &Reconciler{
		Client: c, APIReader: c, Clock: clk, Recorder: events.NewFakeRecorder(100),
		Providers: map[string]provider.Provider{provider.Web: web.New()},
	}
	ctx := context.Background()
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "timed"}}
	get := func() *v1alpha1.AnalysisRun {
		out := &v1alpha1.AnalysisRun{}
		if err := c.Get(ctx, req.NamespacedName, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	measured := func() int {
		st := get().Status
		if len(st.MetricResults) == 0 {
			return 0
		}
		return len(st.MetricResults[0].Measurements)
	}
	pass := func(step time.Duration, wantRequeue time.Duration, wantMeasured int) {
		t.Helper()
		clk.SetTime(clk.Now().Add(step))
		res, err := r.Reconcile(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.RequeueAfter != wantRequeue {
			t.Errorf("at +%v: requeue after %v, want %v", clk.Now().Sub(t0), res.RequeueAfter, wantRequeue)
		}
		if got := measured(); got != wantMeasured {
			t.Errorf("at +%v: %d measurements, want %d", clk.Now().Sub(t0), got, wantMeasured)
		}
	}

	pass(0, 10*time.Second, 0) // started; the initial delay runs
	if st := get().Status; st.Phase != v1alpha1.AnalysisPhaseRunning || !st.StartedAt.Time.Equal(t0) {
		t.Fatalf("after the first pass: %+v", st)
	}
	pass(4*time.Second, 6*time.Second, 0)  // a pass in between changes nothing
	pass(6*time.Second, 30*time.Second, 1) // first measurement
	pass(29*time.Second, time.Second, 1)   // not yet
	status.Store(http.StatusInternalServerError)
	pass(time.Second, ErrorRetryInterval, 2) // an Error: retry in 10s
	status.Store(http.StatusOK)
	pass(ErrorRetryInterval, 30*time.Second, 3)
	pass(30*time.Second, 0, 4) // the third counted measurement ends the run
	st := get().Status
	if st.Phase != v1alpha1.AnalysisPhaseSuccessful || !st.CompletedAt.Time.Equal(clk.Now()) {
		t.Errorf("end: phase %s completedAt %v", st.Phase, st.CompletedAt)
	}
	if res := st.MetricResults[0]; res.Count != 3 || res.Error != 1 {
		t.Errorf("counters %+v", res)
	}

	// A completed run with a TTL comes back when it expires, then goes.
	latest := get()
	latest.Spec.TTLStrategy = &v1alpha1.TTLStrategy{SecondsAfterCompletion: ptr.To[int32](60)}
	if err := c.Update(ctx, latest); err != nil {
		t.Fatal(err)
	}
	pass(20*time.Second, 40*time.Second, 4)
	clk.SetTime(clk.Now().Add(41 * time.Second))
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, req.NamespacedName, &v1alpha1.AnalysisRun{}); err == nil {
		t.Error("the run outlived its TTL")
	}
}
