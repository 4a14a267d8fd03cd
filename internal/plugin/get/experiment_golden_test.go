package get_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/view"
)

// TestGetExperimentGolden renders `get experiment --no-color` for a running
// Experiment (both templates up, its run measuring) and a failed one (the
// run failed, the ReplicaSets waiting out their scale-down delay).
func TestGetExperimentGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(ex *v1alpha1.Experiment, rss []*appsv1.ReplicaSet, run *v1alpha1.AnalysisRun)
	}{
		{name: "experiment-running", edit: func(*v1alpha1.Experiment, []*appsv1.ReplicaSet, *v1alpha1.AnalysisRun) {}},
		{name: "experiment-failed", edit: func(ex *v1alpha1.Experiment, rss []*appsv1.ReplicaSet, run *v1alpha1.AnalysisRun) {
			ex.Status.Phase = v1alpha1.AnalysisPhaseFailed
			ex.Status.Message = `Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)`
			for _, rs := range rss {
				rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = now.Add(20 * time.Second).Format(time.RFC3339)
			}
			run.Status.Phase = v1alpha1.AnalysisPhaseFailed
			run.Status.MetricResults[0].Failed = 2
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := &v1alpha1.Experiment{
				ObjectMeta: metav1.ObjectMeta{Name: "backend-exp", Namespace: ns, UID: "exp-uid", CreationTimestamp: ago(5 * time.Minute)},
				Status:     v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseRunning},
			}
			var objs []runtime.Object
			var rss []*appsv1.ReplicaSet
			for i, tmpl := range []struct{ name, hash, image string }{{"baseline", hash1, image1}, {"canary", hash2, image2}} {
				parts := replicaSet(&v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "backend-exp"}}, 0, tmpl.hash, tmpl.image, 4*time.Minute+time.Duration(i)*time.Second, 1, 1, "")
				rs := parts[0].(*appsv1.ReplicaSet)
				rs.Name = "backend-exp-" + tmpl.name
				rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Experiment", Name: ex.Name, UID: ex.UID, Controller: ptr.To(true)}}
				rs.Annotations = map[string]string{v1alpha1.ExperimentNameAnnotationKey: ex.Name, v1alpha1.ExperimentTemplateNameAnnotationKey: tmpl.name}
				rss = append(rss, rs)
				for _, p := range parts[1:] {
					pod := p.(*corev1.Pod)
					pod.Name = rs.Name + pod.Name[len(pod.Name)-6:]
					pod.OwnerReferences[0].UID = types.UID(rs.Name + "-uid")
				}
				rs.UID = types.UID(rs.Name + "-uid")
				objs = append(objs, parts[1:]...)
			}
			run := &v1alpha1.AnalysisRun{
				ObjectMeta: metav1.ObjectMeta{Name: "backend-exp-compare", Namespace: ns, CreationTimestamp: ago(3 * time.Minute),
					OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Experiment", Name: ex.Name, UID: ex.UID, Controller: ptr.To(true)}}},
				Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, MetricResults: []v1alpha1.MetricResult{
					{Name: "error-rate", Successful: 4, Error: 1},
				}},
			}
			tc.edit(ex, rss, run)
			var rsList []appsv1.ReplicaSet
			for _, rs := range rss {
				rsList = append(rsList, *rs)
			}
			var pods []corev1.Pod
			for _, o := range objs {
				pods = append(pods, *o.(*corev1.Pod))
			}
			got := view.Printer{NoColor: true, Now: now}.RenderExperiment(view.NewExperiment(ex, view.Related{ReplicaSets: rsList, Pods: pods, AnalysisRuns: []v1alpha1.AnalysisRun{*run}}))
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}
