package analysis

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// TemplateGetter finds the templates a run is built from.
type TemplateGetter interface {
	AnalysisTemplate(ctx context.Context, namespace, name string) (*v1alpha1.AnalysisTemplate, error)
	ClusterAnalysisTemplate(ctx context.Context, name string) (*v1alpha1.ClusterAnalysisTemplate, error)
}

// ClientTemplates reads templates through a controller-runtime reader
// (the manager's cache, or an uncached reader).
type ClientTemplates struct{ Reader client.Reader }

// AnalysisTemplate reads an AnalysisTemplate; a missing one is the
// reference's "AnalysisTemplate '<t>' not found".
func (c ClientTemplates) AnalysisTemplate(ctx context.Context, namespace, name string) (*v1alpha1.AnalysisTemplate, error) {
	t := &v1alpha1.AnalysisTemplate{}
	if err := c.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &TemplateNotFoundError{Kind: "AnalysisTemplate", Name: name}
		}
		return nil, fmt.Errorf("get AnalysisTemplate %s/%s: %w", namespace, name, err)
	}
	return t, nil
}

// ClusterAnalysisTemplate reads a ClusterAnalysisTemplate.
func (c ClientTemplates) ClusterAnalysisTemplate(ctx context.Context, name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	t := &v1alpha1.ClusterAnalysisTemplate{}
	if err := c.Reader.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &TemplateNotFoundError{Kind: "ClusterAnalysisTemplate", Name: name}
		}
		return nil, fmt.Errorf("get ClusterAnalysisTemplate %s: %w", name, err)
	}
	return t, nil
}

// TemplateNotFoundError is a referenced template that does not exist: a
// spec problem (InvalidSpec for a Rollout), not a transient error.
type TemplateNotFoundError struct{ Kind, Name string }

func (e *TemplateNotFoundError) Error() string {
	return fmt.Sprintf("%s '%s' not found", e.Kind, e.Name)
}

// SpecError is an analysis that cannot be built as written (duplicate
// metrics, conflicting or missing args, a template cycle): retrying does
// not help, the spec must change.
type SpecError struct{ Msg string }

func (e *SpecError) Error() string { return e.Msg }

func specErrorf(format string, args ...any) error {
	return &SpecError{Msg: fmt.Sprintf(format, args...)}
}

// ArgSources is what a Rollout's analysis args are read from.
type ArgSources struct {
	// Object is what fieldRef paths read (the Rollout).
	Object any
	// StableHash and LatestHash are the pod-template hashes of the stable
	// and newest ReplicaSets, for podTemplateHashValue.
	StableHash, LatestHash string
}

// ResolveRolloutArgs turns a Rollout's analysis args into run arguments:
// values stay values, fieldRef and podTemplateHashValue are read now, and
// a secretKeyRef is passed on for the run to read.
func ResolveRolloutArgs(args []v1alpha1.AnalysisRunArgument, src ArgSources) ([]v1alpha1.Argument, error) {
	out := make([]v1alpha1.Argument, 0, len(args))
	for _, a := range args {
		arg := v1alpha1.Argument{Name: a.Name}
		vf := a.ValueFrom
		switch {
		case vf == nil:
			// A listed arg without a value supplies "", as in the reference.
			v := a.Value
			arg.Value = &v
		case vf.PodTemplateHashValue != nil:
			var v string
			switch *vf.PodTemplateHashValue {
			case v1alpha1.Stable:
				v = src.StableHash
			case v1alpha1.Latest:
				v = src.LatestHash
			default:
				return nil, specErrorf("args.%s: podTemplateHashValue must be Stable or Latest, not %q", a.Name, *vf.PodTemplateHashValue)
			}
			arg.Value = &v
		case vf.FieldRef != nil:
			v, err := FieldPathValue(src.Object, vf.FieldRef.FieldPath)
			if err != nil {
				return nil, &SpecError{Msg: fmt.Sprintf("args.%s: %v", a.Name, err)}
			}
			arg.Value = &v
		case vf.SecretKeyRef != nil:
			arg.ValueFrom = &v1alpha1.ValueFrom{SecretKeyRef: vf.SecretKeyRef.DeepCopy()}
		default:
			return nil, specErrorf("args.%s: valueFrom names no source", a.Name)
		}
		out = append(out, arg)
	}
	return out, nil
}

// TemplateRefs are the templates a run is made of.
type TemplateRefs []v1alpha1.AnalysisTemplateRef

// FromRollout converts a Rollout's template references.
func FromRollout(refs []v1alpha1.RolloutAnalysisTemplate) TemplateRefs {
	out := make(TemplateRefs, 0, len(refs))
	for _, r := range refs {
		out = append(out, v1alpha1.AnalysisTemplateRef{TemplateName: r.TemplateName, ClusterScope: ptr.Deref(r.ClusterScope, false)})
	}
	return out
}

func (refs TemplateRefs) names() []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.TemplateName)
	}
	return out
}

// Templates are the templates found for a run, nested references
// followed, each once; AnalysisTemplates and ClusterAnalysisTemplates are
// kept apart because they merge in that order.
type Templates struct {
	Namespaced []*v1alpha1.AnalysisTemplate
	Cluster    []*v1alpha1.ClusterAnalysisTemplate
}

// maxTemplateDepth bounds nested template references; deeper is taken
// for a cycle.
const maxTemplateDepth = 10

// FetchTemplates reads the referenced templates and, recursively, the
// templates they nest. A template referenced twice is read once; a chain
// of references deeper than 10, which only a cycle produces in practice,
// is an error.
func FetchTemplates(ctx context.Context, get TemplateGetter, namespace string, refs TemplateRefs) (*Templates, error) {
	out := &Templates{}
	seen := map[v1alpha1.AnalysisTemplateRef]bool{}
	var walk func(refs TemplateRefs, path TemplateRefs) error
	walk = func(refs TemplateRefs, path TemplateRefs) error {
		for _, ref := range refs {
			if slices.Contains(path, ref) {
				return specErrorf("template %q references itself through %v", ref.TemplateName, append(path, ref).names())
			}
			if seen[ref] {
				continue
			}
			if len(path) >= maxTemplateDepth {
				return specErrorf("templates nested deeper than %d: %v", maxTemplateDepth, append(path, ref).names())
			}
			seen[ref] = true
			var nested TemplateRefs
			if ref.ClusterScope {
				t, err := get.ClusterAnalysisTemplate(ctx, ref.TemplateName)
				if err != nil {
					return err
				}
				out.Cluster = append(out.Cluster, t)
				nested = t.Spec.Templates
			} else {
				t, err := get.AnalysisTemplate(ctx, namespace, ref.TemplateName)
				if err != nil {
					return err
				}
				out.Namespaced = append(out.Namespaced, t)
				nested = t.Spec.Templates
			}
			if err := walk(nested, append(path, ref)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(refs, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// Flatten merges the templates' metrics, args, dryRun and retention rules
// (AnalysisTemplates first, then ClusterAnalysisTemplates). It fails on a
// metric name used twice, an arg given two different values, or a dryRun
// or retention rule named twice.
func (t *Templates) Flatten() (v1alpha1.AnalysisTemplateSpec, error) {
	var specs []*v1alpha1.AnalysisTemplateSpec
	for _, at := range t.Namespaced {
		specs = append(specs, &at.Spec)
	}
	for _, ct := range t.Cluster {
		specs = append(specs, &ct.Spec)
	}
	var out v1alpha1.AnalysisTemplateSpec
	metrics := map[string]bool{}
	args := map[string]int{}
	for _, s := range specs {
		for _, m := range s.Metrics {
			if metrics[m.Name] {
				return out, specErrorf("two metrics have the same name '%s'", m.Name)
			}
			metrics[m.Name] = true
			out.Metrics = append(out.Metrics, *m.DeepCopy())
		}
		for _, a := range s.Args {
			i, ok := args[a.Name]
			if !ok {
				args[a.Name] = len(out.Args)
				out.Args = append(out.Args, *a.DeepCopy())
				continue
			}
			prev := &out.Args[i]
			switch {
			case a.Value == nil:
			case prev.Value == nil:
				prev.Value = a.DeepCopy().Value
			case *prev.Value != *a.Value:
				return out, specErrorf("Argument `%s` specified multiple times with different values: '%s', '%s'", a.Name, *prev.Value, *a.Value)
			}
		}
		out.DryRun = append(out.DryRun, s.DryRun...)
		out.MeasurementRetention = append(out.MeasurementRetention, s.MeasurementRetention...)
	}
	if err := uniqueRules(out.DryRun, out.MeasurementRetention); err != nil {
		return out, err
	}
	return out, nil
}

func uniqueRules(dryRun []v1alpha1.DryRun, retention []v1alpha1.MeasurementRetention) error {
	seen := map[string]bool{}
	for _, r := range dryRun {
		if seen[r.MetricName] {
			return specErrorf("two Dry-Run metric rules have the same name '%s'", r.MetricName)
		}
		seen[r.MetricName] = true
	}
	seen = map[string]bool{}
	for _, r := range retention {
		if seen[r.MetricName] {
			return specErrorf("two Measurement Retention metric rules have the same name '%s'", r.MetricName)
		}
		seen[r.MetricName] = true
	}
	return nil
}

// MergeArgs lays the caller's args over the templates' args: a caller arg
// replaces the value (or else the valueFrom) of the template arg of that
// name; caller args no template declares are dropped. Every arg must end
// with a value or a valueFrom.
func MergeArgs(templateArgs, callerArgs []v1alpha1.Argument) ([]v1alpha1.Argument, error) {
	out := make([]v1alpha1.Argument, 0, len(templateArgs))
	for _, a := range templateArgs {
		out = append(out, *a.DeepCopy())
	}
	for _, c := range callerArgs {
		for i := range out {
			if out[i].Name != c.Name {
				continue
			}
			switch {
			case c.Value != nil:
				out[i].Value, out[i].ValueFrom = c.DeepCopy().Value, nil
			case c.ValueFrom != nil:
				out[i].Value, out[i].ValueFrom = nil, c.ValueFrom.DeepCopy()
			}
		}
	}
	for _, a := range out {
		if a.Value == nil && a.ValueFrom == nil {
			return nil, specErrorf("args.%s was not resolved", a.Name)
		}
	}
	return out, nil
}

// RunRequest is what a run is built from: a Rollout's (or any caller's)
// analysis block with its args already resolved (ResolveRolloutArgs).
type RunRequest struct {
	// Namespace is where the run (and its AnalysisTemplates) live.
	Namespace string
	Templates TemplateRefs
	Args      []v1alpha1.Argument
	// DryRun and MeasurementRetention are appended to the templates' rules.
	DryRun               []v1alpha1.DryRun
	MeasurementRetention []v1alpha1.MeasurementRetention
	// Sources, when set, also resolves the templates' own fieldRef and
	// podTemplateHashValue args (those no caller arg replaced) against
	// the run's owner; without it they reach the run, where a fieldRef
	// reads the AnalysisRun itself.
	Sources *ArgSources
}

// BuildRun reads the templates and returns the spec of the AnalysisRun
// they make together: metrics and rules merged, args merged and checked.
// Errors other than API failures are *TemplateNotFoundError or *SpecError
// (see IsSpecError), whose text is the reference's message.
func BuildRun(ctx context.Context, get TemplateGetter, req RunRequest) (*v1alpha1.AnalysisRunSpec, error) {
	if len(req.Templates) == 0 {
		return nil, specErrorf("no templates referenced")
	}
	templates, err := FetchTemplates(ctx, get, req.Namespace, req.Templates)
	if err != nil {
		return nil, err
	}
	return BuildRunFrom(templates, req)
}

// BuildRunFrom is BuildRun with the templates already read.
func BuildRunFrom(templates *Templates, req RunRequest) (*v1alpha1.AnalysisRunSpec, error) {
	merged, err := templates.Flatten()
	if err != nil {
		return nil, err
	}
	args, err := MergeArgs(merged.Args, req.Args)
	if err != nil {
		return nil, err
	}
	if req.Sources != nil {
		if args, err = resolveOwnerArgs(args, *req.Sources); err != nil {
			return nil, err
		}
	}
	dryRun := append(append([]v1alpha1.DryRun(nil), merged.DryRun...), req.DryRun...)
	retention := append(append([]v1alpha1.MeasurementRetention(nil), merged.MeasurementRetention...), req.MeasurementRetention...)
	if err := uniqueRules(dryRun, retention); err != nil {
		return nil, err
	}
	if len(merged.Metrics) == 0 {
		return nil, specErrorf("no metrics specified")
	}
	return &v1alpha1.AnalysisRunSpec{
		Metrics:              merged.Metrics,
		Args:                 args,
		DryRun:               dryRun,
		MeasurementRetention: retention,
	}, nil
}

// resolveOwnerArgs reads fieldRef and podTemplateHashValue args now.
func resolveOwnerArgs(args []v1alpha1.Argument, src ArgSources) ([]v1alpha1.Argument, error) {
	out := make([]v1alpha1.Argument, len(args))
	for i, a := range args {
		out[i] = a
		if a.Value != nil || a.ValueFrom == nil || (a.ValueFrom.FieldRef == nil && a.ValueFrom.PodTemplateHashValue == nil) {
			continue
		}
		vf := a.ValueFrom.DeepCopy()
		vf.SecretKeyRef = nil
		resolved, err := ResolveRolloutArgs([]v1alpha1.AnalysisRunArgument{{Name: a.Name, ValueFrom: vf}}, src)
		if err != nil {
			return nil, err
		}
		out[i] = resolved[0]
	}
	return out, nil
}

// IsSpecError reports whether err is a problem of the analysis as written
// (a missing template, bad args, duplicate names): the caller should
// report it (InvalidSpec) rather than retry.
func IsSpecError(err error) bool {
	var spec *SpecError
	var notFound *TemplateNotFoundError
	return errors.As(err, &spec) || errors.As(err, &notFound)
}
