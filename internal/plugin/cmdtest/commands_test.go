package cmdtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/podtemplate"
)

// TestPromote checks each row of the reference plugin's promote table:
// what the Rollout looks like after the command, stdout, stderr and the
// exit code. No controller runs, so every change seen is the command's.
func TestPromote(t *testing.T) {
	t.Parallel()
	atStep := func(i int32, set func(*v1alpha1.RolloutStatus)) func(*v1alpha1.RolloutStatus) {
		return func(st *v1alpha1.RolloutStatus) {
			set(st)
			st.CurrentStepIndex = ptr.To(i)
		}
	}
	noSteps := func(name string) *v1alpha1.Rollout {
		ro := canary(name)
		ro.Spec.Strategy.Canary.Steps = nil
		return ro
	}
	manuallyPaused := func(ro *v1alpha1.Rollout) *v1alpha1.Rollout {
		ro.Spec.Paused = true
		return ro
	}
	inconclusive := func(st *v1alpha1.RolloutStatus) {
		pausedAt(v1alpha1.PauseReasonInconclusiveAnalysis)(st)
		st.CurrentStepIndex = ptr.To[int32](1)
		st.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "c-ar", Status: "Inconclusive"}
	}
	for _, tc := range []struct {
		name   string
		ro     *v1alpha1.Rollout
		status func(*v1alpha1.RolloutStatus)
		args   []string
		want   result
		// check inspects the Rollout after the command; unchanged means
		// the command must not have written anything at all.
		check     func(g Gomega, ro *v1alpha1.Rollout)
		unchanged bool
	}{{
		name: "blue-green at its pause", ro: blueGreen("bg"), status: pausedAt(v1alpha1.PauseReasonBlueGreenPause),
		want: result{out: "rollout 'bg' promoted\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.PauseConditions).To(BeEmpty())
			// controllerPause is the controller's to clear: it tells
			// "resumed by a user" from "never paused".
			g.Expect(ro.Status.ControllerPause).To(BeTrue())
			g.Expect(ro.Spec.Paused).To(BeFalse())
		},
	}, {
		name: "blue-green at its pause and manually paused", ro: manuallyPaused(blueGreen("bg")), status: pausedAt(v1alpha1.PauseReasonBlueGreenPause),
		want: result{out: "rollout 'bg' promoted\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Spec.Paused).To(BeFalse())
			g.Expect(ro.Status.PauseConditions).To(BeEmpty())
		},
	}, {
		name: "manually paused", ro: manuallyPaused(blueGreen("bg")), status: healthy,
		want: result{out: "rollout 'bg' promoted\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Spec.Paused).To(BeFalse())
		},
	}, {
		name: "blue-green not paused: nothing is sent, and it still succeeds", ro: blueGreen("bg"), status: healthy,
		want: result{out: "rollout 'bg' promoted\n"}, unchanged: true,
	}, {
		name: "canary at a pause step keeps its step", ro: canary("c"), status: atStep(1, pausedAt(v1alpha1.PauseReasonCanaryPauseStep)),
		want: result{out: "rollout 'c' promoted\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.PauseConditions).To(BeEmpty())
			g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(1)))
		},
	}, {
		name: "canary mid-step, not paused: the unfinished step is skipped", ro: canary("c"), status: atStep(0, progressing),
		want: result{out: "rollout 'c' promoted\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(1)))
			g.Expect(ro.Status.PauseConditions).To(BeEmpty())
		},
	}, {
		name: "canary already fully promoted: the index is written unchanged", ro: canary("c"), status: atStep(2, healthy),
		want: result{out: "rollout 'c' promoted\n"}, unchanged: true,
	}, {
		name: "canary without steps: nothing is sent", ro: noSteps("c"), status: healthy,
		want: result{out: "rollout 'c' promoted\n"}, unchanged: true,
	}, {
		name: "canary held by an inconclusive step analysis moves on", status: inconclusive,
		ro: func() *v1alpha1.Rollout {
			ro := canary("c")
			ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
				{SetWeight: ptr.To[int32](30)},
				{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "smoke"}}}},
				{Pause: &v1alpha1.RolloutPause{}},
			}
			return ro
		}(),
		want: result{out: "rollout 'c' promoted\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.PauseConditions).To(BeEmpty())
			g.Expect(ro.Status.ControllerPause).To(BeFalse())
			g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(2)))
		},
	}, {
		name: "full", ro: manuallyPaused(canary("c")), status: pausedAt(v1alpha1.PauseReasonCanaryPauseStep),
		args: []string{"--full"},
		want: result{out: "rollout 'c' fully promoted\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.PromoteFull).To(BeTrue())
			g.Expect(ro.Spec.Paused).To(BeFalse())
			// The controller clears the pause conditions when it acts on promoteFull.
			g.Expect(ro.Status.PauseConditions).To(HaveLen(1))
		},
	}, {
		name: "full on a fully promoted rollout: nothing is sent", ro: canary("c"), status: atStep(2, healthy),
		args: []string{"--full"},
		want: result{out: "rollout 'c' fully promoted\n"}, unchanged: true,
	}, {
		name: "strict: reports what changed", ro: blueGreen("bg"), status: pausedAt(v1alpha1.PauseReasonBlueGreenPause),
		args: []string{"--strict"},
		want: result{out: "rollout 'bg' promoted: cleared pause BlueGreenPause\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.PauseConditions).To(BeEmpty())
		},
	}, {
		name: "strict: says that an unfinished step was skipped", ro: canary("c"), status: atStep(0, progressing),
		args: []string{"--strict"},
		want: result{out: "rollout 'c' promoted: currentStepIndex 0 -> 1 of 2, skipping step 0 (setWeight 30) before it finished\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(1)))
		},
	}, {
		name: "strict: blue-green not paused is an error", ro: blueGreen("bg"), status: healthy,
		args: []string{"--strict"},
		want: result{err: "Error: rollout 'bg' is not paused: nothing to promote\n", code: 1}, unchanged: true,
	}, {
		name: "strict: the server saw no change", ro: canary("c"), status: atStep(2, healthy),
		args: []string{"--strict"},
		want: result{err: "Error: rollout 'c' has completed all its steps: nothing to promote\n", code: 1}, unchanged: true,
	}, {
		name: "strict full on a fully promoted rollout", ro: canary("c"), status: atStep(2, healthy),
		args: []string{"--full", "--strict"},
		want: result{err: "Error: rollout 'c' is already fully promoted: nothing to promote\n", code: 1}, unchanged: true,
	}, {
		name: "strict full", ro: canary("c"), status: pausedAt(v1alpha1.PauseReasonCanaryPauseStep),
		args: []string{"--full", "--strict"},
		want: result{out: "rollout 'c' fully promoted: requested full promotion\n"},
		check: func(g Gomega, ro *v1alpha1.Rollout) {
			g.Expect(ro.Status.PromoteFull).To(BeTrue())
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			before := f.create(tc.ro, tc.status)
			r := f.run(append([]string{"promote", tc.ro.Name}, tc.args...)...)
			f.g.Expect(r).To(Equal(tc.want))
			after := f.get(tc.ro.Name)
			if tc.unchanged {
				f.g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "nothing may be written")
			}
			if tc.check != nil {
				tc.check(f.g, after)
			}
		})
	}
	t.Run("unknown rollout", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.g.Expect(f.run("promote", "nope")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
		f.g.Expect(f.run("promote", "nope", "--strict")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
	})
}

func TestAbortAndRetry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(blueGreen("bg"), pausedAt(v1alpha1.PauseReasonBlueGreenPause))

	f.g.Expect(f.run("abort", "bg")).To(Equal(result{out: "rollout 'bg' aborted\n"}))
	f.g.Expect(f.get("bg").Status.Abort).To(BeTrue())

	// The controller records when it saw the abort; a second abort keeps it.
	abortedAt := metav1.NewTime(fixedNow.Add(-time.Minute))
	f.setStatus("bg", func(st *v1alpha1.RolloutStatus) { st.AbortedAt = &abortedAt })
	before := f.get("bg")
	f.g.Expect(f.run("abort", "bg")).To(Equal(result{out: "rollout 'bg' aborted\n"}), "aborting again succeeds, as in Argo's plugin")
	after := f.get("bg")
	f.g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "and changes nothing")
	f.g.Expect(after.Status.AbortedAt).To(HaveValue(HaveField("Time", BeTemporally("==", abortedAt.Time))))

	f.g.Expect(f.run("abort", "bg", "--strict")).To(Equal(result{
		err:  "Error: rollout 'bg' is already aborted; use 'kubectl argo rollouts retry rollout bg' to resume it\n",
		code: 1,
	}))

	f.g.Expect(f.run("retry", "rollout", "bg")).To(Equal(result{out: "rollout 'bg' retried\n"}))
	f.g.Expect(f.get("bg").Status.Abort).To(BeFalse())
	f.g.Expect(f.run("abort", "bg", "--strict")).To(Equal(result{out: "rollout 'bg' aborted\n"}))
	f.g.Expect(f.get("bg").Status.Abort).To(BeTrue())

	f.g.Expect(f.run("abort", "nope")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
	f.g.Expect(f.run("retry", "rollout", "nope")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
}

// TestAbortSeveral aborts rollouts in the order named and stops at the
// first failure, leaving the later ones alone.
func TestAbortSeveral(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(canary("a"), progressing)
	f.create(canary("b"), progressing)
	f.g.Expect(f.run("abort", "a", "nope", "b")).To(Equal(result{
		out:  "rollout 'a' aborted\n",
		err:  "Error: rollouts.argoproj.io \"nope\" not found\n",
		code: 1,
	}))
	f.g.Expect(f.get("a").Status.Abort).To(BeTrue())
	f.g.Expect(f.get("b").Status.Abort).To(BeFalse())

	// With --strict, an already aborted rollout is the failure that stops it.
	f.g.Expect(f.run("abort", "--strict", "b", "a")).To(Equal(result{
		out:  "rollout 'b' aborted\n",
		err:  "Error: rollout 'a' is already aborted; use 'kubectl argo rollouts retry rollout a' to resume it\n",
		code: 1,
	}))
	f.g.Expect(f.get("b").Status.Abort).To(BeTrue())
}

func TestPause(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(canary("a"), healthy)
	f.create(canary("b"), healthy)
	f.g.Expect(f.run("pause", "a", "b")).To(Equal(result{out: "rollout 'a' paused\nrollout 'b' paused\n"}))
	f.g.Expect(f.get("a").Spec.Paused).To(BeTrue())
	f.g.Expect(f.get("b").Spec.Paused).To(BeTrue())
	f.g.Expect(f.run("pause", "nope")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
}

func TestRestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(canary("c"), healthy)

	f.g.Expect(f.run("restart", "c", "--in", "30s")).To(Equal(result{out: "rollout 'c' restarts in 30s\n"}))
	f.g.Expect(f.get("c").Spec.RestartAt.Time).To(BeTemporally("==", fixedNow.Add(30*time.Second)))

	f.g.Expect(f.run("restart", "c")).To(Equal(result{out: "rollout 'c' restarts in 0s\n"}))
	f.g.Expect(f.get("c").Spec.RestartAt.Time).To(BeTemporally("==", fixedNow))

	r := f.run("restart", "c", "--in", "soon")
	f.g.Expect(r.code).To(Equal(1))
	f.g.Expect(r.err).To(ContainSubstring(`invalid --in "soon"`))
	f.g.Expect(f.run("restart", "nope")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
}

func TestSetImage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(canary("c"), healthy)

	f.g.Expect(f.run("set", "image", "c", "app=demo:2")).To(Equal(result{out: "rollout \"c\" image updated\n"}))
	spec := f.get("c").Spec.Template.Spec
	f.g.Expect(spec.Containers[0].Image).To(Equal("demo:2"))
	f.g.Expect(spec.Containers[1].Image).To(Equal("proxy:1"), "other containers keep their image")
	f.g.Expect(spec.InitContainers[0].Image).To(Equal("busybox:1"))

	f.g.Expect(f.run("set", "image", "c", "*=all:3")).To(Equal(result{out: "rollout \"c\" image updated\n"}))
	spec = f.get("c").Spec.Template.Spec
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		f.g.Expect(c.Image).To(Equal("all:3"), c.Name)
	}

	f.g.Expect(f.run("set", "image", "c", "init=busybox:2")).To(Equal(result{out: "rollout \"c\" image updated\n"}))
	f.g.Expect(f.get("c").Spec.Template.Spec.InitContainers[0].Image).To(Equal("busybox:2"))

	r := f.run("set", "image", "c", "missing=x:1")
	f.g.Expect(r.code).To(Equal(1))
	f.g.Expect(r.err).To(Equal("Error: unable to find container named \"missing\"\n"))
	f.g.Expect(f.run("set", "image", "nope", "app=x:1")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
	r = f.run("set", "image", "c", "app")
	f.g.Expect(r.code).To(Equal(1))
	f.g.Expect(r.err).To(ContainSubstring("expected CONTAINER=IMAGE"))
}

func TestUndo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ro := f.create(canary("c"), healthy)
	v1 := podTemplate("demo:1")
	v2 := podTemplate("demo:2")
	v3 := podTemplate("demo:3")
	f.replicaSet(ro, "1", "aaaa", v1, 0)
	f.replicaSet(ro, "2", "bbbb", v2, 0)
	f.replicaSet(ro, "3", "cccc", v3, 0)
	// A ReplicaSet with the rollout's labels but of another Rollout is
	// not part of its history.
	other := f.create(canary("other"), nil)
	stranger := v1.DeepCopy()
	stranger.Spec.Containers[0].Image = "stranger:1"
	f.replicaSetOwnedBy(other.Name, other.UID, "9", "dddd", *stranger, 0)

	ro.Spec.Template = v3
	f.g.Expect(f.c.Update(f.ctx, ro)).To(Succeed())

	// Default: the revision before the newest one.
	f.g.Expect(f.run("undo", "c")).To(Equal(result{out: "rollout 'c' undo\n"}))
	got := f.get("c").Spec.Template
	f.g.Expect(got.Labels).NotTo(HaveKey(v1alpha1.DefaultRolloutUniqueLabelKey))
	f.g.Expect(equality.Semantic.DeepDerivative(v2, got)).To(BeTrue(), "template %+v", got)

	f.g.Expect(f.run("undo", "c", "--to-revision", "1")).To(Equal(result{out: "rollout 'c' undo\n"}))
	f.g.Expect(f.get("c").Spec.Template.Spec.Containers[0].Image).To(Equal("demo:1"))

	f.g.Expect(f.run("undo", "c", "--to-revision", "1")).To(Equal(result{out: "skipped rollback (current template already matches revision 1)\n"}))

	r := f.run("undo", "c", "--to-revision", "9")
	f.g.Expect(r.code).To(Equal(1))
	f.g.Expect(r.err).To(Equal("Error: rollout 'c': unable to find specified revision 9 in history\n"))
	f.g.Expect(f.run("undo", "nope")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
}

// TestUndoLeavesInjectedMetadataOut: what the controller injected into a
// ReplicaSet (ephemeral labels of its role, the anti-affinity term) is not
// copied into the Rollout; with a workloadRef the referenced Deployment is
// the one restored.
func TestUndoLeavesInjectedMetadataOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ro := f.create(canary("c"), healthy)
	v1, v2 := podTemplate("demo:1"), podTemplate("demo:2")
	injected := v1.DeepCopy()
	injected.Labels["role"] = "stable"
	injected.Spec.Affinity = podtemplate.AntiAffinity(nil, &v1alpha1.AntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}, "zzzz", "aaaa", f.ns)
	rs := f.replicaSet(ro, "1", "aaaa", *injected, 0)
	record := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+v1alpha1.EphemeralMetadataAnnotation+`":"{\"labels\":{\"role\":\"stable\"}}"}}}`))
	f.g.Expect(f.c.Patch(f.ctx, rs, record)).To(Succeed())
	f.replicaSet(ro, "2", "bbbb", v2, 0)
	ro.Spec.Template = v2
	f.g.Expect(f.c.Update(f.ctx, ro)).To(Succeed())

	f.g.Expect(f.run("undo", "c")).To(Equal(result{out: "rollout 'c' undo\n"}))
	got := f.get("c").Spec.Template
	f.g.Expect(got.Labels).To(Equal(v1.Labels))
	f.g.Expect(got.Spec.Affinity).To(BeNil())
	f.g.Expect(got.Spec.Containers[0].Image).To(Equal("demo:1"))

	// workloadRef: the Deployment's template is the one put back.
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: f.ns},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: v2.Labels}, Template: v2},
	}
	f.g.Expect(f.c.Create(f.ctx, d)).To(Succeed())
	ref := canary("w")
	ref.Spec.Template = corev1.PodTemplateSpec{}
	ref.Spec.WorkloadRef = &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	w := f.create(ref, healthy)
	f.replicaSet(w, "1", "cccc", v1, 0)
	f.replicaSet(w, "2", "dddd", v2, 0)
	f.g.Expect(f.run("undo", "w")).To(Equal(result{out: "rollout 'w' undo\n"}))
	f.g.Expect(f.c.Get(f.ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
	f.g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("demo:1"))
	f.g.Expect(f.get("w").Spec.Template.Spec.Containers).To(BeEmpty(), "the Rollout keeps its empty template")
	f.g.Expect(f.run("undo", "w", "--to-revision", "1")).To(Equal(result{out: "skipped rollback (current template already matches revision 1)\n"}))
}

func TestStatus(t *testing.T) {
	t.Parallel()
	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.create(blueGreen("bg"), healthy)
		f.g.Expect(f.run("status", "bg")).To(Equal(result{out: "Healthy\n"}))
		f.g.Expect(f.run("status", "bg", "--watch=false")).To(Equal(result{out: "Healthy\n"}))
	})
	t.Run("degraded", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.create(blueGreen("bg"), degraded)
		want := result{
			out:  "Degraded - RolloutAborted: Rollout aborted update to revision 2\n",
			err:  "Error: The rollout is in a degraded state with message: RolloutAborted: Rollout aborted update to revision 2\n",
			code: 1,
		}
		f.g.Expect(f.run("status", "bg")).To(Equal(want))
		want.out = "Degraded\n"
		f.g.Expect(f.run("status", "bg", "--watch=false")).To(Equal(want))
	})
	t.Run("paused without --until paused times out", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.create(blueGreen("bg"), pausedAt(v1alpha1.PauseReasonBlueGreenPause))
		f.g.Expect(f.run("status", "bg", "--timeout", "1s")).To(Equal(result{
			out:  "Paused - BlueGreenPause\n",
			err:  "Error: Rollout status watch exceeded timeout\n",
			code: 1,
		}))
		f.g.Expect(f.run("status", "bg", "--until", "paused")).To(Equal(result{out: "Paused - BlueGreenPause\n"}))
		f.g.Expect(f.run("status", "bg", "-w=false")).To(Equal(result{out: "Paused - BlueGreenPause\n"}))
	})
	t.Run("waits for the controller", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.create(blueGreen("bg"), progressing)
		run := f.start("status", "bg", "--until", "paused", "--timeout", "50s")
		f.g.Eventually(run.out.String).Should(Equal("Progressing - more replicas need to be updated\n"))
		f.setStatus("bg", pausedAt(v1alpha1.PauseReasonBlueGreenPause))
		f.g.Expect(run.wait()).To(Equal(result{out: "Progressing - more replicas need to be updated\nPaused - BlueGreenPause\n"}))

		// A promote the controller has not acted on yet is not "Paused"
		// any more, and a stale Healthy of an unobserved spec is not Healthy.
		f.g.Expect(f.run("promote", "bg").code).To(Equal(0))
		run = f.start("status", "bg", "--timeout", "50s")
		f.g.Eventually(run.out.String).Should(Equal("Progressing - waiting for rollout to unpause\n"))
		f.setStatus("bg", func(st *v1alpha1.RolloutStatus) {
			healthy(st)
			st.PauseConditions, st.ControllerPause = nil, false
		})
		f.g.Expect(run.wait()).To(Equal(result{out: "Progressing - waiting for rollout to unpause\nHealthy\n"}))
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.g.Expect(f.run("status", "nope")).To(Equal(result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}))
		r := f.run("status", "nope", "--until", "done")
		f.g.Expect(r.code).To(Equal(1))
		f.g.Expect(r.err).To(ContainSubstring(`invalid --until "done"`))
	})
}

func TestGetRollout(t *testing.T) {
	t.Parallel()
	t.Run("tree with pods", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		ro := f.create(blueGreen("bg"), func(st *v1alpha1.RolloutStatus) {
			healthy(st)
			st.CurrentPodHash, st.StableRS = "aaaa", "aaaa"
			st.BlueGreen.ActiveSelector, st.BlueGreen.PreviewSelector = "aaaa", "aaaa"
		})
		// A real ReplicaSet: kube-controller-manager makes its pod and the
		// simulated node runs it.
		f.replicaSet(ro, "1", "aaaa", podTemplate("demo:1"), 1)
		f.g.Eventually(func(g Gomega) {
			r := f.run("get", "rollout", "bg", "--no-color")
			g.Expect(r.code).To(Equal(0), r.err)
			g.Expect(r.out).To(HavePrefix("Name:            bg\nNamespace:       " + f.ns + "\nStatus:          ✔ Healthy\nStrategy:        BlueGreen\n"))
			g.Expect(r.out).To(ContainSubstring("Images:          demo:1 (active, stable)\n                 proxy:1 (active, stable)\n"))
			g.Expect(r.out).To(MatchRegexp(`(?m)^└──# revision:1\n   └──⧉ bg-aaaa +ReplicaSet  ✔ Healthy +\S+ +stable,active\n      └──□ bg-aaaa-\S+ +Pod +✔ Running +\S+ +ready:2/2$`))
		}, time.Minute).Should(Succeed())
	})
	t.Run("watch until settled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.create(canary("c"), func(st *v1alpha1.RolloutStatus) {
			progressing(st)
			st.CurrentStepIndex = ptr.To[int32](0)
		})
		run := f.start("get", "rollout", "c", "--until-settled", "--no-color", "--timeout-seconds", "50")
		f.g.Eventually(run.out.String).Should(ContainSubstring("Status:          ◌ Progressing\n"))
		f.setStatus("c", func(st *v1alpha1.RolloutStatus) {
			pausedAt(v1alpha1.PauseReasonCanaryPauseStep)(st)
			st.CurrentStepIndex = ptr.To[int32](1)
		})
		r := run.wait()
		f.g.Expect(r.code).To(Equal(0), r.err)
		frames := strings.Split(r.out, "\n\nName:")
		f.g.Expect(len(frames)).To(BeNumerically(">=", 2), "a redraw after the change:\n%s", r.out)
		f.g.Expect(frames[len(frames)-1]).To(ContainSubstring("Status:          ॥ Paused\nMessage:         CanaryPauseStep\nStrategy:        Canary\n  Step:          1/2\n  SetWeight:     30\n"))
	})
	t.Run("watch ends on Degraded with an error", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.create(blueGreen("bg"), degraded)
		r := f.run("get", "rollout", "bg", "--until-settled", "--no-color")
		f.g.Expect(r.code).To(Equal(1))
		f.g.Expect(r.out).To(ContainSubstring("Status:          ✖ Degraded\n"))
		f.g.Expect(r.err).To(Equal("Error: rollout 'bg' is Degraded: RolloutAborted: Rollout aborted update to revision 2\n"))
	})
	t.Run("watch with a timeout ends quietly", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.create(blueGreen("bg"), progressing)
		r := f.run("get", "rollout", "bg", "-w", "--no-color", "--timeout-seconds", "1")
		f.g.Expect(r.code).To(Equal(0), r.err)
		f.g.Expect(r.out).To(ContainSubstring("◌ Progressing"))
	})
	t.Run("unknown rollout", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		want := result{err: "Error: rollouts.argoproj.io \"nope\" not found\n", code: 1}
		f.g.Expect(f.run("get", "rollout", "nope")).To(Equal(want))
		f.g.Expect(f.run("get", "rollout", "nope", "-w")).To(Equal(want))
	})
}

func TestListRollouts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run("list", "rollouts")
	f.g.Expect(r).To(Equal(result{err: "No resources found.\n"}))

	f.create(blueGreen("bg"), healthy)
	f.create(canary("canary-demo"), func(st *v1alpha1.RolloutStatus) {
		pausedAt(v1alpha1.PauseReasonCanaryPauseStep)(st)
		st.CurrentStepIndex = ptr.To[int32](1)
		st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = 2, 1, 2, 2
	})
	f.g.Expect(f.run("list", "rollouts")).To(Equal(result{out: "" +
		"NAME         STRATEGY   STATUS        STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  AVAILABLE\n" +
		"bg           BlueGreen  Healthy       -     -           1/1    1        1           1\n" +
		"canary-demo  Canary     Paused        1/2   30          2/2    1        1           2\n"}))
	f.g.Expect(f.run("list", "rollouts", "--name", "bg")).To(Equal(result{out: "" +
		"NAME        STRATEGY   STATUS        STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  AVAILABLE\n" +
		"bg          BlueGreen  Healthy       -     -           1/1    1        1           1\n"}))
	r = f.run("list", "rollouts", "-A")
	f.g.Expect(r.code).To(Equal(0))
	f.g.Expect(r.out).To(HavePrefix("NAMESPACE  "))
	f.g.Expect(r.out).To(MatchRegexp(`(?m)^` + f.ns + ` +canary-demo +Canary +Paused +1/2 +30 `))

	// --watch prints a line when a rollout's columns change, until interrupted.
	run := f.start("list", "rollouts", "--watch")
	f.g.Eventually(run.out.String).Should(ContainSubstring("canary-demo  Canary     Paused "))
	f.setStatus("canary-demo", func(st *v1alpha1.RolloutStatus) {
		healthy(st)
		st.PauseConditions, st.ControllerPause, st.CurrentStepIndex = nil, false, ptr.To[int32](2)
	})
	f.g.Eventually(run.out.String).Should(ContainSubstring("canary-demo  Canary     Healthy       2/2   100 "))
	run.cancel()
	r = run.wait()
	f.g.Expect(r.code).To(Equal(0), r.err)
	f.g.Expect(strings.Count(r.out, "\n")).To(Equal(4), "header, two rollouts, one change:\n%s", r.out)
}

func TestCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := repoRoot(t)
	seed := filepath.Join(root, "examples", "canary-rollout.yaml")
	f.g.Expect(f.run("create", "-f", seed)).To(Equal(result{out: "rollout.argoproj.io/backend-canary created\n"}))
	ro := f.get("backend-canary")
	f.g.Expect(ro.Spec.Replicas).To(HaveValue(BeEquivalentTo(10)))
	f.g.Expect(ro.Spec.Strategy.Canary.Steps).To(HaveLen(2))

	f.g.Expect(f.run("create", "-f", seed)).To(Equal(result{err: "Error: rollouts.argoproj.io \"backend-canary\" already exists\n", code: 1}))

	// A file with a Service is refused before anything is created.
	r := f.run("create", "-f", filepath.Join(root, "examples", "bluegreen-rollout.yaml"))
	f.g.Expect(r.code).To(Equal(1))
	f.g.Expect(r.err).To(ContainSubstring("document 2: creates of /Service unsupported"))
	f.g.Expect(f.c.Get(f.ctx, key(f.ns, "backend-bluegreen"), &v1alpha1.Rollout{})).NotTo(Succeed())

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	f.g.Expect(os.WriteFile(bad, []byte("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: x}\nspec: {replicaz: 1}\n"), 0o600)).To(Succeed())
	r = f.run("create", "-f", bad)
	f.g.Expect(r.code).To(Equal(1))
	f.g.Expect(r.err).To(ContainSubstring(`unknown field "replicaz"`))
}

// TestForbidden runs commands as a user without any RBAC: the API server's
// message is passed through.
func TestForbidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(blueGreen("bg"), pausedAt(v1alpha1.PauseReasonBlueGreenPause))
	kubeconfig := nobodyKubeconfig(t)
	for _, args := range [][]string{
		{"promote", "bg"}, {"abort", "bg"}, {"pause", "bg"}, {"status", "bg"}, {"get", "rollout", "bg"}, {"set", "image", "bg", "app=x"},
	} {
		r := f.runAs(kubeconfig, args...)
		f.g.Expect(r.code).To(Equal(1), "%v", args)
		f.g.Expect(r.err).To(MatchRegexp(`^Error: rollouts.argoproj.io "bg" is forbidden: User "nobody" cannot \w+ resource "rollouts(/status)?" in API group "argoproj.io" in the namespace "%s"\n$`, f.ns), "%v", args)
	}
	f.g.Expect(f.get("bg").Status.PauseConditions).To(HaveLen(1), "nothing was changed")
}

// TestCommandLine checks usage errors, which need no object.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for args, want := range map[string]string{
		"promote":             "Error: expected exactly one rollout name, got 0 arguments\nSee 'kubectl argo rollouts promote --help' for usage.\n",
		"promote a b":         "Error: expected exactly one rollout name, got 2 arguments\nSee 'kubectl argo rollouts promote --help' for usage.\n",
		"retry":               "Error: specify what to retry: \"retry rollout ROLLOUT_NAME\" or \"retry experiment EXPERIMENT_NAME\"\nSee 'kubectl argo rollouts retry --help' for usage.\n",
		"status x --timeout=": "Error: invalid argument \"\" for \"-t, --timeout\" flag: time: invalid duration \"\"\nSee 'kubectl argo rollouts status --help' for usage.\n",
	} {
		r := f.run(strings.Fields(args)...)
		f.g.Expect(r).To(Equal(result{err: want, code: 1}), args)
	}
}
