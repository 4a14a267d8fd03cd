package experiment

import (
	"context"
	"fmt"
	"maps"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/instanceid"
)

// What the Rollout's canary `experiment` step uses: FromStep builds the
// Experiment a step asks for, CreateOrAdopt creates it (or finds the one a
// lost status write already created), StepVerdict reads its outcome and
// Terminate stops it.

// StepInput is what a step's Experiment is made from.
type StepInput struct {
	Rollout   *v1alpha1.Rollout
	Step      *v1alpha1.RolloutExperimentStep
	StepIndex int32
	// Stable and Canary are the Rollout's stable and new ReplicaSets: a
	// template copies the pod template, minReadySeconds and selector of
	// the one its specRef names.
	Stable, Canary *appsv1.ReplicaSet
	// NewHash is the new ReplicaSet's pod-template hash; Revision is the
	// Rollout's rollout.argoproj.io/revision.
	NewHash, Revision string
}

// StepExperimentName is the name of a step's Experiment,
// <rollout>-<newHash>-<revision>-<step>; CreateOrAdopt adds -1, -2, ...
// when it is taken.
func StepExperimentName(ro *v1alpha1.Rollout, newHash, revision string, step int32) string {
	return fmt.Sprintf("%s-%s-%s-%d", ro.Name, newHash, revision, step)
}

// FromStep builds the Experiment a canary step asks for, by the
// reference's rules: each template copies the stable or canary
// ReplicaSet's pod template (without its pod-template hash), a step
// selector replaces the copied one and step metadata labels join both the
// pods' labels and the selector; a template with a weight or a service
// gets a Service; the progress deadline is the Rollout's; analysis args
// become values (podTemplateHashValue and fieldRef read now, from the
// Rollout). The Experiment is labelled with the Rollout's labels, the new
// hash and the instance ID, annotated with the revision and owned by the
// Rollout. Errors are *analysis.SpecError: the step as written cannot run.
func FromStep(in StepInput) (*v1alpha1.Experiment, error) {
	ro, step := in.Rollout, in.Step
	ex := &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{
			Name:            StepExperimentName(ro, in.NewHash, in.Revision, in.StepIndex),
			Namespace:       ro.Namespace,
			Labels:          maps.Clone(ro.Labels),
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: in.Revision},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: v1alpha1.ExperimentSpec{
			Duration:                step.Duration,
			ProgressDeadlineSeconds: ro.Spec.ProgressDeadlineSeconds,
			DryRun:                  step.DryRun,
			AnalysisRunMetadata:     *step.AnalysisRunMetadata.DeepCopy(),
		},
	}
	if ex.Labels == nil {
		ex.Labels = map[string]string{}
	}
	ex.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = in.NewHash
	instanceid.CopyLabel(ro, ex)
	for i, ts := range step.Templates {
		rs := in.Canary
		if ts.SpecRef == v1alpha1.StableSpecRef {
			rs = in.Stable
		}
		if rs == nil {
			return nil, &analysis.SpecError{Msg: fmt.Sprintf("steps[%d].experiment.templates[%d].specRef: no %s ReplicaSet to copy", in.StepIndex, i, ts.SpecRef)}
		}
		t := v1alpha1.TemplateSpec{
			Name: ts.Name, Replicas: ts.Replicas, MinReadySeconds: rs.Spec.MinReadySeconds,
			Template: *rs.Spec.Template.DeepCopy(), Selector: rs.Spec.Selector.DeepCopy(),
		}
		if ts.Selector != nil {
			t.Selector = ts.Selector.DeepCopy()
		}
		if t.Selector == nil {
			t.Selector = &metav1.LabelSelector{}
		}
		delete(t.Template.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
		delete(t.Selector.MatchLabels, v1alpha1.DefaultRolloutUniqueLabelKey)
		for k, v := range ts.Metadata.Labels {
			t.Template.Labels = withLabel(t.Template.Labels, k, v)
			t.Selector.MatchLabels = withLabel(t.Selector.MatchLabels, k, v)
		}
		for k, v := range ts.Metadata.Annotations {
			t.Template.Annotations = withLabel(t.Template.Annotations, k, v)
		}
		if ts.Weight != nil || ts.Service != nil {
			t.Service = &v1alpha1.TemplateService{}
			if ts.Service != nil {
				t.Service.Name = ts.Service.Name
			}
		}
		ex.Spec.Templates = append(ex.Spec.Templates, t)
	}
	sources := analysis.ArgSources{Object: ro}
	if in.Stable != nil {
		sources.StableHash = in.Stable.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	sources.LatestHash = in.NewHash
	for _, a := range step.Analyses {
		args, err := analysis.ResolveRolloutArgs(a.Args, sources)
		if err != nil {
			return nil, err
		}
		ex.Spec.Analyses = append(ex.Spec.Analyses, v1alpha1.ExperimentAnalysisTemplateRef{
			Name: a.Name, TemplateName: a.TemplateName, ClusterScope: a.ClusterScope, Args: args, RequiredForCompletion: a.RequiredForCompletion,
		})
	}
	return ex, nil
}

// maxExperimentNames bounds the -N suffixes tried for one step.
const maxExperimentNames = 100

// CreateOrAdopt creates want. When its name is taken by an Experiment of
// the same owner with an equal spec that has not ended, that one is
// returned (a pass whose status write was lost created it); otherwise
// <name>-1, <name>-2, ... are tried, as the reference names a retried
// step's Experiments. The bool is false for an adopted Experiment. reader
// should read uncached.
func CreateOrAdopt(ctx context.Context, c client.Client, reader client.Reader, want *v1alpha1.Experiment) (*v1alpha1.Experiment, bool, error) {
	base := want.Name
	owner := metav1.GetControllerOf(want)
	for n := range maxExperimentNames {
		ex := want.DeepCopy()
		if n > 0 {
			ex.Name = fmt.Sprintf("%s-%d", base, n)
		}
		err := c.Create(ctx, ex)
		if err == nil {
			return ex, true, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, false, fmt.Errorf("create experiment %s: %w", klog.KObj(ex), err)
		}
		existing := &v1alpha1.Experiment{}
		if err := reader.Get(ctx, client.ObjectKeyFromObject(ex), existing); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, false, fmt.Errorf("get experiment %s: %w", klog.KObj(ex), err)
		}
		ref := metav1.GetControllerOf(existing)
		if owner != nil && ref != nil && ref.UID == owner.UID && !Terminating(existing) && equality.Semantic.DeepEqual(existing.Spec, want.Spec) {
			return existing, false, nil
		}
	}
	return nil, false, fmt.Errorf("create experiment: %s and %d suffixed names are taken", base, maxExperimentNames-1)
}

// Verdict is what a step makes of its Experiment.
type Verdict int

// Verdicts.
const (
	// Waiting: the Experiment has not ended.
	Waiting Verdict = iota
	// Passed: it ended Successful; the step is complete.
	Passed
	// Abort: it ended Failed or Error; the Rollout aborts (AbortMessage).
	Abort
	// Hold: it ended Inconclusive; the Rollout pauses
	// (InconclusiveExperiment) for a person to decide.
	Hold
)

// StepVerdict reads an Experiment's outcome for its step.
func StepVerdict(ex *v1alpha1.Experiment) Verdict {
	switch ex.Status.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		return Passed
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		return Abort
	case v1alpha1.AnalysisPhaseInconclusive:
		return Hold
	}
	return Waiting
}

// AbortMessage is the reference's abort message for a step whose
// Experiment failed or errored.
func AbortMessage(ex *v1alpha1.Experiment) string {
	msg := fmt.Sprintf("Experiment analysis phase is %s", strings.ToLower(string(ex.Status.Phase)))
	if ex.Status.Message != "" {
		msg += ": " + ex.Status.Message
	}
	return msg
}

// Terminate stops an Experiment: {"spec":{"terminate":true}}, as the
// plugin sends it. A missing Experiment is not an error.
func Terminate(ctx context.Context, c client.Client, namespace, name string) error {
	ex := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	err := c.Patch(ctx, ex, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`)))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("terminate experiment %s/%s: %w", namespace, name, err)
	}
	return nil
}
