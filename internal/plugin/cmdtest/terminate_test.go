package cmdtest

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestTerminateAnalysisRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, name := range []string{"run-a", "run-b"} {
		f.g.Expect(f.c.Create(f.ctx, &v1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
			Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
				Name: "up", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://example.invalid"}},
			}}},
		})).To(Succeed())
	}
	terminated := func(name string) bool {
		run := &v1alpha1.AnalysisRun{}
		f.g.Expect(f.c.Get(f.ctx, key(f.ns, name), run)).To(Succeed())
		return run.Spec.Terminate
	}

	f.g.Expect(f.run("terminate", "analysisrun", "run-a")).To(Equal(result{out: "analysisRun 'run-a' terminated\n"}))
	f.g.Expect(terminated("run-a")).To(BeTrue())
	f.g.Expect(terminated("run-b")).To(BeFalse())

	f.g.Expect(f.run("terminate", "ar", "run-b")).To(Equal(result{out: "analysisRun 'run-b' terminated\n"}))
	f.g.Expect(terminated("run-b")).To(BeTrue())

	f.g.Expect(f.run("terminate", "analysisrun", "nope")).To(Equal(result{err: "Error: analysisruns.argoproj.io \"nope\" not found\n", code: 1}))
	f.g.Expect(f.run("terminate")).To(Equal(result{
		err:  "Error: specify what to terminate: \"terminate analysisrun ANALYSISRUN_NAME\" or \"terminate experiment EXPERIMENT_NAME\"\nSee 'kubectl argo rollouts terminate --help' for usage.\n",
		code: 1,
	}))
	f.g.Expect(f.run("terminate", "analysisrun")).To(Equal(result{
		err:  "Error: expected at least one analysisrun name\nSee 'kubectl argo rollouts terminate analysisrun --help' for usage.\n",
		code: 1,
	}))
}
