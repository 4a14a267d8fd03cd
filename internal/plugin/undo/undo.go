// Package undo implements `kubectl argo rollouts undo`: put back the pod
// template of an earlier revision.
package undo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/podtemplate"
)

// Options of undo.
type Options struct {
	*cli.Factory
	// ToRevision is the revision to go back to; 0 means the previous one.
	ToRevision int64

	name     string
	ns       string
	rollouts *cli.Rollouts
}

// NewCmd returns the undo command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "undo ROLLOUT_NAME",
		Short: "Undo a rollout",
		Long:  "Rollback to the previous rollout: the pod template of the ReplicaSet with that revision replaces spec.template.",
		Example: `  # Undo a rollout
  kubectl argo rollouts undo backend-canary

  # Undo a rollout to revision 3
  kubectl argo rollouts undo backend-canary --to-revision=3`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
	cmd.Flags().Int64Var(&o.ToRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	return cmd
}

// Complete reads the name and builds the client.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.name, err = cli.OneName(args, "rollout"); err != nil {
		return err
	}
	o.rollouts, o.ns, err = o.RolloutsInNamespace()
	return err
}

// Validate rejects a negative revision.
func (o *Options) Validate() error {
	if o.ToRevision < 0 {
		return cli.Usagef("invalid --to-revision %d: must not be negative", o.ToRevision)
	}
	return nil
}

// Run finds the ReplicaSet of the revision and patches its template in.
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	ro, err := o.rollouts.Get(ctx, o.name)
	if err != nil {
		return err
	}
	rss, err := o.replicaSets(ctx, ro)
	if err != nil {
		return err
	}
	rs, err := Revision(rss, o.ToRevision)
	if err != nil {
		return fmt.Errorf("rollout '%s': %w", o.name, err)
	}
	current, err := o.currentTemplate(ctx, ro)
	if err != nil {
		return err
	}
	// What the controller added to the ReplicaSet's template (the hash
	// label, ephemeral metadata of its role, an anti-affinity term) is not
	// the Rollout's: it is left out, and added again by the controller.
	template := podtemplate.WithoutInjected(rs.Spec.Template, rs.Annotations, current.Labels, current.Annotations)
	if equalTemplates(current, &template) {
		fmt.Fprintf(o.Out, "skipped rollback (current template already matches revision %d)\n", o.ToRevision)
		return nil
	}
	if err := o.restore(ctx, ro, template); err != nil {
		return fmt.Errorf("restore revision %d of rollout %s: %w", o.ToRevision, o.name, err)
	}
	fmt.Fprintf(o.Out, "rollout '%s' undo\n", o.name)
	return nil
}

// currentTemplate is the template the Rollout runs: its own, or that of
// the workload its workloadRef names.
func (o *Options) currentTemplate(ctx context.Context, ro *v1alpha1.Rollout) (*corev1.PodTemplateSpec, error) {
	ref := ro.Spec.WorkloadRef
	if ref == nil {
		return &ro.Spec.Template, nil
	}
	kube, err := o.Kube()
	if err != nil {
		return nil, err
	}
	switch ref.Kind {
	case "Deployment":
		d, err := kube.AppsV1().Deployments(o.ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get the referenced workload: %w", err)
		}
		return &d.Spec.Template, nil
	case "ReplicaSet":
		rs, err := kube.AppsV1().ReplicaSets(o.ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get the referenced workload: %w", err)
		}
		return &rs.Spec.Template, nil
	case "PodTemplate":
		pt, err := kube.CoreV1().PodTemplates(o.ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get the referenced workload: %w", err)
		}
		return &pt.Template, nil
	}
	return nil, fmt.Errorf("rollout '%s': workload of type %s is not supported", ro.Name, ref.Kind)
}

// restore puts template back: into the Rollout, or into the workload its
// workloadRef names (a PodTemplate keeps its template at /template).
func (o *Options) restore(ctx context.Context, ro *v1alpha1.Rollout, template corev1.PodTemplateSpec) error {
	path := "/spec/template"
	if ro.Spec.WorkloadRef != nil && ro.Spec.WorkloadRef.Kind == "PodTemplate" {
		path = "/template"
	}
	patch, err := json.Marshal([]map[string]any{{"op": "replace", "path": path, "value": template}})
	if err != nil {
		return fmt.Errorf("encode undo patch: %w", err)
	}
	ref := ro.Spec.WorkloadRef
	if ref == nil {
		_, err = o.rollouts.Patch(ctx, o.name, types.JSONPatchType, patch)
		return err
	}
	kube, err := o.Kube()
	if err != nil {
		return err
	}
	switch ref.Kind {
	case "Deployment":
		_, err = kube.AppsV1().Deployments(o.ns).Patch(ctx, ref.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	case "ReplicaSet":
		_, err = kube.AppsV1().ReplicaSets(o.ns).Patch(ctx, ref.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	case "PodTemplate":
		_, err = kube.CoreV1().PodTemplates(o.ns).Patch(ctx, ref.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	}
	return err
}

// replicaSets lists the ReplicaSets the Rollout controls.
func (o *Options) replicaSets(ctx context.Context, ro *v1alpha1.Rollout) ([]appsv1.ReplicaSet, error) {
	kube, err := o.Kube()
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{}
	if ro.Spec.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("rollout %s has an invalid selector: %w", ro.Name, err)
		}
		opts.LabelSelector = sel.String()
	}
	list, err := kube.AppsV1().ReplicaSets(o.ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list ReplicaSets of rollout %s: %w", ro.Name, err)
	}
	var owned []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if metav1.IsControlledBy(&rs, ro) {
			owned = append(owned, rs)
		}
	}
	return owned, nil
}

// Revision picks the ReplicaSet annotated with revision want, or for want 0
// the one with the second-highest revision (the one before the current).
func Revision(rss []appsv1.ReplicaSet, want int64) (*appsv1.ReplicaSet, error) {
	var latest, previous *appsv1.ReplicaSet
	latestRev, previousRev := int64(-1), int64(-1)
	for i := range rss {
		rev, err := strconv.ParseInt(rss[i].Annotations[v1alpha1.RevisionAnnotation], 10, 64)
		if err != nil {
			continue // not a revision of this rollout's history
		}
		if want > 0 {
			if rev == want {
				return &rss[i], nil
			}
			continue
		}
		switch {
		case rev > latestRev:
			previous, previousRev = latest, latestRev
			latest, latestRev = &rss[i], rev
		case rev > previousRev:
			previous, previousRev = &rss[i], rev
		}
	}
	if want > 0 {
		return nil, fmt.Errorf("unable to find specified revision %d in history", want)
	}
	if previous == nil {
		return nil, fmt.Errorf("no previous revision found")
	}
	return previous, nil
}

// equalTemplates compares templates ignoring the hash label and fields the
// API server defaulted in one but not the other.
func equalTemplates(current, candidate *corev1.PodTemplateSpec) bool {
	a, b := current.DeepCopy(), candidate.DeepCopy()
	delete(a.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	delete(b.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	return equality.Semantic.DeepDerivative(a, b)
}
